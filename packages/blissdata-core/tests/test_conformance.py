"""Every conformance vector of spec/vectors, run against blissdata_core (one test a case).

The vectors come from the reference client (``python -m tools.vectors.generate``);
the harness is the one of ``python -m tools.conformance.run``, so this test and
the command line runner judge alike.  ``tools`` is imported from the repository
root, which pytest puts on ``sys.path`` for the root ``conftest.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if not (ROOT / "tools" / "conformance").is_dir():  # an installed package, without the checkout
    pytest.skip(
        "tools/conformance is not available outside the source tree", allow_module_level=True
    )

from tools.conformance.adapters import CoreAdapter  # noqa: E402
from tools.conformance.harness import VECTOR_FILES, case_id, load_vectors, run_case  # noqa: E402

CASES = [c for c in load_vectors() if c["kind"] != "document"]


def test_enough_vectors() -> None:
    kinds = {k: sum(c["kind"] == k for c in CASES) for k in ("decode", "encode", "malformed")}
    assert len(CASES) >= 50, kinds
    assert all(kinds.values()), kinds


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_vector(case: dict, redis_url: str) -> None:
    outcome = run_case(CoreAdapter(), redis_url, case)
    assert outcome.ok, f"{outcome.case}: {outcome.detail}"


def test_runner_command_line(redis_url: str) -> None:
    """``python -m tools.conformance.run`` prints one line a case and the closing count."""
    import subprocess

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.conformance.run",
            "--impl",
            "core",
            "--redis",
            redis_url,
            "--kind",
            "malformed",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    lines = proc.stdout.strip().splitlines()
    n = sum(c["kind"] == "malformed" for c in CASES)
    assert lines[-1].startswith(f"{n} passed, 0 failed"), proc.stdout + proc.stderr
    assert sum(line.startswith("PASS") for line in lines) == n
    assert proc.returncode == 0


@pytest.mark.interop
def test_vectors_regenerate_identically(reference_python, redis_url: str, tmp_path: Path) -> None:
    """The checked-in vectors are what the reference client produces today."""
    import json
    import subprocess

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.vectors.generate",
            "--redis",
            redis_url,
            "--ref-python",
            str(reference_python),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "decode.json",
        "encode.json",
        "malformed.json",
        "lifecycle.json",
        "documents.json",
        "h5maps.json",
    ):
        fresh = json.loads((tmp_path / name).read_text())
        checked_in = json.loads((ROOT / "spec" / "vectors" / name).read_text())
        assert fresh == checked_in, (
            f"{name} differs: regenerate with python -m tools.vectors.generate"
        )


def test_vector_files_follow_their_format() -> None:
    """Every vector file validates against spec/vectors/format.schema.json; names are unique."""
    import json

    from jsonschema import Draft202012Validator

    from tools.conformance.harness import vectors_dir

    directory = vectors_dir()
    validator = Draft202012Validator(json.loads((directory / "format.schema.json").read_text()))
    seen = set()
    for name in VECTOR_FILES:
        doc = json.loads((directory / name).read_text())
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (name, errors[:3])
        for case in doc["cases"]:
            assert (case["kind"], case["name"]) not in seen, case["name"]
            seen.add((case["kind"], case["name"]))
