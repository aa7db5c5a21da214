"""The client in a gevent-monkey-patched process, as in BLISS and Flint.

Each test runs a child Python that calls ``gevent.monkey.patch_all()`` first
thing, so the result does not depend on how this test process was started.
The whole suite also runs patched: ``nox -s gevent``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("gevent", reason="gevent is not installed")

#: The child must be done well within this (it takes a few seconds): a hang at
#: exit, or a starved greenlet that never wakes, shows as a timeout.
CHILD_TIMEOUT = 120

PRODUCER_AND_READER = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import json
    import sys
    import threading
    import time

    import gevent
    import numpy as np

    from blissdata_core import CursorGroup, DataStore, EndOfStream, NoScanAvailable, Stream

    url, npoints = sys.argv[1], int(sys.argv[2])
    t0 = time.monotonic()
    store = DataStore(url)
    scan = store.create_scan({"name": "gevent", "number": 1, "data_policy": "no_policy"})
    writers = {
        "x": scan.create_stream(Stream.make_definition("x", "float64")),
        "i": scan.create_stream(Stream.make_definition("i", "int32")),
        "spectrum": scan.create_stream(Stream.make_definition("spectrum", "uint16", (256,))),
        "meta": scan.create_stream(Stream.make_definition("meta", "json")),
    }
    scan.prepare()
    scan.start()
    produced = [0]
    report = {"reads_while_producing": 0, "live_slice_ok": None}


    def producer():
        # busy: never sleeps nor waits between points
        for k in range(npoints):
            writers["x"].send(k * 0.5)
            writers["i"].send(k)
            writers["spectrum"].send(np.full(256, k % 65536, np.uint16))
            writers["meta"].send({"k": k})
            produced[0] = k + 1
        report["produce_s"] = time.monotonic() - t0
        scan.stop()
        scan.close()


    def reader():
        # Flint-like: a DataStore of its own, blocking reads until every stream is sealed
        with DataStore(url) as rstore:
            rscan = rstore.load_scan(scan.key)
            group = CursorGroup(rscan.streams)
            got = {name: [] for name in writers}
            while True:
                try:
                    views = group.read(timeout=30)
                except EndOfStream:
                    break
                if produced[0] < npoints:
                    report["reads_while_producing"] += 1
                    if report["live_slice_ok"] is None:
                        # a slice of what has arrived, while the scan is written
                        n = group.position[rscan.streams["x"]]
                        live = rscan.streams["x"][:n]
                        report["live_slice_ok"] = bool(
                            n > 0 and np.array_equal(live, np.arange(n) * 0.5)
                        )
                for stream, view in views.items():
                    got[stream.name].append(view.get_data())
            assert not group.skipped, group.skipped
            x = np.concatenate(got["x"])
            i = np.concatenate(got["i"])
            spectrum = np.concatenate(got["spectrum"])
            meta = [e for batch in got["meta"] for e in batch]
            k = np.arange(npoints)
            report["counts"] = {n: len(v) for n, v in
                                (("x", x), ("i", i), ("spectrum", spectrum), ("meta", meta))}
            report["values_ok"] = bool(
                np.array_equal(x, k * 0.5)
                and np.array_equal(i, k)
                and np.array_equal(spectrum[:, 0], k % 65536)
                and np.array_equal(spectrum[:, -1], k % 65536)
                and meta == [{"k": int(j)} for j in k]
            )
            streams = rscan.streams
            report["slices_ok"] = bool(
                np.array_equal(streams["x"][100:200:3], k[100:200:3] * 0.5)
                and np.array_equal(streams["i"][-7:], k[-7:])
                and np.array_equal(streams["spectrum"][5:8][:, 17], k[5:8])
                and streams["meta"][3] == {"k": 3}
                and len(streams["x"]) == npoints
            )


    def watcher():
        # a Flint-like scan watcher, still blocked on the server when the process exits
        with DataStore(url) as wstore:
            since = None
            while True:
                try:
                    since, _ = wstore.get_next_scan(since=since)
                except NoScanAvailable:
                    pass


    threading.Thread(target=watcher, daemon=True).start()
    greenlets = [gevent.spawn(reader), gevent.spawn(producer)]
    gevent.joinall(greenlets, timeout=90, raise_error=True)
    assert all(g.dead for g in greenlets), "producer or reader still running after 90 s"

    # Data sent just before the end and never joined: flushed at exit.
    tail = store.create_scan({"name": "gevent-tail", "number": 2, "data_policy": "no_policy"})
    t = tail.create_stream(Stream.make_definition("t", "int64"))
    tail.prepare()
    tail.start()
    for k in range(5000):
        t.send(k)
    report["tail_key"] = tail.key
    report["total_s"] = time.monotonic() - t0
    print(json.dumps(report), flush=True)
    """
)


