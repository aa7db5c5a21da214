"""The scenarios of the interop matrix: scans any producer can publish.

A scenario builds, in a directory of its own, the list of scans to publish in
the format of ``tools.vectors.interop_peer`` (identity, info, streams, the
sends in order, what changes at close).  Every value sent is written down, so
the expected results are the scenario itself: what a reader must read, and
what the datasets mapped to streams must hold in a written file.

Scenarios come from three sources: hand-written ones (what the interop tests
of the packages published), BLISS-like scans of ``blissdata_writer.producer``
recorded through a stand-in data store (the same scan is then replayed by
every producer), and random h5maps trees drawn deterministically from the
hypothesis strategies of ``random_scans``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tools.vectors import valuerepr

PRODUCERS = ("core", "reference", "ts")
#: Random scenarios drawn (``$BLISSDATA_INTEROP_RANDOM`` overrides).
RANDOM_EXAMPLES = 10


@dataclass
class Scenario:
    name: str
    #: ``build(directory) -> [scan spec]``: the scans, with their files under ``directory``.
    build: Callable[[Path], list[dict]]
    description: str = ""
    #: who initialises the empty database: "core" or "reference"
    init: str = "core"
    #: readers follow the scan while it is published (they start before the producer)
    live: bool = False
    #: the scans have h5maps: the HDF5 consumers (writers, HDF5 views) take part
    trees: bool = True
    producers: tuple[str, ...] = PRODUCERS
    tags: set[str] = field(default_factory=set)


# --- building blocks --------------------------------------------------------------------


def send(stream: str, value: Any, json_stream: bool = False) -> list:
    """One send of a scan spec: ``[stream, value repr]`` (arrays without their ``list``)."""
    if json_stream:
        return [stream, {"json": value}]
    array = valuerepr.array_repr(np.asarray(value))
    del array["list"]
    return [stream, {"array": array}]


def numeric(name: str, dtype: str, shape: tuple | list = (), info: dict | None = None) -> dict:
    return {"name": name, "dtype": dtype, "shape": list(shape), "info": dict(info or {})}


def json_stream(name: str, info: dict | None = None) -> dict:
    return {"name": name, "dtype": "json", "shape": None, "info": dict(info or {})}


def stream_kind(spec: dict) -> str:
    """ "json", "lima" (a JSON stream of status whose points are frames in files) or "numeric"."""
    if spec["dtype"] == "json":
        return "lima" if spec.get("info", {}).get("plugin") == "lima" else "json"
    return "numeric"


def points(scan: dict, name: str) -> list:
    """The points a reader must read from stream ``name`` of a scan spec."""
    spec = next(s for s in scan["streams"] if s["name"] == name)
    kind = stream_kind(spec)
    if kind == "lima":
        return lima_frames(spec["info"]["lima_info"], len(_sends(scan, name)))
    out: list = []
    for value in _sends(scan, name):
        data = valuerepr.from_repr(value)
        if kind == "json":
            out.append(data)
            continue
        data = np.asarray(data, dtype=spec["dtype"])
        out.extend([data] if data.ndim == len(spec["shape"]) else list(data))
    return out


def _sends(scan: dict, name: str) -> list:
    return [value for stream, value in scan.get("sends", []) if stream == name]


def lima_frames(lima_info: dict, count: int) -> list[np.ndarray]:
    """Frames 0..count-1 as the simulated detector saved them (``frame_per_file`` a file)."""
    import h5py

    frames = []
    per_file = lima_info["frame_per_file"]
    for index in range(count):
        number, in_file = divmod(index, per_file)
        path = lima_info["file_path"] % (number + lima_info["file_offset"])
        with h5py.File(path, "r") as f:
            frames.append(f[lima_info["data_path"]][in_file])
    return frames


def final_info(scan: dict) -> dict:
    return {**scan.get("info", {}), **scan.get("info_at_close", {})}


def h5maps_files(scans: list[dict]) -> list[str]:
    """Files the scans' final h5maps describe, in order of appearance."""
    files: list[str] = []
    for scan in scans:
        for path in final_info(scan).get("h5maps", {}) or {}:
            if path not in files:
                files.append(path)
    return files


