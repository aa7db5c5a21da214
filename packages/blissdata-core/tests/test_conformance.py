"""Every conformance vector of spec/vectors, run against blissdata_core (one test a case).

The vectors come from the reference client (tools/vectors/generate.py); the
harness is the one of ``tools/conformance/run.py``, so this test and the
command line runner judge alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HARNESS_DIR = ROOT / "tools" / "conformance"
if not HARNESS_DIR.is_dir():  # an installed package, without the checkout
    pytest.skip(
        "tools/conformance is not available outside the source tree", allow_module_level=True
    )
sys.path.insert(0, str(HARNESS_DIR))

from adapters import CoreAdapter  # noqa: E402
from harness import case_id, load_vectors, run_case  # noqa: E402

CASES = [c for c in load_vectors() if c["kind"] in ("decode", "encode", "malformed")]


def test_enough_vectors() -> None:
    kinds = {k: sum(c["kind"] == k for c in CASES) for k in ("decode", "encode", "malformed")}
    assert len(CASES) >= 50, kinds
    assert all(kinds.values()), kinds


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_vector(case: dict, redis_url: str) -> None:
    outcome = run_case(CoreAdapter(), redis_url, case)
    assert outcome.ok, f"{outcome.case}: {outcome.detail}"
