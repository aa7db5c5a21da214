"""Benchmark worker: runs workloads for one implementation, on request.

Started by ``run.py`` with the interpreter of the implementation measured
(the project's venv, or the reference client's own venv), so it imports
nothing from the project at module level.  It reads one JSON request per line
on stdin and answers one JSON line on its original stdout (library output is
sent to stderr so it cannot corrupt the exchange)::

    {"task": "publish_frames", "url": "redis://...", "params": {...}}
    -> {"ok": true, "result": {"seconds": 1.2, "points": 500, "bytes": ...}}

Implementations: ``project`` (blissdata_core), ``reference`` (blissdata 2.x)
and ``raw`` (redis-py pipelined commands, no client logic: the practical
limit).  Every timed section starts with the first ``send()`` (or read) and
ends when the server has acknowledged everything (seal, or the last reply).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
import traceback
from typing import Any

import numpy as np

IDENTITY = {"name": "bench", "number": 1, "data_policy": "no_policy"}
#: Distinct arrays cycled through when publishing, so no payload is a cached repeat.
DISTINCT_ARRAYS = 8
#: (g): plain h5py writing from memory is timed this many times, the best kept.
H5PY_ALONE_PASSES = 3
#: (d), (e): read passes of a sealed stream (the best is kept) stop after
#: this many seconds (at least two passes).
PASSES_SECONDS = 5.0
#: (e): most passes of a CursorGroup over the sealed scan.
READ_PASSES = 5


def make_arrays(dtype: str, shape: tuple[int, ...], count: int = DISTINCT_ARRAYS) -> list:
    rng = np.random.default_rng(1234)
    if np.dtype(dtype).kind == "f":
        return [rng.random(shape).astype(dtype) for _ in range(count)]
    return [rng.integers(0, 4000, size=shape).astype(dtype) for _ in range(count)]


# --- the two clients (same public API shape) ----------------------------------


class Client:
    """What the workloads need from a client; the project and the reference share it."""

    def __init__(self, impl: str):
        self.impl = impl
        if impl == "project":
            from blissdata_core import CursorGroup, DataStore, EndOfStream, Stream
        else:
            import warnings

            warnings.simplefilter("ignore")
            from blissdata.exceptions import EndOfStream
            from blissdata.redis_engine.store import DataStore
            from blissdata.streams import CursorGroup
            from blissdata.streams.default import Stream
        self.DataStore = DataStore
        self.Stream = Stream
        self.CursorGroup = CursorGroup
        self.EndOfStream = EndOfStream

    def store(self, url: str) -> Any:
        # run.py hands over an empty database: each client initialises it its own way
        return self.DataStore(url, init_db=True)

    def scan(self, store: Any, definitions: list[tuple[str, str, tuple]]) -> tuple[Any, list]:
        scan = store.create_scan(dict(IDENTITY))
        streams = [
            scan.create_stream(self.Stream.make_definition(name, dtype, shape))
            for name, dtype, shape in definitions
        ]
        scan.prepare()
        scan.start()
        return scan, streams

    @staticmethod
    def finish(scan: Any) -> None:
        scan.stop()
        scan.close()

    @staticmethod
    def close(store: Any) -> None:
        close = getattr(store, "close", None)
        if close is not None:
            close()


def _timed_publish(client: Client, url: str, definitions, feed) -> dict:
    """Create a scan, time ``feed(streams)`` plus the seal of every stream."""
    store = client.store(url)
    try:
        scan, streams = client.scan(store, definitions)
        start = time.perf_counter()
        feed(streams)
        for stream in streams:
            stream.seal()
        seconds = time.perf_counter() - start
        client.finish(scan)
        return {"seconds": seconds, "scan_key": scan.key}
    finally:
        client.close(store)


# --- raw redis-py: the practical limit ------------------------------------------------


class Raw:
    """redis-py with pipelined commands and no client logic."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, protocol=2)

    def pipelined_xadd(self, commands, max_commands: int, max_bytes: int) -> None:
        """Send ``(key, id, fields)`` triples, ``max_commands``/``max_bytes`` per round trip."""
        pipe = self.client.pipeline(transaction=False)
        queued = nbytes = 0
        for key, entry_id, fields in commands:
            pipe.xadd(key, fields, id=entry_id)
            queued += 1
            nbytes += len(fields[b"payload"])
            if queued >= max_commands or nbytes >= max_bytes:
                pipe.execute()
                queued = nbytes = 0
        if queued:
            pipe.execute()

    def raw_call(self, *args: Any) -> Any:
        """One command, reply parsed by the RESP parser only (no response callback)."""
        pool = self.client.connection_pool
        conn = pool.get_connection("_")
        try:
            conn.send_command(*args)
            return conn.read_response()
        finally:
            pool.release(conn)

    def close(self) -> None:
        self.client.close()


