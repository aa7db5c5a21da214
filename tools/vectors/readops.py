"""Read operations of the vectors, run on any client with the blissdata stream API.

Shared by the reference driver (in the reference venv) and the harness's
in-process adapter, so both clients are driven identically.  Operations:

``{"op": "len"}``, ``{"op": "is_sealed"}``
``{"op": "index", "index": k}``, ``{"op": "slice", "start", "stop", "step"}``
``{"op": "cursor", "last_only": bool}``: non-blocking ``cursor.read()`` calls on
    a new cursor until it returns None or raises EndOfStream; each view is
    reported as its index, length, ``get_data()`` and ``get_data(len - 1)``.
"""

from __future__ import annotations

from typing import Any

from tools.vectors import valuerepr

MAX_CURSOR_READS = 5


def error(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:200],
    }


def _data(call: Any, json_stream: bool) -> dict:
    try:
        return {"value": valuerepr.to_repr(call(), json_stream)}
    except Exception as exc:
        return error(exc)


def _cursor(stream: Any, last_only: bool, json_stream: bool) -> list[dict]:
    cursor = stream.cursor()
    out: list[dict] = []
    for _ in range(MAX_CURSOR_READS):
        try:
            view = cursor.read(block=False, last_only=last_only)
        except Exception as exc:
            if "EndOfStream" in [c.__name__ for c in type(exc).__mro__]:
                out.append({"end": "EndOfStream"})
                break
            out.append(error(exc))
            break
        if view is None:
            out.append({"end": None})
            break
        n = len(view)
        out.append(
            {
                "index": view.index,
                "len": n,
                "data": _data(view.get_data, json_stream),
                "last": _data(lambda v=view, n=n: v.get_data(n - 1), json_stream),
            }
        )
    return out


def run_op(stream: Any, op: dict, json_stream: bool) -> dict:
    """One read operation; the result is JSON (values in valuerepr form)."""
    try:
        kind = op["op"]
        if kind == "len":
            return {"value": len(stream)}
        if kind == "is_sealed":
            return {"value": bool(stream.is_sealed())}
        if kind == "cursor":
            return {"value": _cursor(stream, bool(op.get("last_only")), json_stream)}
        if kind == "index":
            value = stream[op["index"]]
        elif kind == "slice":
            value = stream[op.get("start") : op.get("stop") : op.get("step")]
        else:
            raise ValueError(f"unknown op {kind}")
        return {"value": valuerepr.to_repr(value, json_stream)}
    except Exception as exc:
        return error(exc)


def run_store_op(ds: Any, op: dict, keys: dict[str, str], timetags: dict[str, str]) -> dict:
    """One data store operation of a ``store`` vector; scans are named by label."""
    labels = {v: k for k, v in keys.items()}
    try:
        kind = op["op"]
        if kind == "search":
            _, found = ds.search_existing_scans(**op["query"])
            return {"value": sorted(labels.get(k, k) for k in found)}
        if kind == "load":
            ds.load_scan(keys[op["scan"]])
            return {"value": "loaded"}
        if kind == "last_scan":
            timetag, key = ds.get_last_scan()
            return {"value": [timetag, labels.get(key, key)]}
        if kind == "last_timetag":
            return {"value": ds.get_last_scan_timetag()}
        if kind == "next_scan":
            since = timetags[op["after"]] if op.get("after") else "0-0"
            timetag, key = ds.get_next_scan(since=since, block=False)
            return {"value": [timetag, labels.get(key, key)]}
        if kind == "scans_state":
            states = ds.get_scans_state([keys[s] for s in op["scans"]])
            return {"value": {labels[k]: int(v) for k, v in states.items()}}
        raise ValueError(f"unknown op {kind}")
    except Exception as exc:
        return error(exc)
