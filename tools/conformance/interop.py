"""The interop matrix: every producer publishes every scenario, every consumer checks it.

Like Apache Arrow's integration runner, producers and consumers are crossed::

    producers   core (blissdata_core, in this process), reference (blissdata 2.4.5),
                ts (blissdata-js: numeric and JSON streams, not lima)
    consumers   core          blissdata_core reads the closed scan (and follows it live)
                reference     blissdata 2.4.5 reads it (and follows it live)
                ts            blissdata-js reads it (and follows it live; not lima)
                h5            blissdata_h5 views it (sources redis, file and auto)
                reference_h5  blissdata 2.4.5's own HDF5 view (blissdata.h5api)
                writer        blissdata_writer writes its files
                blisswriter   blisswriter 3.0.0 writes its files

and each consumer's observation is checked against what the producer sent
(the scenario): readers must read every point, the identity, the info and
the state, and find the scan in the store; in every HDF5 tree, the datasets
mapped to a stream must hold its points.  The HDF5 consumers are compared
with blisswriter's file besides: blissdata_h5 and the reference's view over
Redis show the same tree as h5py shows of that file (the reference's view up
to two known differences, see ``_reference_view_problems``), and
blissdata_writer writes the same file (``h5files.describe``).  Both writers
write the closed scans, one after another.  The reference side runs in the
reference venv through ``python -m tools.vectors.ref_driver`` (one process for
the producer, one for the reference consumers); the TypeScript client through
its driver (``tools.conformance.ts_peer``; its cells are skipped, with the
reason, without Node.js).

``run_scenario()`` publishes one scenario with one producer and runs every
consumer on it: one :class:`Cell` a consumer.  ``python -m
tools.conformance.run --interop`` prints the matrix; the pytest cases are in
``tests/integration/test_interop.py``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import redis

from tools import module_env
from tools.conformance import h5files, harness, ts_peer
from tools.conformance.scenarios import (
    PRODUCERS,
    Scenario,
    final_info,
    h5maps_files,
    points,
    stream_datasets,
    stream_kind,
)
from tools.vectors import interop_peer, valuerepr

CONSUMERS = ("core", "reference", "ts", "h5", "reference_h5", "writer", "blisswriter")
READERS = ("core", "reference", "ts")
TREES = ("h5", "reference_h5", "writer", "blisswriter")
#: Consumers that read lima frames with blissdata_core's lima plugin.
NEEDS_LIMA_PLUGIN = ("core", "h5", "writer")
#: Stream kinds blissdata-js publishes and reads (it has no lima plugin).
TS_KINDS = ("numeric", "json")
H5_SOURCES = ("redis", "file", "auto")
CLOSED = 4


@dataclass
class Cell:
    producer: str
    consumer: str
    scenario: str
    status: str  # "pass", "fail" or "skip"
    detail: str = ""


def applies(scenario: Scenario, consumer: str) -> bool:
    return consumer in READERS or scenario.trees


def cells(scenarios: Iterable[Scenario]) -> list[tuple[str, str, str]]:
    """``(producer, consumer, scenario name)`` of every cell that applies."""
    return [
        (producer, consumer, s.name)
        for s in scenarios
        for producer in s.producers
        for consumer in CONSUMERS
        if applies(s, consumer)
    ]


def lima_plugin_available() -> bool:
    """Whether blissdata_core opens lima streams (its lima plugin is installed and loads)."""
    try:
        from blissdata_core.streams import plugins

        return plugins.load_plugin("lima") is not None
    except Exception:
        return False


def ts_skip(scans: list[dict], role: str) -> str:
    """Why blissdata-js cannot take ``role`` ("produces", "reads") in these scans, or ""."""
    why = ts_peer.unavailable()
    if why:
        return why
    other = sorted(
        {
            f"{s['name']} ({stream_kind(s)})"
            for scan in scans
            for s in scan["streams"]
            if stream_kind(s) not in TS_KINDS
        }
    )
    if other:
        shown = ", ".join(other[:4]) + (f", ... {len(other) - 4} more" if len(other) > 4 else "")
        return f"blissdata-js {role} numeric and JSON streams only, not {shown}"
    return ""


# --- the reference side -------------------------------------------------------------------


class Reference:
    """``python -m tools.vectors.ref_driver`` in the reference venv."""

    def __init__(self, python: str):
        self.python = str(python)

    def _command(self) -> list[str]:
        return [self.python, "-m", "tools.vectors.ref_driver"]

    def run(self, job: dict, timeout: float = 300) -> dict:
        proc = subprocess.run(
            self._command(),
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=module_env(),
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"reference driver failed: {proc.stderr.strip()[-3000:]}")
        return json.loads(proc.stdout)

    def start(self, job: dict) -> subprocess.Popen:
        proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=module_env(),
        )
        proc.stdin.write(json.dumps(job))
        proc.stdin.close()
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = 120) -> dict:
        try:
            out = proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"reference driver failed: {err.strip()[-3000:]}")
        return json.loads(out)


# --- producing ---------------------------------------------------------------------------


def reset_database(url: str, by: str, reference: Reference) -> None:
    """An empty database, initialised by the core client or by the reference."""
    r = redis.Redis.from_url(url)
    try:
        r.flushall()
    finally:
        r.close()
    if by == "reference":
        reference.run({"op": "init", "url": url})
    else:
        from blissdata_core import DataStore

        with DataStore(url, init_db=True):
            pass


def produce(producer: str, url: str, scans: list[dict], reference: Reference) -> dict:
    if producer == "reference":
        return reference.run({"op": "play", "url": url, "scans": scans})
    if producer == "ts":
        peer = ts_peer.TsPeer()
        try:
            return peer.play(url, scans)
        finally:
            peer.close()
    from blissdata_core import DataStore, Stream

    with DataStore(url) as ds:
        return {"scans": [interop_peer.play(ds, Stream.make_definition, s) for s in scans]}


def production_problems(scans: list[dict], report: dict) -> list[str]:
    problems = []
    for scan, done in zip(scans, report["scans"]):
        problems += [f"producer: {e}" for e in done["errors"]]
        for name in scan.get("seal", []):
            want = len(points(scan, name))
            if done["seal_returns"].get(name) != want:
                problems.append(
                    f"producer: seal() of {name} returned {done['seal_returns'].get(name)}, "
                    f"{want} points were sent"
                )
    return problems


# --- readers -----------------------------------------------------------------------------


def _expected_repr(spec: dict, pts: list) -> dict:
    if stream_kind(spec) == "json":
        return {"json": pts}
    if len({np.shape(p) for p in pts}) == 1:
        return {"array": valuerepr.array_repr(np.stack(pts))}
    return {"arrays": [valuerepr.array_repr(p) for p in pts]}


def _point_repr(spec: dict, point: Any) -> dict:
    if stream_kind(spec) == "json":
        return {"json": point}
    return {"array": valuerepr.array_repr(np.asarray(point))}


def read_plan(scan: dict) -> dict[str, dict]:
    """{stream: {"json", "ops" (with their "expect")}} of one scan."""
    plan = {}
    for spec in scan["streams"]:
        pts = points(scan, spec["name"])
        kind = stream_kind(spec)
        ops = [
            {"op": "len", "expect": {"value": len(pts)}},
            {"op": "is_sealed", "expect": {"value": True}},
        ]
        if kind == "lima":  # frames one by one, as a lima client reads them
            ops += [
                {"op": "index", "index": i, "expect": {"value": _point_repr(spec, p)}}
                for i, p in enumerate(pts)
            ]
        elif pts:
            ops += [
                {"op": "slice", "expect": {"value": _expected_repr(spec, pts)}},
                {"op": "index", "index": -1, "expect": {"value": _point_repr(spec, pts[-1])}},
            ]
        plan[spec["name"]] = {"json": kind == "json", "ops": ops}
    return plan


def store_ops(scans: list[dict]) -> list[dict]:
    ops = [{"op": "search", "query": {"name": n}} for n in {s["identity"]["name"] for s in scans}]
    sessions = {s["identity"].get("session") for s in scans} - {None}
    ops += [{"op": "search", "query": {"session": n}} for n in sorted(sessions)]
    return [*ops, {"op": "last_scan"}]


def read_jobs(scans: list[dict], keys: list[str]) -> list[dict]:
    """What a reader is asked: per scan, its streams' operations (without the expectations)."""
    jobs = []
    for n, (scan, key) in enumerate(zip(scans, keys)):
        streams = {
            name: {"json": p["json"], "ops": [harness._strip(op) for op in p["ops"]]}
            for name, p in read_plan(scan).items()
        }
        jobs.append(
            {"key": key, "streams": streams, "store_ops": store_ops(scans) if n == 0 else []}
        )
    return jobs


