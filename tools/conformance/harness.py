"""The conformance harness: load vectors, drive an adapter, compare results.

An adapter wraps one implementation; its methods return plain JSON-shaped
data (the shapes ``tools.vectors.ref_driver`` prints):

``read(url, scan_key, stream_name, ops, json_stream)``
    ``{"results": [{"value": ...} | {"error": name, "mro": [names]}, ...]}``, or
    ``{"load_error": {...}}`` when the scan or stream cannot be opened; values
    in the representation of ``valuerepr`` (ops: ``readops``).
``encode(url, definition, sends, seal)``
    ``{"encoding", "info", "entries", "seal_return"}`` of the published stream.
``lifecycle(url, case)``
    ``{"documents": {state: doc}, "state_entries", "history_entries"}``.
``store(url, keys, timetags, ops)``
    ``{"results": [...]}`` of data store operations (``readops.run_store_op``).
``validate(schema, document)``
    bool, or None when the implementation has no validator for that schema.
``h5maps(h5maps_json)`` (optional)
    ``{"items": {file: {item path: item}}}`` (``tools/vectors/h5maps_cases.py``
    shows the representation) or ``{"error": "H5MapError", "path": ...}``.
``expected_malformed(case)`` / ``expected_validity(case)``
    what this implementation must do (the rule, or its recorded behaviour).

The harness puts each case's data into Redis (``loader``), calls the adapter
and compares.  See spec/vectors/README.md for the meaning of each kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from tools import ROOT
from tools.conformance.loader import load_case, load_store_case, normalize_document
from tools.vectors import valuerepr

VECTOR_FILES = (
    "decode.json",
    "encode.json",
    "malformed.json",
    "lifecycle.json",
    "store.json",
    "documents.json",
    "h5maps.json",
)


def vectors_dir() -> Path:
    """spec/vectors of the checkout, else the copy packaged in blissdata_core."""
    local = ROOT / "spec" / "vectors"
    if local.is_dir():
        return local
    from importlib.resources import files

    return Path(str(files("blissdata_core") / "_spec" / "vectors"))


def load_vectors(directory: Path | None = None) -> list[dict]:
    directory = directory or vectors_dir()
    out = []
    for name in VECTOR_FILES:
        path = directory / name
        if not path.exists():
            continue
        doc = json.loads(path.read_text())
        for case in doc["cases"]:
            out.append({**case, "kind": doc["kind"]})
    return out


def case_id(case: dict) -> str:
    return f"{case['kind']}:{case['name']}"


@dataclass
class Outcome:
    case: str
    ok: bool
    detail: str = ""
    skipped: bool = False


# --- comparisons -----------------------------------------------------------------


def _error_matches(expected: str | list[str], actual: dict) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    mro = actual.get("mro") or [actual.get("error")]
    return any(n in mro for n in names)


def check_reads(reads: list[dict], result: dict) -> list[str]:
    if "load_error" in result:
        return [f"load failed: {result['load_error']}"]
    problems = []
    for op, got in zip(reads, result["results"]):
        label = _op_label(op)
        exp = op["expect"]
        if "error" in exp:
            if "error" not in got:
                problems.append(f"{label}: expected {exp['error']}, got a value")
            elif not _error_matches(exp["error"], got):
                problems.append(f"{label}: expected {exp['error']}, got {got['error']}")
            continue
        if "error" in got:
            problems.append(f"{label}: unexpected {got['error']}: {got.get('message', '')}")
            continue
        why = _compare_value(exp["value"], got["value"], op["op"] == "cursor")
        if why:
            problems.append(f"{label}: {why}")
    return problems


def _compare_value(want: Any, have: Any, cursor: bool = False) -> str | None:
    if cursor:
        return _compare_cursor(want, have)
    if isinstance(want, dict):
        try:
            return valuerepr.compare(want, valuerepr.from_repr(have))
        except Exception as exc:
            return f"bad result {have!r}: {exc}"
    if want != have or type(want) is not type(have):
        return f"{have!r} != expected {want!r}"
    return None


def _compare_outcome(want: dict, have: dict) -> str | None:
    """A ``{"value": ...}`` or ``{"error": ...}`` result against its expectation."""
    if "error" in want:
        if "error" not in have:
            return f"expected {want['error']}, got a value"
        return (
            None
            if _error_matches(want["error"], have)
            else f"expected {want['error']}, got {have['error']}"
        )
    if "error" in have:
        return f"unexpected {have['error']}: {have.get('message', '')}"
    return _compare_value(want["value"], have["value"])


def _compare_cursor(want: list, have: Any) -> str | None:
    if not isinstance(have, list):
        return f"cursor: expected a list of reads, got {have!r}"
    for i, w in enumerate(want):
        if i >= len(have):
            return f"cursor read {i}: missing (expected {w})"
        h = have[i]
        if "end" in w:
            if h.get("end", "<view>") != w["end"]:
                return f"cursor read {i}: expected end {w['end']!r}, got {h}"
            continue
        if "error" in w:
            why = _compare_outcome(w, h)
            if why:
                return f"cursor read {i}: {why}"
            continue
        if "index" not in h:
            return f"cursor read {i}: expected a view, got {h}"
        if (h["index"], h["len"]) != (w["index"], w["len"]):
            return f"cursor read {i}: view index/len {h['index']}/{h['len']} != {w['index']}/{w['len']}"
        for part in ("data", "last"):
            why = _compare_outcome(w[part], h[part])
            if why:
                return f"cursor read {i} {part}: {why}"
    if len(have) > len(want):
        return f"cursor: {len(have) - len(want)} more reads than expected: {have[len(want)]}"
    return None


def check_store(ops: list[dict], result: dict) -> list[str]:
    problems = []
    for op, got in zip(ops, result["results"]):
        label = " ".join(f"{k}={v!r}" for k, v in op.items() if k != "expect")
        exp = op["expect"]
        if "error" in exp or "error" in got:
            why = _compare_outcome(exp, got)
        elif exp["value"] != got["value"]:
            why = f"{got['value']!r} != expected {exp['value']!r}"
        else:
            why = None
        if why:
            problems.append(f"{label}: {why}")
    return problems


def _op_label(op: dict) -> str:
    if op["op"] == "index":
        return f"[{op['index']}]"
    if op["op"] == "slice":
        parts = [op.get("start"), op.get("stop"), op.get("step")]
        return "[" + ":".join("" if p is None else str(p) for p in parts) + "]"
    if op["op"] == "cursor":
        return "cursor(last_only)" if op.get("last_only") else "cursor()"
    return f"{op['op']}()"


def _fields(entry: dict) -> dict[str, bytes]:
    return {k: valuerepr.decode_field(v) for k, v in entry["fields"]}


def _same_payload(encoding: dict, want: bytes, have: bytes) -> bool:
    """JSON payloads compare as JSON, msgpack ones by content; raw bytes exactly."""
    if encoding.get("type") == "json":
        try:
            return json.loads(want) == json.loads(have.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return False
    if -1 in encoding.get("shape", []):
        import msgpack

        try:
            w, h = msgpack.unpackb(want), msgpack.unpackb(have)
        except Exception:
            return False
        return [list(w[0]), w[1]] == [list(h[0]), h[1]] and all(type(x) is int for x in h[0])
    return want == have


def check_encode(case: dict, result: dict) -> list[str]:
    exp = case["expect"]
    problems = []
    if "error" in result:
        return [f"encode failed: {result['error']}: {result.get('message', '')}"]
    if result["encoding"] != exp["encoding"]:
        problems.append(f"encoding {result['encoding']} != expected {exp['encoding']}")
    if result["info"] != exp["info"]:
        problems.append(f"info {result['info']} != expected {exp['info']}")
    want, have = exp["entries"], result["entries"]
    if [e["id"] for e in want] != [e["id"] for e in have]:
        problems.append(
            f"entry ids {[e['id'] for e in have]} != expected {[e['id'] for e in want]}"
        )
    else:
        for w, h in zip(want, have):
            wf, hf = _fields(w), _fields(h)
            if set(wf) != set(hf):
                problems.append(f"entry {w['id']}: fields {sorted(hf)} != expected {sorted(wf)}")
                continue
            for k in wf:
                if k == "payload":
                    ok = _same_payload(exp["encoding"], wf[k], hf[k])
                else:
                    ok = wf[k] == hf[k]
                if not ok:
                    problems.append(
                        f"entry {w['id']}: field {k} differs: {hf[k][:40]!r} != {wf[k][:40]!r}"
                    )
    if case.get("seal") and result.get("seal_return") != exp.get("seal_return"):
        problems.append(f"seal() returned {result.get('seal_return')} != {exp.get('seal_return')}")
    return problems


_ULID_RE = __import__("re").compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def _pks(doc: dict) -> list:
    pks = [
        doc.get("pk"),
        (doc.get("id") or {}).get("pk"),
        (doc.get("state_stream") or {}).get("pk"),
    ]
    pks += [m.get("pk") for m in (doc.get("data_streams") or {}).values() if isinstance(m, dict)]
    return pks


def _schema_validator(name: str) -> Any:
    """A validator for one schema of spec/schemas (or the packaged copy)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    directory = vectors_dir().parent / "schemas"
    schemas = {
        p.name.split(".")[0]: json.loads(p.read_text()) for p in directory.glob("*.schema.json")
    }
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return Draft202012Validator(schemas[name], registry=registry)