def stream_datasets(scans: list[dict]) -> dict[str, dict[str, tuple[int, str]]]:
    """{file: {dataset path: (scan index, stream name)}} of the datasets mapped to a stream."""
    out: dict[str, dict[str, tuple[int, str]]] = {}

    def walk(item: Any, path: str, index: int, found: dict) -> None:
        if not isinstance(item, dict):
            return
        kind = item.get("type")
        if kind == "stream":
            found[path] = (index, item["stream"])
        elif kind == "dataset" and isinstance(item.get("value"), dict):
            if item["value"].get("type") == "stream":
                found[path] = (index, item["value"]["stream"])
        elif kind == "group":
            for name, child in (item.get("children") or {}).items():
                walk(child, f"{path}/{name}", index, found)

    for index, scan in enumerate(scans):
        for file, root in (final_info(scan).get("h5maps") or {}).items():
            walk(root, "", index, out.setdefault(file, {}))
    return out


# --- hand-written scenarios -------------------------------------------------------------

DTYPES = ["?", "<i1", ">i2", "<i4", ">i8", "<u1", ">u2", "<u4", "<u8", "<f2", ">f4", "<f8"]
DTYPES += ["<c8", ">c16"]


def _dtypes(directory: Path) -> list[dict]:
    """Every numeric kind and byte order, batches and single points, free shapes, JSON."""
    streams, sends = [], []
    for i, dt in enumerate(DTYPES):
        streams.append(numeric(f"n{i}", dt, (2,)))
        data = ((np.arange(10) % 2) if dt == "?" else np.arange(10)).astype(dt).reshape(5, 2)
        sends += [send(f"n{i}", data[:2]), send(f"n{i}", data[2]), send(f"n{i}", data[3:])]
    streams += [numeric("dyn", "int16", (-1,)), numeric("ragged", "float32", (-1,))]
    sends += [
        send("dyn", np.arange(3, dtype="int16")),
        send("dyn", np.arange(6, dtype="int16").reshape(2, 3)),
        send("ragged", np.arange(2, dtype="float32")),
        send("ragged", np.arange(5, dtype="float32")),
    ]
    streams.append(json_stream("js"))
    sends += [send("js", {"a": 1}, True), send("js", [1, "x", None], True)]
    identity = {"name": "dtypes", "number": 11, "data_policy": "no_policy"}
    identity.update({"path": str(directory / "dtypes.h5"), "session": "s1"})
    return [
        {
            "identity": identity,
            "info": {"title": "dtypes", "nan": float("nan")},
            "streams": streams,
            "sends": sends,
            "info_at_close": {"end_reason": "SUCCESS"},
        }
    ]


def _one_value(directory: Path) -> list[dict]:
    """A scalar stream sealed by the producer (the seal returns the number of points)."""
    return [
        {
            "identity": {"name": "byone", "number": 2, "data_policy": "p"},
            "streams": [numeric("v", "float64")],
            "sends": [send("v", 2.5)],
            "seal": ["v"],
        }
    ]


def _live(directory: Path) -> list[dict]:
    """Points published while readers follow (paced: readers catch up mid-scan)."""
    sends = []
    for i in range(200):
        sends += [send("a", np.int64(i)), send("b", np.full(4, i, "float32"))]
        if i % 50 == 0:
            sends.append(send("e", {"i": i}, True))
    return [
        {
            "identity": {"name": "live", "number": 1, "data_policy": "p"},
            "streams": [numeric("a", "int64"), numeric("b", "float32", (4,)), json_stream("e")],
            "sends": sends,
            "pace": {"every": 100, "sleep": 0.05},
        }
    ]


#: Every kind of h5maps item and value blisswriter 3.0 writes (the h5 package's interop map).
H5MAP_ENTRY = {
    "type": "group",
    "attributes": {"NX_class": "NXentry", "default": "measurement"},
    "children": {
        "title": "published by a client",
        "numbers": [1, 2.5, True],
        "names": ["a", "bc"],
        "flag": True,
        "small": {
            "type": "dataset",
            "value": {"type": "inline", "dtype": "int8", "value": [1, -2]},
            "attributes": {
                "units": "mm",
                "scale": {"type": "inline", "dtype": "float32", "value": "nan"},
            },
        },
        "bin": {"type": "inline_b64", "dtype": ">u2", "shape": [2, 2]},
        "table": {"type": "compound", "columns": [["x", [1, 2]], ["name", ["p", "q"]]]},
        "measurement": {
            "type": "group",
            "attributes": {"NX_class": "NXcollection"},
            "children": {
                "diode": {"type": "stream", "stream": "diode"},
                "mca": {
                    "type": "dataset",
                    "value": {"type": "stream", "stream": "mca"},
                    "attributes": {"interpretation": "spectrum"},
                },
                "title": {"type": "soft_link", "target_path": "/1.1/title"},
            },
        },
    },
}


