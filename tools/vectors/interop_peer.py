"""What one client does in the interop matrix, written once for either client.

Shared by the reference driver (``tools.vectors.ref_driver``, in the reference
client's venv) and the interop runner (``tools.conformance.interop``, with
blissdata_core): it takes the client's objects as arguments and imports numpy,
the standard library and its sibling modules only.

``play(data_store, make_definition, spec)``
    Publish one scan of a scenario (the producer's part).
``read_scan(data_store, key, streams, store_ops)``
    Load a closed scan and read it (a reader consumer).
``follow_scan(data_store, since, cursor_group, end_of_stream, json_streams)``
    Wait for the next scan and read it live with a cursor group.
``describe_tree(obj)``, ``describe_entries(file, names)``
    An h5py-like tree (h5py, blissdata_h5, the reference's ``redis_hdf5``) as JSON.

A scan of a scenario (JSON)::

    {"identity": {...}, "info": {...},                # at creation
     "streams": [{"name", "dtype", "shape", "info"}],  # dtype "json": a JSON stream
     "sends": [[stream name, value repr], ...],        # in order (valuerepr)
     "seal": [stream names],                           # sealed before stop, seal() reported
     "info_at_close": {...},                           # set after stop, before close
     "pace": {"every": n, "sleep": s}}                 # optional: sleep s every n sends
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tools.vectors import readops, valuerepr

IDENTITY_FIELDS = ("name", "number", "data_policy", "session", "path")


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "message": str(exc)[:300]}


def play(data_store: Any, make_definition: Callable[..., Any], spec: dict) -> dict:
    """Publish the scan; ``{"key", "seal_returns": {name: n}, "errors": [...]}``."""
    scan = data_store.create_scan(dict(spec["identity"]), info=dict(spec.get("info", {})))
    streams = {}
    for s in spec["streams"]:
        shape = s.get("shape")
        if s["dtype"] != "json" and shape is not None:
            shape = tuple(shape)
        definition = make_definition(s["name"], s["dtype"], shape, dict(s.get("info", {})))
        streams[s["name"]] = scan.create_stream(definition)
    scan.prepare()
    scan.start()
    errors = []
    pace = spec.get("pace") or {}
    for n, (name, value) in enumerate(spec.get("sends", []), start=1):
        try:
            streams[name].send(valuerepr.from_repr(value))
        except Exception as exc:  # reported, the scan goes on
            errors.append({"send": n - 1, "stream": name, **_error(exc)})
        if pace.get("every") and n % pace["every"] == 0:
            time.sleep(pace["sleep"])
    for stream in streams.values():
        stream.join()
    seal_returns = {}
    for name in spec.get("seal", []):
        try:
            seal_returns[name] = streams[name].seal()
        except Exception as exc:
            errors.append({"seal": name, **_error(exc)})
    scan.stop()
    for key, value in spec.get("info_at_close", {}).items():
        scan.info[key] = value
    scan.close()
    return {"key": scan.key, "seal_returns": seal_returns, "errors": errors}


def _plain(obj: Any) -> Any:
    """JSON-able scan info: NaN as None, numpy scalars as Python ones."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def read_scan(data_store: Any, key: str, streams: dict[str, dict], store_ops: list[dict]) -> dict:
    """Load ``key`` and run, per stream, ``{"ops": [readops op], "json": bool}``."""
    try:
        scan = data_store.load_scan(key)
    except Exception as exc:
        return {"load_error": _error(exc)}
    out = {
        "state": int(scan.state),
        "identity": {f: getattr(scan, f, None) for f in IDENTITY_FIELDS},
        "info": _plain(scan.info),
        "stream_names": sorted(scan.streams),
        "streams": {},
    }
    for name, spec in streams.items():
        try:
            stream = scan.streams[name]
        except Exception as exc:
            out["streams"][name] = {"load_error": _error(exc)}
            continue
        out["streams"][name] = {
            "results": [readops.run_op(stream, op, spec["json"]) for op in spec["ops"]]
        }
    out["store"] = [readops.run_store_op(data_store, op, {}, {}) for op in store_ops]
    return out


def follow_scan(
    data_store: Any,
    since: str,
    cursor_group: Callable[..., Any],
    end_of_stream: type[BaseException],
    json_streams: list[str],
    timeout: float = 60.0,
) -> dict:
    """The next scan after ``since``, read live to its end with ``cursor_group(scan.streams)``."""
    _, key = data_store.get_next_scan(since=since, timeout=timeout)
    scan = data_store.load_scan(key)
    while int(scan.state) < 1:  # PREPARED: the streams are known
        scan.update(timeout=timeout)
    # blissdata 2.4.5's load reads the document, then the state: a prepare between the
    # two gives a PREPARED scan without streams, which update() does not reload
    scan = data_store.load_scan(key)
    group = cursor_group(scan.streams)
    got: dict[str, list] = {name: [] for name in scan.streams}
    reads = 0
    while True:
        try:
            views = group.read(timeout=timeout)
        except end_of_stream:
            break
        reads += 1
        for stream, view in views.items():
            data = view.get_data()
            got[stream.name].extend(data if stream.name in json_streams else list(data))
    out = {}
    for name, points in got.items():
        if name in json_streams:
            out[name] = {"json": points}
        elif points:
            out[name] = {"array": valuerepr.array_repr(np.stack(points))}
        else:
            out[name] = {"points": 0}
    return {"key": key, "reads": reads, "streams": out}


# --- trees ----------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    # numpy 2 renamed np.bool_ to np.bool: name numpy scalars by their dtype
    if isinstance(value, np.generic):
        return "numpy." + np.dtype(type(value)).name
    return type(value).__name__


def _value_repr(value: Any) -> dict:
    if isinstance(value, list) and value and isinstance(value[0], np.ndarray):
        if len({v.shape for v in value}) > 1:  # points of different shapes, not padded
            return {"type": "list", "points": [_value_repr(v) for v in value]}
    array = np.asarray(value)

    def plain(x: Any) -> Any:
        if isinstance(x, bytes):
            return "b:" + x.decode()
        if isinstance(x, float):
            return repr(x)
        if isinstance(x, (list, tuple)):
            return [plain(i) for i in x]
        return x

    return {"type": _type_name(value), "dtype": array.dtype.str, "value": plain(array.tolist())}


def describe_tree(obj: Any, name: str = "", out: dict | None = None) -> dict:
    """{path: node} of a group and everything under it, links followed."""
    out = {} if out is None else out
    attrs = {key: _value_repr(obj.attrs[key]) for key in sorted(obj.attrs)}
    if hasattr(obj, "dtype"):
        try:
            value = _value_repr(obj[()])
        except Exception:  # external data that is not there
            value = "unreadable"
        out[name or "/"] = {
            "kind": "dataset",
            "dtype": obj.dtype.str,
            "shape": list(obj.shape),
            "value": value,
            "attrs": attrs,
        }
        return out
    children = sorted(obj)
    out[name or "/"] = {"kind": "group", "attrs": attrs, "children": children}
    for child in children:
        try:
            member = obj[child]
        except (KeyError, ValueError, OSError):  # a dangling soft or external link
            out[f"{name}/{child}"] = {"kind": "unresolved"}
            continue
        describe_tree(member, f"{name}/{child}", out)
    return out


def describe_entries(file: Any, names: Any) -> dict:
    """The trees of the root's members ``names`` (the reference's live file makes its
    root up, ``NX_class`` only, and iterating it waits for scans forever)."""
    out: dict = {}
    for name in sorted(names):
        describe_tree(file[name], "/" + name, out)
    return out