def check_lifecycle(case: dict, result: dict) -> list[str]:
    if "error" in result:
        return [f"publishing failed: {result['error']}: {result.get('message', '')}"]
    exp = case["expect"]
    problems = []
    scan_schema = _schema_validator("scan")
    for state, doc in result["documents"].items():
        for err in list(scan_schema.iter_errors(doc))[:1]:
            problems.append(f"{state}: not a valid scan document: {err.message}")
    for state, want in exp["documents"].items():
        have = result["documents"].get(state)
        if have is None:
            problems.append(f"no document at {state}")
            continue
        pks = _pks(have)
        if not all(isinstance(p, str) and _ULID_RE.match(p) for p in pks) or len(set(pks)) != len(
            pks
        ):
            problems.append(f"{state}: primary keys are not distinct ULIDs: {pks}")
        norm = normalize_document(have)
        if norm != want:
            problems.append(f"{state}: document differs: {_first_difference(want, norm)}")
    if result["state_entries"] != exp["state_entries"]:
        problems.append(f"state entries {result['state_entries']} != {exp['state_entries']}")
    if result["history_entries"] != exp["history_entries"]:
        problems.append(
            f"{result['history_entries']} history entries for the scan, expected {exp['history_entries']}"
        )
    return problems


def _first_difference(want: Any, have: Any, path: str = "") -> str:
    if isinstance(want, dict) and isinstance(have, dict):
        for k in list(want) + [k for k in have if k not in want]:
            if k not in have:
                return f"{path}/{k} missing"
            if k not in want:
                return f"{path}/{k} unexpected ({have[k]!r})"
            if want[k] != have[k]:
                return _first_difference(want[k], have[k], f"{path}/{k}")
    if want != have or type(want) is not type(have):
        return f"{path or '/'}: {have!r} != expected {want!r}"
    return "(equal)"


