"""Put a decode/malformed vector into Redis as a protocol 1 scan.

Every adapter reads the same database state: a scan document made here by
hand (JSON.SET), the vector's entries added at their exact ids (XADD), and a
state stream that says PREPARED (or later), so data streams are visible.
"""

from __future__ import annotations

import importlib.util
import json
import secrets

import redis

from tools import ROOT
from tools.vectors import valuerepr

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_pk() -> str:
    """A random 26-character ULID-shaped primary key (Crockford base32)."""
    first = _CROCKFORD[secrets.randbelow(8)]  # a ULID's first char is 0-7
    return first + "".join(_CROCKFORD[secrets.randbelow(32)] for _ in range(25))


def _protocol_module():
    """blissdata_core.protocol (constants only), importable without blissdata_core installed."""
    try:
        from blissdata_core import protocol
    except ImportError:
        path = ROOT / "packages" / "blissdata-core" / "src" / "blissdata_core" / "protocol.py"
        spec = importlib.util.spec_from_file_location("_blissdata_protocol", path)
        protocol = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(protocol)
    return protocol


def ensure_initialised(r: redis.Redis) -> None:
    """Make an empty database usable by every adapter (protocol key, seal function)."""
    protocol = _protocol_module()
    if r.get(protocol.PROTOCOL_KEY) is not None:
        return
    if r.dbsize():
        raise RuntimeError("refusing to initialise a non-empty database without a protocol key")
    r.execute_command("FT.CREATE", *protocol.index_create_args())
    r.function_load(protocol.SEAL_FUNCTION_CODE, replace=True)
    r.set(protocol.PROTOCOL_KEY, protocol.PROTOCOL_VERSION)


def scan_document(stream_name: str, encoding: dict, info: dict) -> tuple[dict, str]:
    pk = new_pk()
    stream_pk = new_pk()
    doc = {
        "pk": pk,
        "id": {
            "pk": new_pk(),
            "name": "conformance",
            "number": 1,
            "data_policy": "no_policy",
            "session": None,
            "proposal": None,
            "collection": None,
            "dataset": None,
            "path": None,
        },
        "info": {},
        "state_stream": {"pk": new_pk(), "encoding": None, "info": None},
        "data_streams": {stream_name: {"pk": stream_pk, "encoding": encoding, "info": info}},
    }
    return doc, stream_pk


def load_case(r: redis.Redis, case: dict, state: int = 2) -> tuple[str, str]:
    """Write the case's stream into a fresh scan; return (scan key, stream name)."""
    stream = case["stream"]
    name = stream.get("name", "data")
    doc, stream_pk = scan_document(name, stream["encoding"], stream.get("info", {}))
    scan_key = "esrf:scan:" + doc["pk"]
    stream_key = "esrf:stream:" + stream_pk
    state_key = "esrf:stream:" + doc["state_stream"]["pk"]
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("JSON.SET", scan_key, "$", json.dumps(doc))
    for s in range(state + 1):
        pipe.xadd(state_key, {"state": s})
    for entry in case["entries"]:
        fields = {k: valuerepr.decode_field(v) for k, v in entry["fields"]}
        pipe.xadd(stream_key, fields, id=entry["id"])
    pipe.execute()
    return scan_key, name


def normalize_document(doc: dict) -> dict:
    """A scan document with its primary keys replaced by their role, for comparison."""
    doc = json.loads(json.dumps(doc))
    doc["pk"] = "<scan pk>"
    if isinstance(doc.get("id"), dict) and "pk" in doc["id"]:
        doc["id"]["pk"] = "<identity pk>"
    if isinstance(doc.get("state_stream"), dict):
        doc["state_stream"]["pk"] = "<state stream pk>"
    for name, model in (doc.get("data_streams") or {}).items():
        if isinstance(model, dict):
            model["pk"] = f"<pk of {name}>"
    return doc


def load_store_case(r: redis.Redis, case: dict) -> tuple[dict[str, str], dict[str, str]]:
    """Create the case's scans; return ({label: scan key}, {label: history timetag}).

    History entries get the ids ``1-0``, ``2-0``... in the order of the scans.
    """
    keys, timetags = {}, {}
    for n, spec in enumerate(case["scans"], start=1):
        doc, _ = scan_document("unused", {"type": "json"}, {})
        doc["data_streams"] = {}
        doc["id"].update(spec["identity"])
        key = "esrf:scan:" + doc["pk"]
        state_key = "esrf:stream:" + doc["state_stream"]["pk"]
        pipe = r.pipeline(transaction=True)
        pipe.execute_command("JSON.SET", key, "$", json.dumps(doc))
        for s in range(spec["state"] + 1):
            pipe.xadd(state_key, {"state": s})
        timetags[spec["label"]] = pipe_id = f"{n}-0"
        pipe.xadd("_SCAN_HISTORY_", {"key": key}, id=pipe_id)
        if "ttl" in spec:
            pipe.expire(key, spec["ttl"])
            pipe.expire(state_key, spec["ttl"])
        pipe.execute()
        keys[spec["label"]] = key
    return keys, timetags