def _h5maps(directory: Path) -> list[dict]:
    import base64

    entry = copy.deepcopy(H5MAP_ENTRY)
    raw = np.arange(4, dtype=">u2").tobytes()
    entry["children"]["bin"]["value"] = base64.b64encode(raw).decode()
    path = str(directory / "items.h5")
    root = {"type": "group", "attributes": {"NX_class": "NXroot"}, "children": {"1.1": entry}}
    return [
        {
            "identity": {"name": "items", "number": 1, "data_policy": "no_policy", "path": path},
            "info": {"title": "published by a client", "h5maps": {path: root}},
            "streams": [numeric("diode", "float64"), numeric("mca", "int32", (4,))],
            "sends": [
                send("diode", np.arange(5) * 0.5),
                send("mca", np.arange(20, dtype=np.int32).reshape(5, 4)),
            ],
        }
    ]


def _ragged(directory: Path) -> list[dict]:
    """Points of a free dimension are padded in files (NaN for floats), as blisswriter does."""
    path = str(directory / "ragged.h5")
    h5map = {
        "type": "group",
        "children": {
            "1.1": {"type": "group", "children": {"r": {"type": "stream", "stream": "ragged"}}}
        },
    }
    return [
        {
            "identity": {"name": "ragged", "number": 1, "data_policy": "no_policy", "path": path},
            "info": {"h5maps": {path: h5map}},
            "streams": [numeric("ragged", "float32", (-1,))],
            "sends": [send("ragged", np.arange(n, dtype=np.float32)) for n in (2, 5, 1, 3)],
        }
    ]


# --- BLISS-like scans of blissdata_writer.producer, recorded ------------------------------


class _RecordedStream:
    def __init__(self, scan: _RecordedScan, spec: dict):
        self._scan, self._spec = scan, spec

    def send(self, data: Any) -> None:
        spec = self._spec
        if spec["dtype"] == "json":
            self._scan.spec["sends"].append(send(spec["name"], data, True))
        else:
            self._scan.spec["sends"].append(send(spec["name"], np.asarray(data, spec["dtype"])))

    def join(self) -> None:
        pass


class _RecordedScan:
    """Stands for a scan of blissdata_core: what the producer does is written down."""

    def __init__(self, identity: dict, info: dict | None):
        self.spec: dict = {"identity": _plain(identity), "streams": [], "sends": []}
        self.info = copy.deepcopy(dict(info or {}))
        self.key = f"recorded:{identity.get('number')}"
        self.streams: dict[str, _RecordedStream] = {}

    name = property(lambda self: self.spec["identity"].get("name"))
    number = property(lambda self: self.spec["identity"].get("number"))
    path = property(lambda self: self.spec["identity"].get("path"))

    def create_stream(self, definition: Any) -> _RecordedStream:
        info = _plain(definition.info)
        if type(definition.encoder).__name__ == "JsonEncoder":
            spec = json_stream(definition.name, info)
        else:
            spec = numeric(definition.name, info["dtype"], info["shape"], info)
        self.spec["streams"].append(spec)
        self.streams[definition.name] = _RecordedStream(self, spec)
        return self.streams[definition.name]

    def prepare(self) -> None:
        self.spec["info"] = _plain(self.info)  # what the document holds once PREPARED

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        final = _plain(self.info)
        self.spec["info_at_close"] = {
            k: v for k, v in final.items() if self.spec["info"].get(k, object()) != v
        }


class _Recorder:
    """Stands for a DataStore of blissdata_core."""

    def __init__(self) -> None:
        self.scans: list[_RecordedScan] = []

    def create_scan(self, identity: dict, info: dict | None = None) -> _RecordedScan:
        self.scans.append(_RecordedScan(identity, info))
        return self.scans[-1]

    def search_existing_scans(self, **query: Any) -> tuple[int, list]:
        return 0, [
            s.key
            for s in self.scans
            if all(s.spec["identity"].get(k) == v for k, v in query.items())
        ]


def _plain(obj: Any) -> Any:
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} in a scan spec")

    return json.loads(json.dumps(obj, default=default))