def read_problems(scans: list[dict], keys: list[str], observed: dict) -> list[str]:
    problems = []
    for n, (scan, got) in enumerate(zip(scans, observed["scans"])):
        where = f"scan {n}" if len(scans) > 1 else "scan"
        if "load_error" in got:
            problems.append(f"{where}: cannot load: {got['load_error']}")
            continue
        if got["state"] != CLOSED:
            problems.append(f"{where}: state {got['state']}, expected {CLOSED} (CLOSED)")
        identity = {f: scan["identity"].get(f) for f in interop_peer.IDENTITY_FIELDS}
        if got["identity"] != identity:
            problems.append(f"{where}: identity {got['identity']} != {identity}")
        why = json_difference(interop_peer._plain(final_info(scan)), got["info"], "info")
        if why:
            problems.append(f"{where}: {why}")
        names = sorted(s["name"] for s in scan["streams"])
        if got["stream_names"] != names:
            problems.append(f"{where}: streams {got['stream_names']} != {names}")
        for name, plan in read_plan(scan).items():
            result = got["streams"].get(name, {"load_error": "not read"})
            problems += [f"{where}/{name}: {p}" for p in harness.check_reads(plan["ops"], result)]
        if n == 0:
            problems += _store_problems(scans, keys, got["store"])
    return problems


