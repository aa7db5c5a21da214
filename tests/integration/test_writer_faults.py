"""The writer's fault tests, in the reliability session (they live with the writer).

Writer killed mid-scan and restarted (the file ends identical to an
uninterrupted write), Redis restarted under the writer, connections killed
mid-scan, disk full / unwritable targets, and the ``--root`` allow-list
(outside, ``..``, symlinks, relative paths refused).  They run in their own
pytest process so that the writer package's fixtures apply.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability

WRITER_TESTS = Path(__file__).resolve().parents[2] / "packages" / "blissdata-writer" / "tests"

SELECTION = {
    "test_service.py": [
        "test_restart_mid_scan_gives_the_same_file",
        "test_redis_restart_mid_scan",
        "test_connections_killed_mid_scan",
        "test_disk_full_fails_that_scan_only",
        "test_unwritable_target_fails_that_scan_only",
        "test_root_refusals",
        "test_root_allows_inside",
        "test_sigterm_exits_cleanly_and_leaves_a_readable_file",
    ],
    "test_cli.py": ["test_write_refused_outside_root"],
}


@pytest.mark.parametrize(
    "module, name", [(m, n) for m, names in SELECTION.items() for n in names], ids=lambda x: x
)
def test_writer_fault(module: str, name: str):
    path = WRITER_TESTS / module
    if not path.exists():
        pytest.skip(f"{path} does not exist (blissdata-writer tests not installed)")
    if f"def {name}(" not in path.read_text():
        pytest.skip(f"{module} has no {name} (yet)")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"{path}::{name}", "-q", "-p", "no:cacheprovider",
         "-p", "no:randomly", "--rootdir", str(WRITER_TESTS.parent)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
    if proc.returncode == 5:
        pytest.skip(f"{name}: nothing collected")
    if proc.returncode < 0 and " passed" in proc.stdout and "failed" not in proc.stdout:
        # known: the test passes, then the interpreter dies at exit (h5py after a
        # full disk); reported to the writer, kept visible here
        pytest.xfail(f"{name} passed, then its process died of signal {-proc.returncode}")
    assert proc.returncode == 0, f"exit code {proc.returncode}:\n{tail}"
    if " skipped" in tail and " passed" not in tail:
        pytest.skip(f"{name} skipped itself:\n{tail}")