def record_simulated(runs: list[dict]) -> list[dict]:
    """The scans ``simulate_scan`` publishes for each of ``runs`` (its keyword arguments).

    The simulated lima detector saves its frames (beside the scan's file) while recording.
    """
    from blissdata_writer.producer import simulate_scan

    recorder = _Recorder()
    for number, options in enumerate(runs, start=1):
        simulate_scan(recorder, number=number, count_time=0, **options)
    return [scan.spec for scan in recorder.scans]


DETECTOR_SETS = {
    "counters": ("diode",),
    "no-lima": ("diode", "mca"),
    "all": ("diode", "mca", "lima"),
}
SCAN_KINDS = ("ct", "ascan", "timescan", "mesh")


def _simulated(kind: str, detectors: tuple[str, ...]) -> Callable[[Path], list[dict]]:
    def build(directory: Path) -> list[dict]:
        path = str(directory / "data" / "sample.h5")
        run = {"kind": kind, "npoints": 5, "path": path, "detectors": detectors}
        return record_simulated([{**run, "frames_per_file": 3}])

    return build


def _two_scans(directory: Path) -> list[dict]:
    path = str(directory / "sample.h5")
    return record_simulated(
        [
            {"kind": "ascan", "npoints": 4, "path": path, "detectors": ("diode",)},
            {"kind": "timescan", "npoints": 3, "path": path, "detectors": ("diode",)},
        ],
    )


# --- random h5maps trees ------------------------------------------------------------------


@functools.cache
def random_examples(count: int) -> tuple:
    """``count`` random scans, the same ones at every call: drawn in a fresh process
    (``tools.conformance.random_scans``), as hypothesis draws from loaded modules too."""
    import pickle
    import subprocess
    import sys

    from tools import module_env

    proc = subprocess.run(
        [sys.executable, "-m", "tools.conformance.random_scans", str(count)],
        capture_output=True,
        env=module_env(),
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"drawing random scans failed: {proc.stderr.decode()[-2000:]}")
    return tuple(pickle.loads(proc.stdout))


def _random(index: int, count: int) -> Callable[[Path], list[dict]]:
    def build(directory: Path) -> list[dict]:
        spec = random_examples(count)[index]
        path, extra = str(directory / "random.h5"), str(directory / "extra.h5")
        # the data of the external binary datasets (5 int32 at most), beside the files
        (directory / "raw.bin").write_bytes(np.arange(5, dtype="<i4").tobytes())
        streams, sends = [], []
        for name, (dtype, shape, batches) in spec.streams.items():
            streams.append(numeric(name, dtype, shape))
            sends += [send(name, batch) for batch in batches]
        return [
            {
                "identity": {
                    "name": "random",
                    "number": 1,
                    "data_policy": "no_policy",
                    "path": path,
                },
                # h5maps at creation and at close, as the random trees change
                "info": {"h5maps": spec.maps(path, extra, "1.1", closing=False)},
                "streams": streams,
                "sends": sends,
                "info_at_close": {"h5maps": spec.maps(path, extra, "1.1", closing=True)},
            }
        ]

    return build


# --- the catalogue ------------------------------------------------------------------------


def random_count() -> int:
    return int(os.environ.get("BLISSDATA_INTEROP_RANDOM", RANDOM_EXAMPLES))


def all_scenarios(random: int | None = None) -> list[Scenario]:
    random = random_count() if random is None else random
    out = [
        Scenario(
            "dtypes", _dtypes, "every dtype, batches, free shapes, JSON; NaN in info", trees=False
        ),
        Scenario(
            "init-by-core", _one_value, "a database initialised by the core client", trees=False
        ),
        Scenario(
            "init-by-reference",
            _one_value,
            "a database initialised by the reference client",
            init="reference",
            trees=False,
        ),
        Scenario(
            "live", _live, "readers follow the scan while it is published", live=True, trees=False
        ),
        Scenario("h5maps-items", _h5maps, "every h5maps item and value kind"),
        Scenario("ragged-padding", _ragged, "a free dimension in a file"),
    ]
    for kind in SCAN_KINDS:
        for label, detectors in DETECTOR_SETS.items():
            out.append(
                Scenario(
                    f"simulated-{kind}-{label}",
                    _simulated(kind, detectors),
                    f"blissdata_writer.producer {kind} with {', '.join(detectors)}",
                    tags={"lima"} if "lima" in detectors else set(),
                )
            )
    out.append(Scenario("two-scans-one-file", _two_scans, "two simulated scans in one file"))
    out += [
        Scenario(f"random-{i:02d}", _random(i, random), "random h5maps tree and streams")
        for i in range(random)
    ]
    return out