def json_difference(want: Any, have: Any, path: str = "") -> str | None:
    """The first difference of two JSON values; floats within 2 units in the last place
    (RedisJSON does not give every double back bit for bit)."""
    if isinstance(want, dict) and isinstance(have, dict):
        for k in list(want) + [k for k in have if k not in want]:
            if k not in have:
                return f"{path}/{k} missing"
            if k not in want:
                return f"{path}/{k} unexpected ({have[k]!r})"[:300]
            why = json_difference(want[k], have[k], f"{path}/{k}")
            if why:
                return why
        return None
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have)):
            why = json_difference(w, h, f"{path}[{i}]")
            if why:
                return why
        return None
    if type(want) is float and type(have) is float and math.isclose(want, have, rel_tol=5e-16):
        return None
    if want != have or type(want) is not type(have):
        return f"{path}: {have!r} != expected {want!r}"[:300]
    return None


def _store_problems(scans: list[dict], keys: list[str], results: list[dict]) -> list[str]:
    problems = []
    for op, got in zip(store_ops(scans), results):
        if op["op"] == "search":
            field, value = next(iter(op["query"].items()))
            want = sorted(k for s, k in zip(scans, keys) if s["identity"].get(field) == value)
        else:
            want = keys[-1]
        have = got.get("value")
        if op["op"] == "last_scan" and isinstance(have, list):
            have = have[1]
        if have != want:
            problems.append(f"store {op['op']} {op.get('query', '')}: {got} != {want}")
    return problems


def live_problems(scan: dict, observed: dict) -> list[str]:
    problems = []
    for spec in scan["streams"]:
        pts = points(scan, spec["name"])
        have = observed["streams"].get(spec["name"])
        if have is None:
            problems.append(
                f"live {spec['name']}: not read (followed {observed.get('key')}, "
                f"streams {sorted(observed['streams'])})"
            )
        elif not pts:
            if have != {"points": 0}:
                problems.append(f"live {spec['name']}: read {have}, nothing was sent")
        else:
            why = valuerepr.compare(_expected_repr(spec, pts), valuerepr.from_repr(have))
            if why:
                problems.append(f"live {spec['name']}: {why}")
    return problems


def _follow_core(url: str, since: str, json_names: list[str], out: dict) -> None:
    from blissdata_core import CursorGroup, DataStore, EndOfStream

    try:
        with DataStore(url) as ds:
            out["result"] = interop_peer.follow_scan(
                ds, since, CursorGroup, EndOfStream, json_names
            )
    except Exception as exc:  # reported by the cell
        out["error"] = f"{type(exc).__name__}: {exc}"


# --- trees -------------------------------------------------------------------------------


def expected_datasets(scans: list[dict]) -> dict[str, dict[str, list]]:
    """{file: {dataset path: the points of its stream}} (a stream without points has no
    dataset: neither writer makes one)."""
    out: dict[str, dict[str, list]] = {}
    for file, found in stream_datasets(scans).items():
        out[file] = {}
        for path, (i, name) in found.items():
            pts = points(scans[i], name)
            if pts:
                out[file][path] = pts
    return out


