"""50 readers (25 threads, 25 processes) on a scan published at full speed.

Every reader must see every point of every stream exactly once, in order.
The producer runs in its own process; its throughput with and without the
readers is measured and printed (``-s``), not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from blissdata_core import CursorGroup, DataStore, EndOfStream

pytestmark = pytest.mark.reliability

HERE = os.path.dirname(os.path.abspath(__file__))
NPOINTS = 200_000
THREAD_READERS = 25
PROCESS_READERS = 25

PRODUCER = r"""
import sys, time
import numpy as np
from blissdata_core import DataStore, Stream
url, npoints = sys.argv[1], int(sys.argv[2])
store = DataStore(url)
scan = store.create_scan({"name": "load", "number": 1, "data_policy": "no_policy"})
idx = scan.create_stream(Stream.make_definition("idx", "int64"))
vec = scan.create_stream(Stream.make_definition("vec", "float32", (8,)))
scan.prepare()
print(scan.key, flush=True)
sys.stdin.readline()  # go
scan.start()
points = [np.full(8, i, np.float32) for i in range(npoints)]
t0 = time.perf_counter()
for i in range(npoints):
    idx.send(i)
    vec.send(points[i])
idx.join(); vec.join()
elapsed = time.perf_counter() - t0
scan.stop(); scan.close(); store.close()
print(elapsed, flush=True)
"""


def drain(scan) -> dict[str, np.ndarray]:
    """Every stream of ``scan`` read to its end by one CursorGroup: the first
    value of each point (the point's index), concatenated per stream."""
    group = CursorGroup(scan.streams)
    got: dict[str, list] = {name: [] for name in scan.streams}
    while True:
        try:
            views = group.read(timeout=0)
        except EndOfStream:
            break
        for stream, view in views.items():
            data = np.asarray(view.get_data())
            got[stream.name].append(data if data.ndim == 1 else data[:, 0])
    return {
        name: np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
        for name, parts in got.items()
    }


# a reader process: the same drain(), imported from this file (PYTHONPATH: its directory)
READER = r"""
import json, sys
from blissdata_core import DataStore
from test_concurrent_readers import drain
store = DataStore(sys.argv[1])
scan = store.load_scan(sys.argv[2])
print("ready", flush=True)
out = {name: values.tolist() for name, values in drain(scan).items()}
print(json.dumps({name: [len(v), v == list(range(len(v)))] for name, v in out.items()}), flush=True)
"""


def read_all(url: str, key: str, ready: threading.Barrier, results: list) -> None:
    try:
        with DataStore(url) as store:
            scan = store.load_scan(key)
            ready.wait()
            got = drain(scan)
        results.append(
            {name: np.array_equal(values, np.arange(NPOINTS)) for name, values in got.items()}
        )
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        results.append(exc)


def run_producer(url: str, start_readers=None) -> float:
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, url, str(NPOINTS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        key = proc.stdout.readline().strip()
        assert key.startswith("esrf:scan:"), key
        finish = start_readers(key) if start_readers else None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        elapsed = float(proc.stdout.readline())
        assert proc.wait(120) == 0
        if finish:
            finish()
        return elapsed
    finally:
        if proc.poll() is None:
            proc.kill()


def test_fifty_readers_lose_and_duplicate_nothing(fault_server, record_property):
    url = fault_server.url
    baseline = run_producer(url)

    thread_results: list = []
    processes: list[subprocess.Popen] = []

    def start_readers(key: str):
        ready = threading.Barrier(THREAD_READERS + 1)
        threads = [
            threading.Thread(target=read_all, args=(url, key, ready, thread_results), daemon=True)
            for _ in range(THREAD_READERS)
        ]
        for thread in threads:
            thread.start()
        for _ in range(PROCESS_READERS):
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", READER, url, key],
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": HERE},
                )
            )
        for proc in processes:
            assert proc.stdout.readline().strip() == "ready"
        ready.wait(60)

        def finish():
            for thread in threads:
                thread.join(300)
                assert not thread.is_alive(), "a reader hung"

        return finish

    try:
        loaded = run_producer(url, start_readers)
        process_results = []
        for proc in processes:
            out, _ = proc.communicate(timeout=300)
            assert proc.returncode == 0
            process_results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()

    assert len(thread_results) == THREAD_READERS
    for result in thread_results:
        assert not isinstance(result, BaseException), repr(result)
        assert result == {"idx": True, "vec": True}
    for result in process_results:
        assert result == {"idx": [NPOINTS, True], "vec": [NPOINTS, True]}, result

    drop = 1 - baseline / loaded
    record_property("producer_alone_s", baseline)
    record_property("producer_with_50_readers_s", loaded)
    print(
        f"\nproducer, {NPOINTS} points x 2 streams: alone {baseline:.2f} s "
        f"({2 * NPOINTS / baseline:,.0f} points/s), with {THREAD_READERS} thread + "
        f"{PROCESS_READERS} process readers {loaded:.2f} s ({2 * NPOINTS / loaded:,.0f} points/s): "
        f"throughput drop {drop:.0%}"
    )