# --- running ----------------------------------------------------------------------


def ensure_initialised(url: str) -> None:
    r = redis.Redis.from_url(url)
    try:
        if r.get("_PROTOCOL_VERSION_") is not None:
            return
        try:
            from blissdata_core import DataStore
        except ImportError:
            from tools.conformance.loader import ensure_initialised as manual

            manual(r)
        else:
            DataStore(url, init_db=True)
    finally:
        r.close()


def run_case(adapter: Any, url: str, case: dict, r: redis.Redis | None = None) -> Outcome:
    cid = case_id(case)
    own = r is None
    if own:
        r = redis.Redis.from_url(url)
    try:
        kind = case["kind"]
        if kind == "decode":
            scan_key, name = load_case(r, case)
            json_stream = case["stream"]["encoding"].get("type") == "json"
            result = adapter.read(
                url, scan_key, name, [_strip(op) for op in case["reads"]], json_stream
            )
            problems = check_reads(case["reads"], result)
        elif kind == "malformed":
            scan_key, name = load_case(r, case)
            json_stream = case["stream"]["encoding"].get("type") == "json"
            result = adapter.read(url, scan_key, name, case["reads"], json_stream)
            expected = adapter.expected_malformed(case)
            if expected is None:
                return Outcome(cid, True, "not checked for this implementation", skipped=True)
            problems = _check_malformed(expected, result)
        elif kind == "encode":
            result = adapter.encode(url, case["definition"], case["sends"], case["seal"])
            problems = check_encode(case, result)
        elif kind == "store":
            r.flushall()
            ensure_initialised(url)
            keys, timetags = load_store_case(r, case)
            result = adapter.store(url, keys, timetags, [_strip(op) for op in case["ops"]])
            problems = check_store(case["ops"], result)
        elif kind == "lifecycle":
            problems = check_lifecycle(case, adapter.lifecycle(url, case))
        elif kind == "document":
            verdict = adapter.validate(case["schema"], case["document"])
            expected = adapter.expected_validity(case)
            if verdict is None or expected is None:
                return Outcome(cid, True, "not checked for this implementation", skipped=True)
            problems = [] if verdict == expected else [f"accepted={verdict}, expected {expected}"]
        elif kind == "h5maps":
            if not hasattr(adapter, "h5maps"):
                return Outcome(cid, True, "no h5maps support in this adapter", skipped=True)
            have = adapter.h5maps(case["h5maps"])
            problems = check_h5maps(case["expect"], have)
        else:
            problems = [f"unknown kind {kind}"]
    except Exception as exc:  # an adapter crash fails the case, not the run
        problems = [f"{type(exc).__name__}: {exc}"]
    finally:
        if own:
            r.close()
    return Outcome(cid, not problems, "; ".join(problems))