def _data_problems(open_tree, files: list[str], expected: dict) -> list[str]:
    problems = []
    for path in files:
        if not expected.get(path):
            continue
        try:
            with files_in(os.path.dirname(path)), open_tree(path) as tree:
                problems += [
                    f"{path}: {p}" for p in h5files.stream_data_problems(tree, expected[path])
                ]
        except Exception as exc:
            problems.append(f"{path}: {type(exc).__name__}: {exc}"[:300])
    return problems


@contextlib.contextmanager
def files_in(directory: str):
    """The current directory is ``directory`` meanwhile: HDF5 finds the relative files of
    external datasets from there, where blissdata_h5 looks for them beside the file."""
    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def _h5py_file(path: str):
    import h5py

    # without locking, as blissdata_core's plugins open files: HDF5 refuses to open a
    # file twice in one process with different locking flags
    return h5py.File(path, "r", locking=False)


def _facade_problems(url: str, files: list[str], expected: dict) -> list[str]:
    import blissdata_h5

    problems = []
    for path in files:
        for source in H5_SOURCES:
            try:
                with (
                    files_in(os.path.dirname(path)),
                    blissdata_h5.File(path, data_store=url, source=source) as ours,
                ):
                    with _h5py_file(path) as theirs:
                        found = h5files.tree_problems(ours, theirs)
                    if source == "redis":
                        found += h5files.stream_data_problems(ours, expected.get(path, {}))
            except Exception as exc:
                found = [f"{type(exc).__name__}: {exc}"[:300]]
            problems += [f"{path} (source={source}): {p}" for p in found[:10]]
    return problems


def _reference_view_problems(observed: dict, scans: list[dict], files: list[str]) -> list[str]:
    """The reference's view over Redis against h5py on blisswriter's file, but for two
    known differences of blissdata 2.4.5's h5api: it shows a dataset for a stream that
    got no point (writers make none), and the points of a free dimension as they were
    sent (files pad them: the points must be the start of the padded rows)."""
    problems = []
    for path in files:
        got = observed["files"].get(path, {})
        if "tree" not in got:
            problems.append(f"{path}: {got}")
            continue
        with files_in(os.path.dirname(path)), _h5py_file(path) as theirs:
            want = interop_peer.describe_entries(theirs, theirs.keys())
        have = dict(got["tree"])
        for name, (i, stream) in stream_datasets(scans).get(path, {}).items():
            if name in have and name not in want and not points(scans[i], stream):
                del have[name]
                parent, child = name.rsplit("/", 1)
                if child in have.get(parent, {}).get("children", []):
                    have[parent] = {
                        **have[parent],
                        "children": [c for c in have[parent]["children"] if c != child],
                    }
        for name, node in list(have.items()):
            if _unpadded_points_match(node, want.get(name)):
                have[name] = want[name]
        if have != want:
            problems.append(f"{path}: {harness._first_difference(want, have)}"[:500])
    return problems


def _unpadded_points_match(node: dict, padded: dict | None) -> bool:
    """A dataset of points of a free dimension (its length -1) is the padded one, up to
    the padding."""
    value = node.get("value")
    if not padded or -1 not in (node.get("shape") or []):
        return False
    if len(padded.get("shape") or []) != len(node["shape"]) or any(
        n not in (-1, p) for n, p in zip(node["shape"], padded["shape"])
    ):
        return False
    if not (isinstance(value, dict) and value.get("type") == "list"):  # no padding needed
        return {**node, "shape": padded["shape"]} == padded
    rows = padded["value"]["value"] if isinstance(padded.get("value"), dict) else None
    if (
        padded.get("kind") != "dataset"
        or not isinstance(rows, list)
        or len(rows) != len(value["points"])
    ):
        return False
    if {k: v for k, v in node.items() if k not in ("shape", "value")} != {
        k: v for k, v in padded.items() if k not in ("shape", "value")
    }:
        return False

    def starts(row: Any, point: Any) -> bool:
        if isinstance(point, list):
            return (
                isinstance(row, list)
                and len(row) >= len(point)
                and all(starts(r, p) for r, p in zip(row, point))
            )
        return row == point

    return all(
        p["dtype"] == padded["dtype"] and starts(row, p["value"])
        for row, p in zip(rows, value["points"])
    )


