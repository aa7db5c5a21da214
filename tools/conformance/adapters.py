"""Adapters: how the harness talks to one implementation.

``CoreAdapter`` runs blissdata_core in this process.  ``ReferenceAdapter``
runs the blissdata 2.x reference client in its own interpreter, through
``python -m tools.vectors.ref_driver``.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import redis

from tools import module_env
from tools.vectors import readops, valuerepr

IDENTITY = {"name": "conformance", "number": 1, "data_policy": "no_policy"}


def _error(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:200],
    }


class CoreAdapter:
    """blissdata_core, this project's client."""

    name = "core"

    def __init__(self) -> None:
        self._stores: dict[str, Any] = {}

    def _store(self, url: str) -> Any:
        if url not in self._stores:
            from blissdata_core import DataStore

            self._stores[url] = DataStore(url)
        return self._stores[url]

    def read(
        self, url: str, scan_key: str, stream_name: str, ops: list[dict], json_stream: bool = False
    ) -> dict:
        try:
            scan = self._store(url).load_scan(scan_key)
            stream = scan.streams[stream_name]
        except Exception as exc:
            return {"load_error": _error(exc)}
        return {"results": [readops.run_op(stream, op, json_stream) for op in ops]}

    def encode(self, url: str, definition: dict, sends: list[dict], seal: bool) -> dict:
        from blissdata_core import Stream

        ds = self._store(url)
        scan = ds.create_scan(dict(IDENTITY))
        shape = definition["shape"]
        if definition["dtype"] != "json" and shape is not None:
            shape = tuple(shape)
        stream = scan.create_stream(
            Stream.make_definition(definition["name"], definition["dtype"], shape)
        )
        scan.prepare()
        scan.start()
        try:
            for send in sends:
                stream.send(valuerepr.from_repr(send))
                stream.join()
            seal_return = stream.seal() if seal else None
        except Exception as exc:
            return _error(exc)
        r = redis.Redis.from_url(url)
        try:
            doc = r.json().get(scan.key)
            model = doc["data_streams"][definition["name"]]
            entries = valuerepr.entries_to_json(r.xrange(stream.key))
        finally:
            r.close()
        if seal:
            scan.stop()
            scan.close()
        return {
            "encoding": model["encoding"],
            "info": model["info"],
            "entries": entries,
            "seal_return": seal_return,
        }

    def store(self, url: str, keys: dict, timetags: dict, ops: list[dict]) -> dict:
        from blissdata_core import DataStore

        self._stores.pop(url, None)  # the database was just emptied and initialised again
        ds = DataStore(url)
        try:
            return {"results": [readops.run_store_op(ds, op, keys, timetags) for op in ops]}
        finally:
            getattr(ds, "close", lambda: None)()

    def lifecycle(self, url: str, case: dict) -> dict:
        from blissdata_core import Stream

        r = redis.Redis.from_url(url)
        try:
            ds = self._store(url)
            info = {**case["info"], **{k: float("nan") for k in case.get("info_nan_keys", [])}}
            try:
                scan = ds.create_scan(dict(case["identity"]), info=info)
                docs = {"CREATED": r.json().get(scan.key)}
                for spec in case["streams"]:
                    shape = spec["shape"]
                    if spec["dtype"] != "json" and shape is not None:
                        shape = tuple(shape)
                    scan.create_stream(
                        Stream.make_definition(
                            spec["name"], spec["dtype"], shape, dict(spec["info"])
                        )
                    )
                for key, value in case.get("info_before_prepare", {}).items():
                    scan.info[key] = value
                for state, step in (
                    ("PREPARED", scan.prepare),
                    ("STARTED", scan.start),
                    ("STOPPED", scan.stop),
                ):
                    step()
                    docs[state] = r.json().get(scan.key)
                for key, value in case.get("info_at_close", {}).items():
                    scan.info[key] = value
                scan.close()
                docs["CLOSED"] = r.json().get(scan.key)
            except Exception as exc:
                return _error(exc)
            state_key = "esrf:stream:" + docs["CLOSED"]["state_stream"]["pk"]
            states = [e["fields"] for e in valuerepr.entries_to_json(r.xrange(state_key))]
            history = [
                e
                for e in valuerepr.entries_to_json(r.xrange("_SCAN_HISTORY_"))
                if e["fields"] == [["key", {"text": scan.key}]]
            ]
            return {"documents": docs, "state_entries": states, "history_entries": len(history)}
        finally:
            r.close()

    def validate(self, schema: str, document: Any) -> bool | None:
        from blissdata_core import errors, schemas

        fn = {
            "scan": schemas.validate_scan_document,
            "h5maps": schemas.validate_h5maps,
            "encoding": schemas.validate_encoding,
            "stream-info": schemas.validate_stream_info,
        }[schema]
        try:
            fn(document)
            return True
        except errors.BlissdataError:
            return False

    def h5maps(self, h5maps_json: dict) -> dict:
        from tools.vectors import h5maps_cases

        return h5maps_cases.core_result(h5maps_json)

    def expected_malformed(self, case: dict) -> list[str]:
        return case["expect_error"]

    def expected_validity(self, case: dict) -> bool:
        return case["valid"]


