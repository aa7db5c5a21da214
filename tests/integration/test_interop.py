"""The interop matrix (``tools.conformance.interop``): one test a producer x consumer x scenario.

Each producer publishes each scenario once (the first of its tests does, in a
clean database); every consumer's verdict on that publication is one test.
With pytest-xdist, ``--dist loadgroup`` keeps the tests of one publication on
one worker (``nox -s tests`` runs so); other schedules publish it again.
``python -m tools.conformance.run --interop`` runs the same matrix as a table.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tools import ROOT
from tools.conformance import interop
from tools.conformance.scenarios import all_scenarios

pytestmark = pytest.mark.interop

SCENARIOS = {s.name: s for s in all_scenarios()}
#: (producer, scenario) -> {consumer: Cell}, filled by the first test of each publication
_PUBLISHED: dict[tuple[str, str], dict[str, interop.Cell]] = {}


def _cases() -> list:
    return [
        pytest.param(
            producer,
            consumer,
            scenario,
            id=f"{producer}-{consumer}-{scenario}",
            marks=pytest.mark.xdist_group(f"interop-{producer}-{scenario}"),
        )
        for producer, consumer, scenario in interop.cells(SCENARIOS.values())
    ]


@pytest.mark.parametrize(("producer", "consumer", "scenario"), _cases())
def test_interop(producer, consumer, scenario, redis_url, reference_python, tmp_path_factory):
    published = (producer, scenario)
    if published not in _PUBLISHED:
        _PUBLISHED[published] = interop.run_scenario(
            SCENARIOS[scenario],
            producer,
            redis_url,
            str(reference_python),
            tmp_path_factory.mktemp(f"{producer}-{scenario}"),
        )
    cell = _PUBLISHED[published][consumer]
    if cell.status == "skip":
        pytest.skip(cell.detail)
    assert cell.status == "pass", cell.detail


def test_every_consumer_and_producer_has_cells():
    found = interop.cells(SCENARIOS.values())
    assert {c for _, c, _ in found} == set(interop.CONSUMERS)
    assert {p for p, _, _ in found} == {"core", "reference", "ts"}
    live = [s for s in SCENARIOS.values() if s.live]
    assert live and all(not s.trees for s in live)


def test_matrix_command(redis_url, reference_python):
    """``python -m tools.conformance.run --interop`` prints the matrix and the counts."""
    proc = subprocess.run(
        [
            sys.executable, "-m", "tools.conformance.run", "--interop", "--redis", redis_url,
            "--ref-python", str(reference_python), "-k", "init-by-core", "--random", "0",
        ],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    header = next(line for line in lines if line.startswith("producer \\ consumer"))
    assert header.split()[3:] == ["core", "reference", "ts"]
    if interop.ts_peer.unavailable():  # without Node.js, the TypeScript client's cells are skipped
        assert lines[-1] == "4 passed, 0 failed, 5 skipped  (interop, 1 scenarios)", proc.stdout
    else:
        assert lines[-1] == "9 passed, 0 failed  (interop, 1 scenarios)", proc.stdout
        assert any(line.split() == ["ts", "1/1", "1/1", "1/1"] for line in lines), proc.stdout