def _write_ours(url: str, keys: list[str]) -> list[str]:
    from blissdata_core import DataStore
    from blissdata_writer.scan_writer import ScanWriter
    from blissdata_writer.status import StatusBoard

    problems = []
    with DataStore(url) as ds:
        for key in keys:
            status = ScanWriter(ds, key, StatusBoard(url), None).run()
            if status.state != "complete":
                problems.append(f"{key}: {status}")
    return problems


# --- one scenario, one producer, every consumer ---------------------------------------------


def run_scenario(
    scenario: Scenario,
    producer: str,
    url: str,
    reference_python: str,
    workdir: Path,
    consumers: Iterable[str] = CONSUMERS,
) -> dict[str, Cell]:
    """Publish ``scenario`` with ``producer``; one :class:`Cell` for each consumer."""
    consumers = [c for c in consumers if applies(scenario, c)]
    reference = Reference(reference_python)
    cells: dict[str, Cell] = {}

    def done(consumer: str, problems: list[str], skip: str = "") -> None:
        status = "skip" if skip else ("fail" if problems else "pass")
        detail = skip or "; ".join(problems[:8])
        if len(problems) > 8:
            detail += f"; ... {len(problems) - 8} more"
        cells[consumer] = Cell(producer, consumer, scenario.name, status, detail)

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    scans: list[dict] = []
    try:
        scans = scenario.build(workdir)
        reset_database(url, scenario.init, reference)
    except Exception as exc:
        for c in consumers:
            done(c, [f"scenario not built: {type(exc).__name__}: {exc}"])
        return cells
    if producer == "ts" and ts_skip(scans, "produces"):
        for c in consumers:
            done(c, [], skip=ts_skip(scans, "produces"))
        return cells
    if "ts" in consumers and ts_skip(scans, "reads"):
        done("ts", [], skip=ts_skip(scans, "reads"))
    lima = any(stream_kind(s) == "lima" for scan in scans for s in scan["streams"])
    if lima and not lima_plugin_available():
        for c in [c for c in consumers if c in NEEDS_LIMA_PLUGIN]:
            done(c, [], skip="blissdata_core has no lima plugin")
    todo = [c for c in consumers if c not in cells]

    # live readers start first, then the producer publishes
    followers: dict[str, Any] = {}
    if scenario.live:
        from blissdata_core import DataStore

        with DataStore(url) as ds:
            since = ds.get_last_scan_timetag()
        json_names = [s["name"] for s in scans[0]["streams"] if stream_kind(s) == "json"]
        if "reference" in todo:
            followers["reference"] = reference.start(
                {"op": "follow", "url": url, "since": since, "json_streams": json_names}
            )
        if "core" in todo:
            out: dict = {}
            thread = threading.Thread(target=_follow_core, args=(url, since, json_names, out))
            thread.start()
            followers["core"] = (thread, out)
        if "ts" in todo:
            peer = ts_peer.TsPeer()
            try:
                peer.start_follow(url, since)
                followers["ts"] = peer
            except Exception as exc:  # reported by the cell
                peer.close()
                followers["ts"] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        report = produce(producer, url, scans, reference)
        common = production_problems(scans, report)
    except Exception as exc:
        report, common = None, [f"producer failed: {type(exc).__name__}: {exc}"[:2000]]
    live: dict[str, Any] = {}
    for name, follower in followers.items():
        try:
            if name == "reference":
                live[name] = Reference.finish(follower)
            elif isinstance(follower, dict):  # it could not start
                live[name] = follower
            elif name == "ts":
                try:
                    live[name] = follower.followed(json_names)
                finally:
                    follower.close()
            else:
                thread, out = follower
                thread.join(120)
                live[name] = out.get("result") or {"error": out.get("error", "no result")}
        except Exception as exc:
            live[name] = {"error": f"{type(exc).__name__}: {exc}"}
    if report is None:
        for c in todo:
            done(c, common)
        return cells
    keys = [s["key"] for s in report["scans"]]
    files = h5maps_files(scans)
    # the reference's HDF5 view finds scans by their path: it shows those files only
    own_files = [f for f in files if any(s["identity"].get("path") == f for s in scans)]
    expected = expected_datasets(scans)

    # the reference consumers, in one process: reads, blisswriter, its HDF5 view
    jobs = []
    if "reference" in todo:
        jobs.append({"op": "read_scans", "url": url, "scans": read_jobs(scans, keys)})
    trees = [c for c in todo if c in TREES]
    if trees:
        jobs.append({"op": "blisswriter", "url": url, "keys": keys})
    if "reference_h5" in todo:
        jobs.append({"op": "h5_describe", "url": url, "files": own_files})
    answers: dict[str, Any] = {}
    if jobs:
        try:
            results = reference.run({"op": "batch", "jobs": jobs, "isolate": True})["results"]
            answers = {job["op"]: result for job, result in zip(jobs, results)}
        except Exception as exc:
            answers = {job["op"]: {"error": str(exc)} for job in jobs}

    for reader in [c for c in todo if c in READERS]:
        problems = list(common)
        try:
            if reader == "core":
                from blissdata_core import DataStore

                with DataStore(url) as ds:
                    observed = {
                        "scans": [
                            interop_peer.read_scan(ds, j["key"], j["streams"], j["store_ops"])
                            for j in read_jobs(scans, keys)
                        ]
                    }
            elif reader == "ts":
                peer = ts_peer.TsPeer()
                try:
                    observed = peer.read_scans(url, read_jobs(scans, keys))
                finally:
                    peer.close()
            else:
                observed = answers["read_scans"]
            if "error" in observed:
                problems.append(observed["error"])
            else:
                problems += read_problems(scans, keys, observed)
            if scenario.live:
                got = live[reader]
                problems += [got["error"]] if "error" in got else live_problems(scans[0], got)
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc}"[:500])
        done(reader, problems)

    if not trees:
        return cells
    # blisswriter's files are the baseline of the other HDF5 consumers
    written = answers.get("blisswriter", {})
    baseline = []
    if "error" in written:
        baseline = [f"blisswriter failed: {written['error']}"[:1000]]
    else:
        baseline += [
            f"blisswriter: {key}: {s}"
            for key, s in zip(keys, written["statuses"])
            if s["state"] != "COMPLETE"
        ]
        baseline += [
            f"{path}: not written by blisswriter" for path in files if not os.path.exists(path)
        ]
    if "blisswriter" in todo:
        problems = common + baseline
        if not baseline:
            problems += _data_problems(_h5py_file, files, expected)
        done("blisswriter", problems)
    if "h5" in todo:
        problems = common + baseline
        if not baseline:
            problems += _facade_problems(url, files, expected)
        done("h5", problems)
    if "reference_h5" in todo:
        problems = common + baseline
        got = answers.get("h5_describe", {})
        if "error" in got:
            problems.append(got["error"])
        elif not baseline:
            problems += _reference_view_problems(got, scans, own_files)
        done("reference_h5", problems)
    if "writer" in todo:
        problems = common + baseline
        if not baseline:
            for path in files:
                os.rename(path, path + ".blisswriter.h5")
            try:
                problems += _write_ours(url, keys)
                for path in files:
                    with files_in(os.path.dirname(path)):
                        theirs = h5files.describe(path + ".blisswriter.h5")
                        ours = h5files.describe(path)
                    diff = h5files.differences(theirs, ours)
                    problems += [f"{path} (blisswriter's, ours): {d}" for d in diff]
                problems += _data_problems(_h5py_file, files, expected)
            except Exception as exc:
                problems.append(f"{type(exc).__name__}: {exc}"[:500])
        done("writer", problems)
    return cells


# --- the matrix ------------------------------------------------------------------------------


def format_matrix(results: list[Cell]) -> str:
    """producer x consumer: passed/total (skipped cells are not counted)."""
    consumers = [c for c in CONSUMERS if any(r.consumer == c for r in results)]
    producers = [p for p in PRODUCERS if any(r.producer == p for r in results)]
    head = ["producer \\ consumer", *consumers]
    rows = [head]
    for p in producers:
        row = [p]
        for c in consumers:
            mine = [r for r in results if r.producer == p and r.consumer == c]
            counted = [r for r in mine if r.status != "skip"]
            passed = sum(r.status == "pass" for r in counted)
            text = f"{passed}/{len(counted)}" if counted else "-"
            skipped = len(mine) - len(counted)
            row.append(text + (f" ({skipped} skipped)" if skipped else ""))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
