"""Latency of ``blissdata-h5 serve``'s endpoints, on a running scan and on a written one.

Usage: ``python -m tools.bench.serve_latency [--points 200] [--requests 50]``
(needs blissdata-h5[web]). Starts the embedded Redis (or uses
``$BLISSDATA_REDIS_URL``, whose database it writes to) and the ``serve`` command,
and prints the median time of each request as H5Web sends it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import nullcontext

import numpy as np

from blissdata_core import DataStore
from blissdata_writer.producer import create_scan
from blissdata_writer.scan_writer import ScanWriter

DIODE = "/1.1/measurement/diode1"
REQUESTS = [
    ("meta", {"path": DIODE}),
    ("meta", {"path": "/1.1"}),
    ("data", {"path": DIODE, "format": "bin", "dtype": "safe"}),
    ("stats", {"path": DIODE}),
    ("paths", {"path": "/"}),
    ("version", {}),
]


def running_scan(data_store: DataStore, path: str, points: int):
    scan, _, _ = create_scan(
        data_store, "ascan", npoints=points * 2, count_time=0, path=path, detectors=["diode"]
    )
    scan.prepare()
    scan.start()
    for stream in scan.streams.values():
        stream.send(np.arange(points, dtype=float))
        stream.join()
    return scan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    url = os.environ.get("BLISSDATA_REDIS_URL")
    if url:
        server = nullcontext()
    else:
        from blissdata_core.server import EmbeddedRedis

        server = EmbeddedRedis()
    with server as embedded, tempfile.TemporaryDirectory() as root:
        url = url or embedded.url
        data_store = DataStore(url, init_db=not os.environ.get("BLISSDATA_REDIS_URL"))
        running_scan(data_store, os.path.join(root, "live.h5"), args.points)
        done = running_scan(data_store, os.path.join(root, "done.h5"), args.points)
        done.stop()
        done.close()
        ScanWriter(data_store, done.key).run()
        proc = subprocess.Popen(
            [sys.executable, "-m", "blissdata_h5.cli", "serve", url, "--root", root],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            base = proc.stdout.readline().strip()
            for file, label in (("live.h5", "running scan"), ("done.h5", "written scan")):
                for endpoint, params in REQUESTS:
                    query = urllib.parse.urlencode({"file": file, **params})
                    times = []
                    for _ in range(args.requests):
                        start = time.perf_counter()
                        with urllib.request.urlopen(f"{base}/{endpoint}?{query}") as reply:
                            reply.read()
                        times.append(time.perf_counter() - start)
                    shown = " ".join(f"{k}={v}" for k, v in params.items())
                    median = statistics.median(times) * 1e3
                    print(f"{label:13} /{endpoint:8} {shown:45} median {median:6.1f} ms")
        finally:
            proc.terminate()
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