class ReferenceAdapter:
    """The blissdata 2.x client, in its own virtualenv (``python`` is its interpreter)."""

    name = "reference"

    def __init__(self, python: str, url: str) -> None:
        self.python = python
        self.url = url  # the reference builds its scan model from a DataStore

    def _run(self, job: dict) -> dict:
        proc = subprocess.run(
            [self.python, "-m", "tools.vectors.ref_driver"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            check=False,
            env=module_env(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"reference driver failed: {proc.stderr[-2000:]}")
        return json.loads(proc.stdout)

    def read(
        self, url: str, scan_key: str, stream_name: str, ops: list[dict], json_stream: bool = False
    ) -> dict:
        return self._run(
            {"op": "read", "url": url, "scan_key": scan_key, "stream": stream_name, "ops": ops}
        )

    def encode(self, url: str, definition: dict, sends: list[dict], seal: bool) -> dict:
        job = {
            "op": "produce",
            "url": url,
            "identity": IDENTITY,
            "streams": [{**definition, "sends": sends, "seal": seal}],
            "close": seal,
        }
        out = self._run(job)
        stream = out["streams"][definition["name"]]
        seal_return = next((x["seal"] for x in stream["send_results"] if "seal" in x), None)
        errors = [x for x in stream["send_results"] if "error" in x]
        if errors:
            return errors[0]
        return {
            "encoding": stream["encoding"],
            "info": stream["info"],
            "entries": stream["entries"],
            "seal_return": seal_return,
        }

    def store(self, url: str, keys: dict, timetags: dict, ops: list[dict]) -> dict:
        return self._run(
            {"op": "store", "url": url, "keys": keys, "timetags": timetags, "ops": ops}
        )

    def lifecycle(self, url: str, case: dict) -> dict:
        job = {"op": "produce", "url": url, "close": True}
        job.update(
            {k: case[k] for k in ("identity", "info_before_prepare", "info_at_close") if k in case}
        )
        job["info"] = {**case["info"], **{k: float("nan") for k in case.get("info_nan_keys", [])}}
        job["streams"] = [{**s, "sends": [], "seal": False} for s in case["streams"]]
        out = self._run(job)
        return {
            "documents": out["documents"],
            "state_entries": out["state_entries"],
            "history_entries": len(out["history_entries"]),
        }

    def validate(self, schema: str, document: Any) -> bool | None:
        if schema not in ("scan", "h5maps"):
            return None
        job = {"op": "validate", "what": schema, "url": self.url, "documents": [document]}
        return self._run(job)["accepted"][0]

    def expected_malformed(self, case: dict) -> list[str]:
        raises = case.get("reference", {}).get("raises")
        return [raises] if raises else []

    def expected_validity(self, case: dict) -> bool | None:
        return case.get("reference_accepts")