def _without_lists(obj: Any) -> Any:
    """Arrays compare by dtype, shape and bytes: their ``list`` is for humans."""
    if isinstance(obj, list):
        return [_without_lists(x) for x in obj]
    if isinstance(obj, dict):
        if "base64" in obj and "dtype" in obj:
            return {k: v for k, v in obj.items() if k != "list"}
        return {k: _without_lists(v) for k, v in obj.items()}
    return obj


def check_h5maps(want: dict, have: dict) -> list[str]:
    if _without_lists(want) == _without_lists(have):
        return []
    return [_first_difference(_without_lists(want), _without_lists(have))]


def _strip(op: dict) -> dict:
    return {k: v for k, v in op.items() if k != "expect"}


def _check_malformed(expected: list[str] | None, result: dict) -> list[str]:
    if "load_error" in result:
        got = [result["load_error"]]
    else:
        got = [x for x in result["results"] if "error" in x]
    if expected == []:  # the implementation is known to accept this input
        return [] if not got else [f"raised {got[0]['error']}, recorded as accepted"]
    if not got:
        return [f"no error raised, expected {expected}"]
    if not _error_matches(expected, got[0]):
        return [f"raised {got[0]['error']}, expected {expected}"]
    return []


def run_all(adapter: Any, url: str, cases: list[dict]) -> Iterator[Outcome]:
    ensure_initialised(url)
    r = redis.Redis.from_url(url)
    try:
        for case in cases:
            yield run_case(adapter, url, case, r)
    finally:
        r.close()
