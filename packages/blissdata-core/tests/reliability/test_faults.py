"""Faults: the server killed, restarted empty or stalled under a producer and readers.

Each test has its own server (ports 17000-17099) and kills or pauses it.
Durations are measured and printed (``-s``), never asserted: a guard only
checks that nothing hangs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import redis

from blissdata_core import (
    BlissdataError,
    DatabaseNotInitialisedError,
    DataStore,
    NoScanAvailable,
    PublishError,
    ScanState,
    ServerConnectionError,
    Stream,
)

pytestmark = pytest.mark.reliability

#: A hang guard, far above any expected duration (this is not a timing assertion).
HANG_GUARD = 120.0
SOCKET_TIMEOUT = 2.0


def within_guard(func: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """Run ``func`` in a thread: (result, exception, seconds); fails if it hangs."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = func()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), f"{func} hung for {HANG_GUARD} s"
    return box.get("result"), box.get("error"), time.monotonic() - start


def new_scan(store: DataStore, number: int = 1, **streams: Any):
    scan = store.create_scan({"name": "fault", "number": number, "data_policy": "no_policy"})
    made = {}
    for name, (dtype, shape) in (streams or {"x": ("float64", ())}).items():
        made[name] = scan.create_stream(Stream.make_definition(name, dtype, shape))
    scan.prepare()
    scan.start()
    return scan, made


# --- the server killed mid-publication ---------------------------------------------


@pytest.fixture
def durable_server(private_server):
    """Every acknowledged write is on disk before the reply (AOF, fsync always)."""
    server = private_server(["--appendonly", "yes", "--appendfsync", "always"])
    DataStore(server.url, init_db=True).close()
    return server


def test_killed_mid_publication(durable_server):
    store = DataStore(durable_server.url, socket_timeout=SOCKET_TIMEOUT, send_timeout=10)
    scan, streams = new_scan(store)
    x = streams["x"]
    joined = 0
    for i in range(200):
        x.send(float(i))
    x.join()
    joined = 200
    stop = threading.Event()
    sent = [joined]

    def produce():
        i = joined
        try:
            while not stop.is_set():
                x.send(float(i))
                i += 1
                sent[0] = i
        except BlissdataError as exc:
            return exc
        return None

    producer = threading.Thread(target=lambda: sent.append(produce()), daemon=True)
    producer.start()
    time.sleep(0.3)  # publishing at full speed
    durable_server.kill()
    killed_at = time.monotonic()
    producer.join(HANG_GUARD)
    stop.set()
    assert not producer.is_alive()
    send_error = sent[1]
    send_delay = time.monotonic() - killed_at
    assert isinstance(send_error, PublishError), send_error

    _, join_error, join_s = within_guard(x.join)
    _, seal_error, seal_s = within_guard(x.seal)
    _, stop_error, stop_s = within_guard(scan.stop)
    for error in (join_error, seal_error, stop_error):
        assert isinstance(error, (PublishError, ServerConnectionError)), repr(error)
    print(
        f"\nkilled mid-publication: send raised after {send_delay:.2f} s, join {join_s:.2f} s, "
        f"seal {seal_s:.2f} s, stop {stop_s:.2f} s ({sent[0]} points sent)"
    )

    # The error reports how many points the server acknowledged.
    import re

    match = re.search(r"after (\d+) acknowledged point", str(send_error))
    assert match, str(send_error)
    acknowledged = int(match[1])
    assert joined <= acknowledged <= sent[0]

    durable_server.start()  # same port and directory: the AOF is replayed
    with DataStore(durable_server.url) as reader:
        stream = reader.load_scan(scan.key).streams["x"]
        stored = len(stream)
        assert stored >= acknowledged, "an acknowledged point was lost"
        assert np.array_equal(stream[:stored], np.arange(stored, dtype=float))
    print(f"acknowledged {acknowledged}, on the server after restart {stored}")

    # the same DataStore (and a new one) publish a new scan after the restart
    for each in (store, DataStore(durable_server.url)):
        scan2, streams2 = new_scan(each, number=2)
        streams2["x"].send(np.arange(10.0))
        scan2.stop()
        scan2.close()
        with DataStore(durable_server.url) as reader:
            assert np.array_equal(reader.load_scan(scan2.key).streams["x"][:], np.arange(10.0))
        each.close()


def test_killed_while_idle_then_restarted(fault_server):
    """A producer that was idle when the server died learns it at its next call."""
    store = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT, send_timeout=10)
    scan, streams = new_scan(store)
    streams["x"].send(1.0)
    streams["x"].join()
    fault_server.kill()
    streams["x"].send(2.0)  # queued: the failure comes back through join/seal
    _, join_error, _ = within_guard(streams["x"].join)
    assert isinstance(join_error, PublishError)
    _, error, _ = within_guard(lambda: store.load_scan(scan.key))
    assert isinstance(error, ServerConnectionError)
    _, error, _ = within_guard(lambda: DataStore(fault_server.url))
    assert isinstance(error, ServerConnectionError)
    store.close()


# --- restarted empty -----------------------------------------------------------------


