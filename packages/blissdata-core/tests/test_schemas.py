"""The JSON Schemas of spec/schemas and blissdata_core.schemas.

Valid samples are documents the reference client wrote (generated into
spec/vectors/documents.json by ``python -m tools.vectors.generate``); broken ones are
variants of them that the protocol forbids.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from blissdata_core import errors, schemas

ROOT = Path(__file__).resolve().parents[3]
PACKAGED_DOCS = Path(schemas.__file__).parent / "_spec" / "vectors" / "documents.json"


def _documents() -> list[dict]:
    return json.loads(PACKAGED_DOCS.read_text())["cases"]


DOCS = _documents()
VALIDATE = {
    "scan": schemas.validate_scan_document,
    "h5maps": schemas.validate_h5maps,
    "encoding": schemas.validate_encoding,
    "stream-info": schemas.validate_stream_info,
}


@pytest.mark.parametrize("name", schemas.SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads(schemas.schema_text(name))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_packaged_copy_matches_spec() -> None:
    if not (ROOT / "spec" / "schemas").is_dir():
        pytest.skip("not a source checkout")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.sync_spec", "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, f"run python -m tools.sync_spec:\n{proc.stdout}"


def test_enough_samples() -> None:
    for schema in ("scan", "h5maps"):
        good = [d for d in DOCS if d["schema"] == schema and d["valid"]]
        bad = [d for d in DOCS if d["schema"] == schema and not d["valid"]]
        assert len(good) >= 2 and len(bad) >= 10, (schema, len(good), len(bad))


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: f"{d['schema']}:{d['name']}")
def test_document(doc: dict) -> None:
    """validate_* accept exactly the valid samples."""
    fn = VALIDATE[doc["schema"]]
    if doc["valid"]:
        fn(copy.deepcopy(doc["document"]))
    else:
        with pytest.raises(errors.BlissdataError):
            fn(copy.deepcopy(doc["document"]))


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: f"{d['schema']}:{d['name']}")
def test_schema_alone(doc: dict) -> None:
    """A plain JSON Schema validator agrees, except for the few rules JSON Schema cannot state."""
    ok = schemas.validator(doc["schema"]).is_valid(doc["document"])
    expected = doc["valid"] or doc.get("beyond_schema", False)
    assert ok == expected


def test_reference_written_scans_validate() -> None:
    samples = [d for d in DOCS if d["name"].startswith("scan-reference-")]
    assert {d["name"] for d in samples} >= {"scan-reference-created", "scan-reference-closed"}
    for d in samples:
        schemas.validate_scan_document(d["document"])
        schemas.validate_h5maps(d["document"]["info"].get("h5maps", {}))
        for stream in d["document"]["data_streams"].values():
            schemas.validate_encoding(stream["encoding"])
            schemas.validate_stream_info(stream["info"])


def test_unknown_encoding_is_its_own_error() -> None:
    with pytest.raises(errors.UnknownEncodingError):
        schemas.validate_encoding({"type": "zstd"})
    with pytest.raises(errors.ScanValidationError):
        schemas.validate_encoding({"type": "numeric", "dtype_str": "<f8"})


def test_scan_with_unknown_encoding_still_loads() -> None:
    """The scan document stays valid: only that stream is unreadable."""
    doc = copy.deepcopy(next(d for d in DOCS if d["name"] == "scan-reference-closed")["document"])
    doc["data_streams"]["axis:sx"]["encoding"] = {"type": "future-codec", "level": 3}
    schemas.validate_scan_document(doc)


def test_error_names_the_place() -> None:
    doc = copy.deepcopy(next(d for d in DOCS if d["name"] == "scan-reference-closed")["document"])
    doc["data_streams"]["diode"]["encoding"]["dtype_str"] = 8
    with pytest.raises(errors.ScanValidationError, match="data_streams/diode"):
        schemas.validate_scan_document(doc)


def test_legacy_empty_string_info_accepted() -> None:
    doc = copy.deepcopy(next(d for d in DOCS if d["name"] == "scan-reference-closed")["document"])
    doc["state_stream"]["info"] = ""
    doc["data_streams"]["events"]["info"] = ""
    schemas.validate_scan_document(doc)


@pytest.mark.parametrize(
    "publish_errors, valid",
    [
        ({}, True),
        ({"diode": {"lost": 3, "error": "WRONGTYPE"}}, True),
        ({"diode": {"lost": 0}}, True),
        ({"diode": {"lost": -1}}, False),
        ({"diode": {"error": "no count"}}, False),
        ({"diode": 3}, False),
        ([], False),
    ],
)
def test_publish_errors_member(publish_errors, valid) -> None:
    """Revision 3: the optional member listing streams published with points lost."""
    doc = copy.deepcopy(next(d for d in DOCS if d["name"] == "scan-reference-closed")["document"])
    doc["publish_errors"] = publish_errors
    if valid:
        schemas.validate_scan_document(doc)
    else:
        with pytest.raises(errors.ScanValidationError, match="publish_errors"):
            schemas.validate_scan_document(doc)


def test_validators_are_compiled_once() -> None:
    assert schemas.validator("scan") is schemas.validator("scan")


@pytest.mark.interop
def test_live_reference_documents_validate(reference_python, redis_url: str) -> None:
    """Publish a scan with the reference client now and validate what it wrote."""
    if not (ROOT / "tools" / "vectors" / "ref_driver.py").exists():
        pytest.skip("tools/vectors is not available outside the source tree")
    from tools import module_env

    job = {
        "op": "produce",
        "url": redis_url,
        "identity": {"name": "live", "number": 3, "data_policy": "no_policy", "path": "/tmp/x.h5"},
        "info": {"title": "live", "bad": float("nan")},
        "streams": [
            {"name": "a", "dtype": ">u8", "shape": [2, -1], "sends": [], "seal": True},
            {
                "name": "e",
                "dtype": "json",
                "shape": None,
                "sends": [{"json": {"x": 1}}],
                "seal": True,
            },
        ],
    }
    proc = subprocess.run(
        [str(reference_python), "-m", "tools.vectors.ref_driver"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        env=module_env(),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for state, doc in out["documents"].items():
        schemas.validate_scan_document(doc)
        assert doc["info"]["bad"] is None, state


def _protocol_text() -> str:
    path = ROOT / "spec" / "PROTOCOL.md"
    if not path.exists():
        pytest.skip("not a source checkout")
    return path.read_text()


def test_protocol_text_states_the_constants() -> None:
    """The literal values written in PROTOCOL.md are the ones the client uses."""
    import hashlib

    from blissdata_core import protocol

    text = _protocol_text()
    assert f"**Protocol {protocol.PROTOCOL_VERSION}," in text
    assert protocol.INDEX_SCHEMA_TEXT in text
    assert hashlib.sha1(protocol.INDEX_SCHEMA_TEXT.encode()).hexdigest() in text
    ft_create = " ".join(["FT.CREATE", *protocol.index_create_args()])
    block = text.split("FT.CREATE esrf:scan:index", 1)[1].split("```", 1)[0]
    assert " ".join(("FT.CREATE esrf:scan:index" + block).split()) == ft_create
    for literal in (
        protocol.PROTOCOL_KEY,
        protocol.SCAN_HISTORY_KEY,
        protocol.SEAL_ENTRY_ID,
        protocol.BEFORE_SEAL_ID,
        f"MAXLEN ~ {protocol.SCAN_HISTORY_MAXLEN}",
        f"library `{protocol.SEAL_FUNCTION_LIBRARY}`",
        f"function `{protocol.SEAL_FUNCTION_NAME}`",
        f"EXPIRE esrf:scan:<pk> {protocol.DELETION_GRACE_SECONDS}",
    ):
        assert literal in text, literal


def test_protocol_has_a_revision_history() -> None:
    text = _protocol_text()
    assert "document revision" in text and "## Revision history" in text