def _raw_publish(url: str, keys: list[str], batches, points_per_stream: int, batch: int) -> dict:
    """One entry per batch (``len`` beside the payload when it holds several
    points) for every stream, round-robin like the clients' send loop."""
    raw = Raw(url)

    def commands():
        for i, a in enumerate(range(0, points_per_stream, batch)):
            count = min(batch, points_per_stream - a)
            fields = _raw_fields(batches[i % len(batches)][:count])
            for key in keys:
                yield key, f"{a}-1", fields

    start = time.perf_counter()
    raw.pipelined_xadd(commands(), max_commands=10_000, max_bytes=16 * 2**20)
    seconds = time.perf_counter() - start
    raw.close()
    return {"seconds": seconds}


def point_batches(dtype: str, shape: tuple, batch: int) -> list[np.ndarray]:
    """Distinct ``(batch, *shape)`` arrays to publish in turn, within about 512 MB."""
    point = np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64))
    count = max(1, min(DISTINCT_ARRAYS, 2**29 // max(1, point * batch)))
    points = make_arrays(dtype, shape, min(DISTINCT_ARRAYS, count * batch))
    return [
        np.stack([points[(b * batch + i) % len(points)] for i in range(batch)])
        for b in range(count)
    ]


def _client_feed(batches: list[np.ndarray], points: int, batch: int, scalar: bool):
    """``feed(streams)``: one ``send()`` per stream per batch; a batch of one
    point is sent as the point itself (a float for a scalar stream)."""

    def feed(streams):
        for i, a in enumerate(range(0, points, batch)):
            data = batches[i % len(batches)][: min(batch, points - a)]
            if len(data) == 1:
                data = float(data[0]) if scalar else data[0]
            for stream in streams:
                stream.send(data)

    return feed


# --- publishing workloads ----------------------------------------------------------


def publish_scalars(impl: str, url: str, counters: int, points: int, batch: int = 1) -> dict:
    names = [f"counter{c}" for c in range(counters)]
    batches = point_batches("float64", (), batch)
    if impl == "raw":
        out = _raw_publish(url, names, batches, points, batch)
    else:
        feed = _client_feed(batches, points, batch, scalar=True)
        client = Client(impl)
        out = _timed_publish(client, url, [(n, "float64", ()) for n in names], feed)
    out["points"] = counters * points
    out["bytes"] = counters * points * 8
    return out


def _publish_arrays(impl: str, url: str, dtype: str, shape: tuple, points: int, batch: int) -> dict:
    batches = point_batches(dtype, shape, batch)
    if impl == "raw":
        out = _raw_publish(url, ["data"], batches, points, batch)
    else:
        feed = _client_feed(batches, points, batch, scalar=False)
        out = _timed_publish(Client(impl), url, [("data", dtype, shape)], feed)
    out["points"] = points
    out["bytes"] = points * batches[0][0].nbytes
    return out


def publish_spectra(impl: str, url: str, points: int, size: int, batch: int = 1) -> dict:
    return _publish_arrays(impl, url, "float32", (size,), points, batch)


def publish_frames(
    impl: str, url: str, points: int, height: int, width: int, batch: int = 1
) -> dict:
    return _publish_arrays(impl, url, "uint16", (height, width), points, batch)


# --- random access: stream[a:b] ------------------------------------------------------


def read_slices(impl: str, url: str, points: int, chunk: int, batch: int, passes: int = 9) -> dict:
    """A sealed float64 stream written ``batch`` points per ``send()``, read back by
    ``chunk``-point slices and whole.

    Each read takes milliseconds, so a time slice given to another process
    can double it: it is repeated ``passes`` times (or for ``PASSES_SECONDS``)
    and the best pass is reported (what the client costs, without the
    machine's interruptions).
    """
    values = np.arange(points, dtype=np.float64)
    if impl == "raw":
        raw = Raw(url)
        key = "bench:raw:slices"
        raw.pipelined_xadd(
            ((key, f"{a}-1", _raw_fields(values[a : a + batch])) for a in range(0, points, batch)),
            max_commands=10_000,
            max_bytes=16 * 2**20,
        )

        def get(first: int, stop: int) -> np.ndarray:
            # slices start on a batch boundary: the entries from ``first`` to ``stop - 1``
            entries = raw.raw_call("XRANGE", key, f"{first}-1", f"{stop - 1}-1")
            return np.frombuffer(b"".join(fields[1] for _, fields in entries), np.float64)

        out = _time_slices(get, points, chunk, passes, "raw")
        raw.close()
        return out
    client = Client(impl)

    def feed(streams):
        (stream,) = streams
        if batch == 1:
            for value in values.tolist():
                stream.send(value)
        else:
            for a in range(0, points, batch):
                stream.send(values[a : a + batch])

    key = _timed_publish(client, url, [("data", "float64", ())], feed)["scan_key"]
    store = client.DataStore(url)
    try:
        stream = store.load_scan(key).streams["data"]
        return _time_slices(lambda a, b: stream[a:b], points, chunk, passes, impl)
    finally:
        client.close(store)


def _raw_fields(batch: np.ndarray) -> dict:
    payload = memoryview(batch).cast("B")
    return {b"payload": payload} if len(batch) == 1 else {b"payload": payload, b"len": len(batch)}


def _time_slices(get, points: int, chunk: int, passes: int, impl: str) -> dict:
    sliced, whole = [], []
    budget = time.perf_counter() + PASSES_SECONDS
    for _ in range(passes):
        if len(sliced) >= 2 and time.perf_counter() > budget:
            break  # a slow reader: two passes are enough to see it is slow
        start = time.perf_counter()
        total = sum(len(get(a, a + chunk)) for a in range(0, points, chunk))
        sliced.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = get(0, points)
        whole.append(time.perf_counter() - start)
        _check(total == points and len(data) == points and data[-1] == points - 1, impl)
    return {
        "slices_seconds": min(sliced),
        "whole_seconds": min(whole),
        "points": points,
    }


# --- live reading: CursorGroup to the end -----------------------------------------------


def cursor_read(impl: str, url: str, kind: str, params: dict) -> dict:
    """Publish a sealed scan (untimed), then time a CursorGroup reading it all.

    The sealed scan is read again by a new group up to ``READ_PASSES`` times
    (or for ``PASSES_SECONDS``) and the best pass reported: with large batches
    a pass takes milliseconds, and one time slice lost doubles it.
    """
    publish = {"scalars": publish_scalars, "spectra": publish_spectra, "frames": publish_frames}
    if impl == "raw":
        return _raw_cursor_read(url, kind, params)
    written = publish[kind](impl, url, **params)
    client = Client(impl)
    store = client.DataStore(url)
    try:
        streams = list(store.load_scan(written["scan_key"]).streams.values())
        seconds, points = _best_pass(lambda: read_to_end(client, streams))
    finally:
        client.close(store)
    _check(points == written["points"], impl, f"read {points} of {written['points']} points")
    return {"seconds": seconds, "points": points, "bytes": written["bytes"]}


def read_to_end(client: Client, streams: list) -> int:
    """One pass of (e): a new CursorGroup reads ``streams`` to EndOfStream; the points read."""
    group = client.CursorGroup(streams)
    points = 0
    while True:
        try:
            views = group.read()
        except client.EndOfStream:
            return points
        for view in views.values():
            points += len(view.get_data())


def _best_pass(read: Any) -> tuple[float, Any]:
    """The shortest of several timed ``read()`` calls, and what the last returned."""
    best = float("inf")
    budget = time.perf_counter() + PASSES_SECONDS
    for done in range(READ_PASSES):
        if done >= 2 and time.perf_counter() > budget:
            break
        start = time.perf_counter()
        out = read()
        best = min(best, time.perf_counter() - start)
    return best, out


def _raw_cursor_read(url: str, kind: str, params: dict) -> dict:
    """XREAD over every stream from its first id, one entry per batch (best pass)."""
    batch = params.get("batch", 1)
    if kind == "scalars":
        keys = [f"counter{c}" for c in range(params["counters"])]
        dtype, shape = "float64", ()
    else:
        keys = ["data"]
        if kind == "spectra":
            dtype, shape = "float32", (params["size"],)
        else:
            dtype, shape = "uint16", (params["height"], params["width"])
    npoints = params["points"]
    batches = point_batches(dtype, shape, batch)
    _raw_publish(url, keys, batches, npoints, batch)
    raw = Raw(url)
    # replies of about 2 MB: far faster than 100-entry replies of large entries
    count = max(1, min(100, 2 * 2**20 // batches[0].nbytes))

    def read_all() -> tuple[int, int]:
        positions = dict.fromkeys(keys, "0-0")
        received = dict.fromkeys(keys, 0)
        nbytes = 0
        while positions:
            reply = raw.raw_call(
                "XREAD", "COUNT", count, "STREAMS", *positions, *positions.values()
            )
            for raw_key, entries in reply or ():
                key = raw_key.decode()
                for _entry_id, fields in entries:
                    data = np.frombuffer(fields[1], dtype).reshape((-1, *shape))
                    received[key] += len(data)
                    nbytes += data.nbytes
                positions[key] = entries[-1][0]
                if received[key] >= npoints:
                    del positions[key]  # the raw stream has no seal: stop at its last point
        return sum(received.values()), nbytes

    seconds, (points, nbytes) = _best_pass(read_all)
    raw.close()
    return {"seconds": seconds, "points": points, "bytes": nbytes}


# --- latency: send() -> receipt by a concurrent reader ----------------------------------


def latency(impl: str, url: str, points: int, period: float) -> dict:
    """A point every ``period`` s carries its own send time; a blocked reader notes arrival."""
    if impl == "raw":
        return _raw_latency(url, points, period)
    client = Client(impl)
    store = client.store(url)
    delays: list[float] = []
    try:
        scan, (stream,) = client.scan(store, [("t", "float64", ())])
        reader_store = client.DataStore(url)
        reader_stream = reader_store.load_scan(scan.key).streams["t"]
        reader = threading.Thread(
            target=_read_delays, args=(client, reader_stream, delays), daemon=True
        )
        reader.start()
        time.sleep(0.2)  # the reader is blocked in its read
        next_send = time.perf_counter()
        for _ in range(points):
            next_send += period
            _sleep_until(next_send)
            stream.send(time.perf_counter())
        stream.seal()
        reader.join(timeout=points * period + 30)  # a lost point fails below
        client.finish(scan)
        client.close(reader_store)
    finally:
        client.close(store)
    _check(len(delays) == points, impl, f"received {len(delays)} of {points} points")
    return _latency_summary(delays)


def _read_delays(client: Client, stream: Any, delays: list[float]) -> None:
    cursor = client.CursorGroup([stream])
    while True:
        try:
            views = cursor.read()
        except client.EndOfStream:
            return
        now = time.perf_counter()
        for view in views.values():
            delays.extend(now - sent for sent in view.get_data())


def _raw_latency(url: str, points: int, period: float) -> dict:
    raw_writer, raw_reader = Raw(url), Raw(url)
    key = "bench:raw:latency"
    delays: list[float] = []

    def read() -> None:
        last = "0-0"
        while len(delays) < points:
            reply = raw_reader.raw_call("XREAD", "BLOCK", 0, "STREAMS", key, last)
            now = time.perf_counter()
            for _key, entries in reply:
                for entry_id, fields in entries:
                    delays.append(now - np.frombuffer(fields[1], np.float64)[0])
                    last = entry_id

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.2)
    next_send = time.perf_counter()
    for i in range(points):
        next_send += period
        _sleep_until(next_send)
        raw_writer.client.xadd(
            key, {b"payload": np.float64(time.perf_counter()).tobytes()}, id=f"{i}-1"
        )
    reader.join(timeout=points * period + 30)
    raw_writer.close()
    raw_reader.close()
    _check(len(delays) == points, "raw", f"received {len(delays)} of {points} points")
    return _latency_summary(delays)


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def _latency_summary(delays: list[float]) -> dict:
    ordered = sorted(delays)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": pct(0.50),
        "p99": pct(0.99),
        "mean": statistics.fmean(ordered),
        "max": ordered[-1],
        "points": len(ordered),
    }


def _check(ok: bool, impl: str, what: str = "unexpected data read back") -> None:
    if not ok:
        raise AssertionError(f"{impl}: {what}")


# --- the writer: a scan of (a)+(b)+(c) to HDF5 ---------------------------------------------


def _scan_arrays(scalars: int, spectra: int, frames: int) -> dict[str, np.ndarray]:
    """The arrays of the writer workload: 10 counters, a spectrum and a frame stream."""
    arrays = {f"counter{c}": np.arange(scalars, dtype=np.float64) + c for c in range(10)}
    spectrum, frame = make_arrays("float32", (4096,), 1)[0], make_arrays("uint16", (512, 512), 1)[0]
    arrays["spectrum"] = np.ascontiguousarray(np.broadcast_to(spectrum, (spectra, 4096)))
    arrays["frame"] = np.ascontiguousarray(np.broadcast_to(frame, (frames, 512, 512)))
    return arrays


def write_scan(
    impl: str, url: str, scalars: int, spectra: int, frames: int, directory: str
) -> dict:
    """Time writing the scan's HDF5 file: the project's writer, blisswriter, or plain h5py.

    All read a closed scan published in ~1 MB batches (publishing is not
    timed; the writers read what their own client published).  ``raw`` reads every stream with plain XREADs and writes each array
    with one h5py call (``seconds``); ``h5py_seconds`` is plain h5py alone
    writing the arrays already in memory (best of ``H5PY_ALONE_PASSES``).
    """
    arrays = _scan_arrays(scalars, spectra, frames)
    out = {
        "bytes": sum(a.nbytes for a in arrays.values()),
        "points": scalars * 10 + spectra + frames,
    }
    path = os.path.join(directory, f"bench-{impl}-{os.getpid()}-{time.monotonic_ns()}.h5")
    try:
        if impl == "raw":
            out.update(_raw_writer(url, path, arrays))
        else:
            out["seconds"] = _client_writer(impl, url, path, arrays)
        return out
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _batches(array: np.ndarray):
    """``(first index, batch)`` of about 1 MB, the way the scan is published."""
    step = max(1, 2**20 // max(1, array[0].nbytes))
    for a in range(0, len(array), step):
        yield a, array[a : a + step]


def _raw_writer(url: str, path: str, arrays: dict[str, np.ndarray]) -> dict:
    import h5py

    raw = Raw(url)
    raw.pipelined_xadd(
        (
            (name, f"{a}-1", {b"payload": memoryview(batch).cast("B"), b"len": len(batch)})
            for name, array in arrays.items()
            for a, batch in _batches(array)
        ),
        max_commands=1000,
        max_bytes=16 * 2**20,
    )
    start = time.perf_counter()
    read = {}
    for name, array in arrays.items():
        payloads, last = [], "0-0"
        while True:
            reply = raw.raw_call("XREAD", "COUNT", 2, "STREAMS", name, last)
            if not reply:
                break
            entries = reply[0][1]
            payloads += [fields[1] for _, fields in entries]
            last = entries[-1][0]
        read[name] = np.frombuffer(b"".join(payloads), array.dtype).reshape(array.shape)
    h5py_start = time.perf_counter()
    with h5py.File(path, "w") as f:
        _write_whole(f.create_group("1.1/measurement"), read)
    end = time.perf_counter()
    raw.close()
    return {
        "seconds": end - start,
        "read_seconds": h5py_start - start,
        # the same h5py writing alone, from the arrays in memory
        "h5py_seconds": _best_h5py_seconds(path + ".2", lambda g: _write_whole(g, arrays)),
        # plain h5py as a live writer must use it: the final length unknown,
        # so chunked datasets grown batch by batch as the batches come
        "h5py_append_seconds": _best_h5py_seconds(path + ".3", lambda g: _append(g, arrays)),
    }


def _best_h5py_seconds(path: str, write: Any) -> float:
    """Best of ``H5PY_ALONE_PASSES`` timings of ``write(group)`` into a new file:
    one pass takes a tenth of a second, and page faults make it jumpy."""
    import h5py

    passes = []
    for _ in range(H5PY_ALONE_PASSES):
        start = time.perf_counter()
        with h5py.File(path, "w") as f:
            write(f.create_group("1.1/measurement"))
        passes.append(time.perf_counter() - start)
        os.unlink(path)
    return min(passes)


def _write_whole(group: Any, arrays: dict[str, np.ndarray]) -> None:
    """Each array written in one call, into a contiguous dataset."""
    for name, array in arrays.items():
        group.create_dataset(name, data=array)


def chunk_rows(array: np.ndarray) -> int:
    """Points per chunk of the writers' layout: about 1 MiB, at most 4096."""
    return max(1, min(4096, 2**20 // max(1, array[0].nbytes)))


def _append(group: Any, arrays: dict[str, np.ndarray]) -> None:
    """Each stream's ~1 MB batches appended in turn to a resizable dataset of
    ~1 MiB chunks (the writers' layout), through h5py's ordinary slice write."""
    datasets = {
        name: group.create_dataset(
            name,
            shape=(0, *array.shape[1:]),
            maxshape=(None, *array.shape[1:]),
            dtype=array.dtype,
            chunks=(chunk_rows(array), *array.shape[1:]),
        )
        for name, array in arrays.items()
    }
    pending = {name: _batches(array) for name, array in arrays.items()}
    while pending:
        for name in list(pending):
            batch = next(pending[name], None)
            if batch is None:
                del pending[name]
                continue
            first, points = batch
            dataset = datasets[name]
            dataset.resize(first + len(points), axis=0)
            dataset[first : first + len(points)] = points


def _client_writer(impl: str, url: str, path: str, arrays: dict[str, np.ndarray]) -> float:
    """Publish the closed scan with the client of ``impl`` (untimed), time its writer."""
    client = Client(impl)
    measurement = {name: {"type": "stream", "stream": name} for name in arrays}
    h5map = {
        "type": "group",
        "children": {
            "1.1": {
                "type": "group",
                "attributes": {"NX_class": "NXentry"},
                "children": {"measurement": {"type": "group", "children": measurement}},
            }
        },
    }
    store = client.store(url)
    try:
        scan = store.create_scan({**IDENTITY, "path": path}, info={"h5maps": {path: h5map}})
        streams = {
            name: scan.create_stream(client.Stream.make_definition(name, a.dtype.str, a.shape[1:]))
            for name, a in arrays.items()
        }
        scan.prepare()
        scan.start()
        for name, array in arrays.items():
            for _, batch in _batches(array):
                streams[name].send(batch)
        client.finish(scan)
        key = scan.key
    finally:
        client.close(store)
    store = client.DataStore(url)
    try:
        if impl == "project":
            from blissdata_writer.scan_writer import ScanWriter

            start = time.perf_counter()
            status = ScanWriter(store, key).run()
            seconds = time.perf_counter() - start
            ok, message = status.state == "complete", f"{status.state}: {status.message}"
        else:  # blisswriter, on the scan loaded the way its service loads it
            from blisswriter.scan_writer import ScanWriter, ScanWritingState, ScanWritingStatus

            start = time.perf_counter()
            status = ScanWritingStatus()
            ScanWriter(store.load_scan(key), status).run()
            seconds = time.perf_counter() - start
            ok, message = status.state is ScanWritingState.COMPLETE, str(status)
    finally:
        client.close(store)
    _check(ok, impl, f"writer ended {message}")
    return seconds


TASKS = {
    "publish_scalars": publish_scalars,
    "publish_spectra": publish_spectra,
    "publish_frames": publish_frames,
    "read_slices": read_slices,
    "cursor_read": cursor_read,
    "latency": latency,
    "write_scan": write_scan,
}


def _warm_up(impl: str) -> None:
    """Import what is loaded lazily (schema checks, the writers): not part of any figure."""
    with contextlib.suppress(ImportError):
        if impl == "project":
            import jsonschema  # noqa: F401

            import blissdata_writer.scan_writer  # noqa: F401
        elif impl == "reference":
            import blisswriter.scan_writer  # noqa: F401


def serve(impl: str) -> None:
    """Answer requests until stdin closes."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    if impl != "raw":
        Client(impl)  # import the client once, outside any timing
    _warm_up(impl)
    channel.write(json.dumps({"ready": impl, "python": sys.version.split()[0]}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        try:
            result = TASKS[request["task"]](impl, request["url"], **request["params"])
            result.pop("scan_key", None)
            answer = {"ok": True, "result": result}
        except Exception as exc:
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
        channel.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=["project", "reference", "raw"])
    serve(parser.parse_args().impl)