def test_restarted_empty(fault_server):
    store = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT)
    scan, streams = new_scan(store)
    streams["x"].send(np.arange(5.0))
    scan.stop()
    scan.close()
    reader = DataStore(fault_server.url)
    follower = reader.load_scan(scan.key)
    running, running_streams = new_scan(store, number=2)
    running_streams["x"].send(1.0)
    running_streams["x"].join()
    streamless = store.create_scan({"name": "nostream", "number": 4, "data_policy": "no_policy"})
    fault_server.kill()
    fault_server.start()  # no persistence: an empty database
    # a producer that goes on publishing writes nothing into the empty database
    running_streams["x"].send(2.0)
    _, error, _ = within_guard(running_streams["x"].join)
    assert isinstance(error, PublishError) and "protocol key" in str(error), repr(error)

    with pytest.raises(DatabaseNotInitialisedError):
        DataStore(fault_server.url)
    calls = {
        "load_scan": lambda: reader.load_scan(scan.key),
        "search_existing_scans": lambda: reader.search_existing_scans(name="fault"),
        "get_last_scan": reader.get_last_scan,
        "get_next_scan": lambda: reader.get_next_scan(since="0-0", timeout=0.5),
        "get_scans_state": lambda: reader.get_scans_state([scan.key]),
        "create_scan": lambda: store.create_scan(
            {"name": "after", "number": 2, "data_policy": "no_policy"}
        ),
        "scan.update": lambda: follower.update(block=False),
        "scan.prepare": streamless.prepare,
    }
    outcomes = {}
    for name, call in calls.items():
        _, error, _ = within_guard(call)
        outcomes[name] = type(error).__name__
        assert isinstance(error, DatabaseNotInitialisedError), (name, repr(error))
        assert not isinstance(error, KeyError), name
    print("\nrestarted empty:", outcomes)
    with redis.Redis.from_url(fault_server.url) as client:
        assert client.dbsize() == 0, "nothing was written into the uninitialised database"
    # once initialised again, the same clients work
    DataStore(fault_server.url, init_db=True).close()
    scan2, streams2 = new_scan(store, number=3)
    streams2["x"].send(1.0)
    scan2.stop()
    scan2.close()
    assert reader.load_scan(scan2.key).state is ScanState.CLOSED
    store.close()
    reader.close()


# --- stalled server -----------------------------------------------------------------


def test_stalled_server_blocking_reads_honour_timeouts(fault_server):
    producer = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT, send_timeout=10)
    scan, streams = new_scan(producer)
    streams["x"].send(np.arange(3.0))
    streams["x"].join()
    reader = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT)
    follower = reader.load_scan(scan.key)
    stream = follower.streams["x"]
    cursor = stream.cursor()
    assert len(cursor.read(timeout=1)) == 3
    since = reader.get_last_scan_timetag()

    fault_server.pause()
    try:
        timeout = 1.0
        calls = {
            "cursor.read": lambda: cursor.read(timeout=timeout),
            "scan.update": lambda: follower.update(timeout=timeout),
            "get_next_scan": lambda: reader.get_next_scan(since=since, timeout=timeout),
            "wait_seal": lambda: stream.wait_seal(timeout),
            "load_scan": lambda: reader.load_scan(scan.key),
            "len(stream)": lambda: len(stream),
            "send+join": lambda: (streams["x"].send(9.0), streams["x"].join()),
        }
        report = {}
        for name, call in calls.items():
            result, error, seconds = within_guard(call)
            report[name] = (round(seconds, 2), type(error).__name__ if error else repr(result))
            if error is not None:
                assert isinstance(error, (ServerConnectionError, PublishError, NoScanAvailable)), (
                    name,
                    repr(error),
                )
            else:  # a blocking read may also just time out empty
                assert name in ("cursor.read", "scan.update", "wait_seal"), name
                assert result in (None, False), (name, result)
        print("\nstalled server (seconds, outcome):", report)
    finally:
        fault_server.resume()

    # after the stall everything works again, on the same objects
    fresh = DataStore(fault_server.url)
    scan2, streams2 = new_scan(fresh, number=2)
    streams2["x"].send(np.arange(4.0))
    scan2.stop()
    scan2.close()
    assert np.array_equal(reader.load_scan(scan2.key).streams["x"][:], np.arange(4.0))
    assert reader.get_next_scan(since=since, timeout=5)[1] == scan2.key
    for each in (producer, reader, fresh):
        each.close()


def test_readers_blocked_forever_wake_up_when_the_server_dies(fault_server):
    """``timeout=0`` blocks until data comes; a dead server ends the wait with an error."""
    producer = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT)
    scan, streams = new_scan(producer)
    streams["x"].send(np.arange(3.0))
    streams["x"].join()
    reader = DataStore(fault_server.url, socket_timeout=SOCKET_TIMEOUT)
    follower = reader.load_scan(scan.key)
    cursor = follower.streams["x"].cursor()
    assert len(cursor.read(timeout=1)) == 3
    since = reader.get_last_scan_timetag()
    waits = {
        "cursor.read": lambda: cursor.read(timeout=0),
        "scan.update": lambda: follower.update(timeout=0),
        "get_next_scan": lambda: reader.get_next_scan(since=since, timeout=0),
        "wait_seal": lambda: follower.streams["x"].wait_seal(0),
    }
    boxes: dict[str, dict] = {name: {} for name in waits}
    threads = []
    for name, call in waits.items():

        def target(call=call, box=boxes[name]):
            try:
                box["result"] = call()
            except BaseException as exc:  # noqa: BLE001
                box["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        threads.append(thread)
    time.sleep(0.5)  # all four are blocked in the server now
    assert all(thread.is_alive() for thread in threads)
    killed_at = time.monotonic()
    fault_server.kill()
    for thread in threads:
        thread.join(HANG_GUARD)
        assert not thread.is_alive(), "a blocked reader hung on a dead server"
    seconds = time.monotonic() - killed_at
    outcome = {name: type(box.get("error")).__name__ for name, box in boxes.items()}
    print(f"\nblocked readers after the kill ({seconds:.2f} s): {outcome}")
    for name, box in boxes.items():
        assert isinstance(box.get("error"), ServerConnectionError), (name, box)
    producer.close()
    reader.close()
