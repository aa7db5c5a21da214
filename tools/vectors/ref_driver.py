"""Drive the reference client (blissdata 2.x) for the vector generator and runner.

Runs inside the reference client's own virtualenv, as
``python -m tools.vectors.ref_driver`` with the repository root on its path
(``tools.module_env()``): it imports ``blissdata`` and, from this package,
``readops`` and ``valuerepr`` only.  It reads one JSON job on stdin
and writes one JSON result on stdout.  Jobs:

``produce``   publish a scan with the reference client, return the entries and
              the scan documents it wrote;
``read``      load a scan with the reference client and run read operations;
``validate``  check documents against the reference's own models.

and, for the interop matrix (``tools.conformance.interop``; the work itself is
in ``interop_peer``, shared with the project's side):

``play``         publish scenario scans;
``read_scans``   load closed scans and read them;
``follow``       read the next scan live, with a cursor group;
``h5_describe``  the reference's live HDF5 view (``blissdata.h5api.redis_hdf5``);
``blisswriter``  write scans with blisswriter 3.0's ``ScanWriter``, one after another.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import redis

from tools.vectors import interop_peer, readops, valuerepr

warnings.filterwarnings("ignore")


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__]}


def _data_store(url: str):
    from blissdata.redis_engine.store import DataStore

    return DataStore(url)


def _definition(spec: dict):
    from blissdata.streams.default import Stream

    plugin = spec.get("plugin")
    info = spec.get("info", {})
    if plugin == "hdf5_fallback":
        from blissdata.streams.hdf5_fallback import Hdf5BackedStream

        return Hdf5BackedStream.make_definition(
            spec["name"],
            spec["file_path"],
            spec["data_path"],
            spec["dtype"],
            spec.get("shape"),
            info,
        )
    if plugin == "scan_sequence":
        from blissdata.streams.scan_sequence import ScanStream

        return ScanStream.make_definition(spec["name"], info)
    if plugin == "lima":
        from blissdata.streams.lima.stream import LimaStream

        return LimaStream.make_definition(spec["name"], info=info, **spec["lima"])
    shape = spec.get("shape")
    if spec["dtype"] != "json" and shape is not None:
        shape = tuple(shape)
    return Stream.make_definition(spec["name"], spec["dtype"], shape, info)


def produce(job: dict) -> dict:
    r = redis.Redis.from_url(job["url"])
    ds = _data_store(job["url"])
    scan = ds.create_scan(job["identity"], info=job.get("info", {}))
    documents = {"CREATED": r.json().get(scan.key)}
    streams = {}
    for spec in job["streams"]:
        streams[spec["name"]] = scan.create_stream(_definition(spec))
    for key, value in job.get("info_before_prepare", {}).items():
        scan.info[key] = value
    scan.prepare()
    documents["PREPARED"] = r.json().get(scan.key)
    scan.start()
    documents["STARTED"] = r.json().get(scan.key)
    send_results = {}
    for spec in job["streams"]:
        stream = streams[spec["name"]]
        results = []
        for send in spec.get("sends", []):
            data = valuerepr.from_repr(send)
            try:
                stream.send(data)
                stream.join()
                results.append({"ok": True})
            except Exception as exc:  # recorded, not fatal
                results.append(_error(exc))
        send_results[spec["name"]] = results
        if spec.get("seal"):
            send_results[spec["name"]].append({"seal": stream.seal()})
            try:
                r.fcall("seal_stream", 1, stream.key)
                send_results[spec["name"]].append({"second_seal": "no error"})
            except redis.exceptions.ResponseError as exc:
                send_results[spec["name"]].append({"second_seal": str(exc)})
    if job.get("close", True):
        scan.stop()
        documents["STOPPED"] = r.json().get(scan.key)
        for key, value in job.get("info_at_close", {}).items():
            scan.info[key] = value
        scan.close()
        documents["CLOSED"] = r.json().get(scan.key)
    out_streams = {}
    doc = r.json().get(scan.key)
    for name, model in doc["data_streams"].items():
        key = "esrf:stream:" + model["pk"]
        out_streams[name] = {
            "encoding": model["encoding"],
            "info": model["info"],
            "entries": valuerepr.entries_to_json(r.xrange(key)),
            "send_results": send_results.get(name, []),
        }
    state_key = "esrf:stream:" + doc["state_stream"]["pk"]
    history = [
        e["fields"]
        for e in valuerepr.entries_to_json(r.xrange("_SCAN_HISTORY_"))
        if e["fields"] == [["key", {"text": scan.key}]]
    ]
    return {
        "scan_key": scan.key,
        "documents": documents,
        "streams": out_streams,
        "state_entries": [e["fields"] for e in valuerepr.entries_to_json(r.xrange(state_key))],
        "history_entries": history,
    }


def read(job: dict) -> dict:
    ds = _data_store(job["url"])
    try:
        scan = ds.load_scan(job["scan_key"])
        stream = scan.streams[job["stream"]]
    except Exception as exc:
        return {"load_error": _error(exc)}
    json_stream = (stream.event_stream.encoding or {}).get("type") == "json"
    return {"results": [readops.run_op(stream, op, json_stream) for op in job["ops"]]}


def validate(job: dict) -> dict:
    from blissdata.h5map import Group

    out = []
    if job["what"] == "scan":
        model = _data_store(job["url"])._scan_model
        for doc in job["documents"]:
            try:
                model.model_validate(doc)
                out.append(True)
            except Exception:
                out.append(False)
    else:
        for doc in job["documents"]:
            try:
                for item in doc.values():
                    Group.model_validate(item)
                out.append(True)
            except Exception:
                out.append(False)
    return {"accepted": out}


def init(job: dict) -> dict:
    from blissdata.redis_engine.store import DataStore

    r = redis.Redis.from_url(job["url"])
    if r.get("_PROTOCOL_VERSION_") is None:
        DataStore(job["url"], init_db=True)
    return {"ok": True}


def store(job: dict) -> dict:
    ds = _data_store(job["url"])
    return {
        "results": [readops.run_store_op(ds, op, job["keys"], job["timetags"]) for op in job["ops"]]
    }


def _make_definition(name, dtype, shape, info):
    from blissdata.streams.default import Stream

    return Stream.make_definition(name, dtype, shape, info)


def play(job: dict) -> dict:
    ds = _data_store(job["url"])
    return {"scans": [interop_peer.play(ds, _make_definition, spec) for spec in job["scans"]]}


def read_scans(job: dict) -> dict:
    ds = _data_store(job["url"])
    return {
        "scans": [
            interop_peer.read_scan(ds, s["key"], s["streams"], s.get("store_ops", []))
            for s in job["scans"]
        ]
    }


def follow(job: dict) -> dict:
    from blissdata.exceptions import EndOfStream
    from blissdata.streams.base import CursorGroup

    ds = _data_store(job["url"])
    return interop_peer.follow_scan(
        ds, job["since"], CursorGroup, EndOfStream, job["json_streams"], job.get("timeout", 60)
    )


def h5_describe(job: dict) -> dict:
    from blissdata.h5api.redis_hdf5 import File

    ds = _data_store(job["url"])
    out = {}
    for path in job["files"]:
        # relative files of external datasets are opened from the current directory
        if os.path.isdir(os.path.dirname(path)):
            os.chdir(os.path.dirname(path))
        try:
            f = File(path, data_store=ds)
            out[path] = {"tree": interop_peer.describe_entries(f, f.keys())}
        except Exception as exc:
            import traceback

            out[path] = {**_error(exc), "traceback": traceback.format_exc()[-1500:]}
    return {"files": out}


def blisswriter(job: dict) -> dict:
    from blisswriter.scan_writer import ScanWriter, ScanWritingStatus

    ds = _data_store(job["url"])
    out = []
    for key in job["keys"]:
        status = ScanWritingStatus()
        try:
            ScanWriter(ds.load_scan(key), status).run()
            out.append({"state": status.state.name, "message": str(status.state_msg or "")})
        except Exception as exc:
            out.append({"state": "EXCEPTION", **_error(exc)})
    return {"statuses": out}


HANDLERS = {
    "init": init,
    "produce": produce,
    "read": read,
    "validate": validate,
    "store": store,
    "play": play,
    "read_scans": read_scans,
    "follow": follow,
    "h5_describe": h5_describe,
    "blisswriter": blisswriter,
}


def run_job(job: dict) -> dict:
    if job["op"] == "batch":
        if job.get("isolate"):  # a job that fails does not stop the others
            return {"results": [_isolated(one) for one in job["jobs"]]}
        return {"results": [run_job(one) for one in job["jobs"]]}
    return HANDLERS[job["op"]](job)


def _isolated(job: dict) -> dict:
    try:
        return run_job(job)
    except Exception as exc:
        import traceback

        return {
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-2000:],
        }


def main() -> None:
    result = run_job(json.load(sys.stdin))
    json.dump(
        result, sys.stdout, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)
    )


if __name__ == "__main__":
    main()
