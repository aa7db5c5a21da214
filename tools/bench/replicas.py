"""Readers on replicas (issue #18): what following readers cost the primary.

One producer publishes at a fixed rate into a primary while 0, 10 and 50
readers follow every stream, reading from the primary itself, from one
replica, or from the second replica of a chain (primary -> replica ->
replica).  For each case it prints:

- primary CPU seconds (INFO cpu, user + sys, of the primary's process) per MB
  published, and its ratio to the no-reader case of the same topology;
- the rate the producer achieved (points/s of each stream);
- send-to-receive latency p50/p99 at the readers (a point carries its send time);
- whether every reader got every point exactly once.

Run (about 2-3 minutes on 2 cores, servers embedded)::

    python -m tools.bench.replicas                 # all cases
    python -m tools.bench.replicas --readers 0 50 --topology primary replica --seconds 5

The target of issue #18: with readers on replicas, primary CPU/MB at 50
readers within 10 % of the no-reader case.  Readers run in a few processes
(``--reader-procs``), several readers (threads, each its own connection) in each.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import threading
import time
from typing import Any

import numpy as np

SPECTRUM = 256  # float64 values of the array stream's point: 2 KiB


def _wait_scan(url: str, key: str, deadline: float) -> Any:
    from blissdata_core import DataStore, ScanState

    store = DataStore(url, read_only=True)
    while True:
        try:
            scan = store.load_scan(key)
            while scan.state < ScanState.PREPARED:
                scan.update(timeout=1)
            return store, scan
        except Exception:  # noqa: BLE001 - not replicated yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _reader(url: str, key: str, ready: Any, out: dict, index: int) -> None:
    from blissdata_core import CursorGroup, EndOfStream

    store, scan = _wait_scan(url, key, time.monotonic() + 120)
    group = CursorGroup(scan.streams)
    ready.set()
    stamps: list[float] = []
    lat: list[float] = []
    counts = {name: 0 for name in scan.streams}
    while True:
        try:
            views = group.read(timeout=5)
        except EndOfStream:
            break
        now = time.time()
        for stream, view in views.items():
            counts[stream.name] += len(view)
            if stream.name == "t":
                data = view.get_data()
                stamps.extend(data.tolist())
                lat.extend((now - data).tolist())
            else:
                view.get_data()
    store.close()
    out[index] = (stamps, lat, counts)


def _reader_proc(url: str, key: str, n: int, ready: Any, queue: Any) -> None:
    out: dict = {}
    events = [threading.Event() for _ in range(n)]
    threads = [
        threading.Thread(target=_reader, args=(url, key, events[i], out, i), daemon=True)
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for e in events:
        e.wait(120)
    ready.release()
    for t in threads:
        t.join()
    queue.put(list(out.values()))


def _cpu(url: str) -> float:
    import redis

    with redis.Redis.from_url(url) as client:
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_case(primary: Any, read_url: str, readers: int, rate: float, seconds: float,
             reader_procs: int) -> dict:  # fmt: skip
    from blissdata_core import DataStore, Stream

    producer = DataStore(primary.url)
    scan = producer.create_scan({"name": "bench", "number": 1, "data_policy": "no_policy"})
    t = scan.create_stream(Stream.make_definition("t", "float64"))
    spec = scan.create_stream(Stream.make_definition("spectrum", "float64", (SPECTRUM,)))
    scan.prepare()
    scan.start()
    procs = []
    queue: Any = mp.Queue()
    ready = mp.Semaphore(0)
    nproc = min(reader_procs, readers)
    for p in range(nproc):
        n = readers // nproc + (1 if p < readers % nproc else 0)
        proc = mp.Process(target=_reader_proc, args=(read_url, scan.key, n, ready, queue))
        proc.start()
        procs.append(proc)
    for _ in procs:
        ready.acquire(timeout=180)
    npoints = int(rate * seconds)
    payload = np.random.default_rng(0).random(SPECTRUM)
    cpu0 = _cpu(primary.url)
    t0 = time.monotonic()
    for i in range(npoints):
        target = t0 + i / rate
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        t.send(time.time())
        spec.send(payload)
    t.join()
    spec.join()
    elapsed = time.monotonic() - t0
    cpu = _cpu(primary.url) - cpu0
    t.seal()
    spec.seal()
    scan.stop()
    scan.close()
    results = []
    for _ in procs:
        results.extend(queue.get(timeout=300))
    for proc in procs:
        proc.join(60)
    producer.close()
    mb = npoints * (8 + SPECTRUM * 8) / 1e6
    lat = [x for _, lats, _ in results for x in lats]
    exact = all(
        len(stamps) == npoints and len(set(stamps)) == npoints and c["spectrum"] == npoints
        for stamps, _, c in results
    )
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    return {
        "cpu_per_mb": cpu / mb,
        "rate": npoints / elapsed,
        "p50_ms": q[49] * 1e3,
        "p99_ms": q[98] * 1e3,
        "exact": exact if readers else None,
        "readers_done": len(results),
    }


def main(argv: list[str] | None = None) -> int:
    from blissdata_core import DataStore
    from blissdata_core.server import EmbeddedRedis

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, nargs="+", default=[0, 10, 50])
    parser.add_argument(
        "--topology", nargs="+", default=["primary", "replica", "chain"],
        choices=["primary", "replica", "chain"],
    )  # fmt: skip
    parser.add_argument("--rate", type=float, default=200.0, help="points/s of each stream")
    parser.add_argument("--seconds", type=float, default=5.0, help="publication per case")
    parser.add_argument("--reader-procs", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"# {args.rate:g} points/s of 2 streams (float64 time stamp + {SPECTRUM} float64), "
        f"{args.seconds:g} s per case",
        flush=True,
    )
    header = (
        f"{'topology':9} {'readers':>7} {'cpu s/MB':>9} {'vs 0':>6} {'rate/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} exactly-once"
    )
    print(header, flush=True)
    ok = True
    for topology in args.topology:
        with EmbeddedRedis() as primary:
            DataStore(primary.url, init_db=True).close()
            servers = []
            try:
                read_url = primary.url
                if topology in ("replica", "chain"):
                    servers.append(EmbeddedRedis(replica_of=primary.url).start())
                    read_url = servers[-1].url
                if topology == "chain":
                    servers.append(EmbeddedRedis(replica_of=servers[-1].url).start())
                    read_url = servers[-1].url
                base = None
                for readers in args.readers:
                    r = run_case(primary, read_url, readers, args.rate, args.seconds,
                                 args.reader_procs)  # fmt: skip
                    if readers == 0:
                        base = r["cpu_per_mb"]
                    ratio = f"{r['cpu_per_mb'] / base:6.2f}" if base else "     -"
                    exact = {None: "-", True: "yes", False: "NO"}[r["exact"]]
                    ok &= r["exact"] is not False
                    print(
                        f"{topology:9} {readers:7d} {r['cpu_per_mb']:9.4f} {ratio} "
                        f"{r['rate']:8.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {exact}",
                        flush=True,
                    )
            finally:
                for server in reversed(servers):
                    server.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
