"""tests/integration: tests that import several of the packages, and the interop matrix.

The fixtures are blissdata_core.testing's (the root ``conftest.py``).  After a
run, the verdicts of ``test_interop.py::test_interop`` are printed as the
matrix producer x consumer (as ``python -m tools.conformance.run --interop``).
"""

from __future__ import annotations

import os
import re

# One process here reads a scan's file through h5py (its virtual datasets open
# the Lima files with HDF5's default locking) and the same Lima files through
# blissdata (without locking, as files being written must be read). HDF5 before
# 1.14 refuses a second open of a file with other locking flags ("file locking
# flag values don't match"): these tests read without locking throughout, as
# BLISS sites do (HDF5_USE_FILE_LOCKING=FALSE).
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

from tools.conformance import interop

_CELL = re.compile(r"test_interop\.py::test_interop\[(?P<p>[a-z_]+)-(?P<c>[a-z_0-9]+)-(?P<s>.+)\]$")


def pytest_terminal_summary(terminalreporter) -> None:
    verdicts: dict[str, str] = {}
    for status, key in (
        ("pass", "passed"),
        ("skip", "skipped"),
        ("fail", "failed"),
        ("fail", "error"),
    ):
        for report in terminalreporter.stats.get(key, []):
            if _CELL.search(getattr(report, "nodeid", "")):
                if verdicts.get(report.nodeid) != "fail":  # a teardown error fails the cell
                    verdicts[report.nodeid] = status
    if not verdicts:
        return
    cells = []
    for nodeid, status in verdicts.items():
        m = _CELL.search(nodeid)
        cells.append(interop.Cell(m["p"], m["c"], m["s"], status))
    terminalreporter.section("interop matrix: passed/total (skipped cells not counted)")
    terminalreporter.write_line(interop.format_matrix(cells))
