"""Why figure (e) of (a) at 10k points per send swings from run to run.

    python -m tools.bench.first_read [--passes 400]

Publishes the scan of that figure once (10 float64 counters, two sends of
10,000 points each, sealed), then reads it whole with a new ``CursorGroup``
per pass, as the benchmark does, in fresh processes of the project and of the
reference (blissdata 2.4.5): each process once with glibc's default malloc
settings and once with a raised mmap threshold, the state a process reaches
after it has freed a few large buffers (the benchmark's workers publish
before they read, so they are in it). Prints the best, 10th percentile and
median time of a pass, and the raw transfer of the same bytes (pipelined
commands sent, the reply received, nothing parsed) as the floor.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

#: The project's root: the readers run ``-m tools.bench.first_read`` from it.
ROOT = Path(__file__).resolve().parents[2]
WARM_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(8 * 2**20), "MALLOC_TRIM_THRESHOLD_": str(64 * 2**20)}


def reader(impl: str, url: str, key: str, passes: int) -> None:
    """In a fresh process of ``impl``'s venv: time ``passes`` passes of (e), print the figures."""
    from tools.bench.worker import Client, read_to_end

    client = Client(impl)
    streams = list(client.DataStore(url).load_scan(key).streams.values())
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        points = read_to_end(client, streams)
        times.append(time.perf_counter() - start)
    times.sort()
    print(points, times[0], times[len(times) // 10], times[len(times) // 2])


def publish(url: str) -> tuple[str, list[str]]:
    import numpy as np

    from blissdata_core import DataStore, Stream

    with DataStore(url, init_db=True) as store:
        scan = store.create_scan({"name": "first_read", "number": 1, "data_policy": "no_policy"})
        streams = [
            scan.create_stream(Stream.make_definition(f"counter{c}", "float64")) for c in range(10)
        ]
        scan.prepare()
        scan.start()
        for stream in streams:
            stream.send(np.arange(10_000.0))
            stream.send(np.arange(10_000.0, 20_000.0))
            stream.seal()
        scan.stop()
        scan.close()
        return scan.key, [s.key for s in streams]


def raw_transfer(url: str, keys: list[str], passes: int) -> float:
    """Best time to send the project's first-read pipeline and receive its reply, unparsed."""
    import redis

    from blissdata_core import protocol_commands as cmd
    from blissdata_core.streams.cursor import READ_BYTES, READ_COUNT

    window = READ_BYTES // 8  # float64 points, as a cursor's first read asks
    commands = [
        command
        for key in keys
        for command in (cmd.seal_entry(key), cmd.entries(key, 0, window - 1, count=READ_COUNT))
    ]
    conn = redis.ConnectionPool.from_url(url).get_connection()
    packed = b"".join(conn.pack_commands(commands))
    sock = conn._sock  # noqa: SLF001 - the floor: no client code at all
    buffer = memoryview(bytearray(8 * 2**20))
    sock.sendall(packed)  # learn the reply's size once
    time.sleep(0.5)
    size = 0
    sock.setblocking(False)
    try:
        while True:
            size += sock.recv_into(buffer[size:])
    except BlockingIOError:
        pass
    sock.setblocking(True)
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        sock.sendall(packed)
        got = 0
        while got < size:
            got += sock.recv_into(buffer[got:])
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=400)
    parser.add_argument("--reader", nargs=3, metavar=("IMPL", "URL", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        reader(*args.reader, args.passes)
        return

    from blissdata_core.server import EmbeddedRedis
    from blissdata_core.testing import ReferenceUnavailable, reference_python_path

    pythons = {"project": sys.executable}
    try:
        pythons["reference"] = str(reference_python_path())
    except ReferenceUnavailable as exc:
        print(f"reference unavailable: {exc}")
    with EmbeddedRedis() as server:
        key, keys = publish(server.url)
        print(
            f"{'reader':10} {'malloc':8} {'points':>7} {'best ms':>8} {'p10 ms':>7} {'median ms':>9}"
        )
        for impl, python in pythons.items():
            for malloc, env in (("default", {}), ("warm", WARM_MALLOC)):
                out = subprocess.run(
                    [python, "-m", "tools.bench.first_read", "--passes", str(args.passes),
                     "--reader", impl, server.url, key],
                    env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True,
                    check=True,
                )  # fmt: skip
                points, best, p10, median = out.stdout.split()
                print(f"{impl:10} {malloc:8} {points:>7} {float(best) * 1e3:8.3f}"
                      f" {float(p10) * 1e3:7.3f} {float(median) * 1e3:9.3f}")  # fmt: skip
        floor = raw_transfer(server.url, keys, args.passes)
        print(f"raw transfer of the same reply, unparsed: best {floor * 1e3:.3f} ms")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