def run_child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the gevent child hung (> {CHILD_TIMEOUT} s); stderr:\n{exc.stderr}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_publish_and_read_live_under_gevent(redis_url, data_store):
    npoints = 20000
    proc = run_child(PRODUCER_AND_READER, redis_url, str(npoints))
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\ngevent child: {report}")
    assert report["counts"] == dict.fromkeys(("x", "i", "spectrum", "meta"), npoints)
    assert report["values_ok"] and report["slices_ok"]
    # the reader greenlet ran while the busy producer was still sending
    assert report["reads_while_producing"] > 0
    assert report["live_slice_ok"] is True
    # everything sent before the end of the program arrived (flushed at exit)
    tail = data_store.load_scan(report["tail_key"]).streams["t"]
    assert len(tail) == 5000
    assert np.array_equal(tail[:], np.arange(5000))


QUEUE_FULL = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import sys

    import numpy as np

    from blissdata_core import DataStore, Stream

    # A queue bound far below what is sent: send() must wait for the sender
    # greenlet instead of failing or blocking the hub.
    store = DataStore(sys.argv[1], max_queued_bytes=256 * 1024, send_timeout=30)
    scan = store.create_scan({"name": "full", "number": 1, "data_policy": "no_policy"})
    frames = scan.create_stream(Stream.make_definition("frames", "uint8", (256, 256)))
    scan.prepare()
    scan.start()
    for k in range(300):
        frames.send(np.full((256, 256), k % 256, np.uint8))
    frames.join()
    print(scan.key, flush=True)
    # no stop, no close: the exit must not hang on the live sender greenlet
    """
)


def test_bounded_queue_under_gevent(redis_url, data_store):
    proc = run_child(QUEUE_FULL, redis_url)
    stream = data_store.load_scan(proc.stdout.split()[-1]).streams["frames"]
    assert len(stream) == 300
    assert stream[299][0, 0] == 299 % 256


NOT_PATCHED = textwrap.dedent(
    """
    import sys

    from blissdata_core import DataStore, Stream
    from blissdata_core.streams import publisher

    store = DataStore(sys.argv[1])
    scan = store.create_scan({"name": "plain", "number": 1, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    scan.start()
    x.send(1.0)
    x.join()
    assert "gevent" not in sys.modules, "blissdata_core imported gevent"
    import gevent  # imported but not patched: the sender stays an OS thread

    assert publisher._greenlet_yield() is None
    print("ok")
    """
)


def test_gevent_never_imported_by_the_client(redis_url):
    assert run_child(NOT_PATCHED, redis_url).stdout.strip() == "ok"


INTERRUPTED_SENDS = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import sys

    import gevent

    from blissdata_core import DataStore, Stream

    # Every send() runs under a timeout that fires at its first switch: a send
    # that raised must have queued nothing (the caller sends the point again),
    # one that returned queued its point.
    store = DataStore(sys.argv[1])
    scan = store.create_scan({"name": "timeouts", "number": 1, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "int64"))
    scan.prepare()
    scan.start()
    value = interrupted = 0
    while value < 2000:
        try:
            with gevent.Timeout(0):
                x.send(value)
        except gevent.Timeout:
            interrupted += 1
            continue
        value += 1
    x.join()
    print(scan.key, interrupted, flush=True)
    """
)


def test_send_interrupted_by_a_gevent_timeout_queues_nothing(redis_url, data_store):
    key, interrupted = run_child(INTERRUPTED_SENDS, redis_url).stdout.split()[-2:]
    print(f"\n{interrupted} sends interrupted")
    stream = data_store.load_scan(key).streams["x"]
    assert np.array_equal(stream[:], np.arange(2000))  # none lost, none doubled
