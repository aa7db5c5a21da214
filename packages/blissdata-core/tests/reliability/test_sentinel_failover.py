"""A primary killed mid-scan, Sentinel promoting its replica (issue #18).

Specified (spec §13.1): the producer fails with a blissdata error or goes on;
readers following through a ``redis+sentinel://`` URL retry after
ServerConnectionError and end with the points the promoted server holds: a
prefix of what was sent, each point once, in order. Async replication may
lose the last points acknowledged by the dead primary: their number is printed.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from blissdata_core import DataStore, EndOfStream, Stream
from blissdata_core.errors import BlissdataError

pytestmark = pytest.mark.reliability

HANG_GUARD = 240


@pytest.fixture
def sentinel(private_server, private_sentinel):
    primary = private_server()
    DataStore(primary.url, init_db=True).close()
    replica = private_server(replica_of=primary.url)
    sentinel = private_sentinel(
        primary.url, down_after_ms=1000, failover_timeout_ms=10000, command=primary.command
    )
    assert sentinel.wait_for_replicas(1, HANG_GUARD) >= 1, "sentinel never saw the replica"
    return primary, replica, sentinel.url


def follow(url: str, key: str, box: dict) -> None:
    got: list[float] = []
    box["got"], box["errors"] = got, []
    store = cursor = None
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        try:
            if store is None:
                store = DataStore(url, read_only=True, socket_timeout=5)
            if cursor is None:
                cursor = store.load_scan(key).streams["x"].cursor()
            view = cursor.read(timeout=1)
            if view is not None:
                got.extend(view.get_data().tolist())
        except EndOfStream:
            box["ended"] = True
            break
        except BlissdataError as exc:
            # ServerConnectionError mostly; while Sentinel moves the primary a
            # reader opening the store may also meet a server that is not
            # serving the database yet: retried all the same, from its position
            box["errors"].append(type(exc).__name__)
            time.sleep(0.2)
    if store is not None:
        store.close()


@pytest.mark.timeout(900)
def test_primary_killed_mid_scan_replica_promoted(sentinel):
    primary, replica, url = sentinel
    producer = DataStore(url, socket_timeout=5)
    scan = producer.create_scan({"name": "sent", "number": 1, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    scan.start()
    # async replication loses whatever the replica had not read when the primary
    # died, the scan itself included: a producer that needs its scan to survive
    # waits for a replica (spec §13.1), and so does this test, for the scan only
    assert producer.wait_for_replicas(1, HANG_GUARD) >= 1, "the replica never caught up"
    box: dict = {}
    reader = threading.Thread(target=follow, args=(url, scan.key, box), daemon=True)
    reader.start()
    sent = 0
    for i in range(200):
        x.send(float(i))
        sent += 1
    x.join()
    primary.kill()
    producer_error = None
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:  # wait for the promotion
        try:
            role = replica.replication_info().get("role")
        except redis.ConnectionError:  # Sentinel kills the promoted server's clients
            role = None
        if role == "master":
            break
        time.sleep(0.2)
    assert replica.replication_info().get("role") == "master", "no failover"
    try:
        for i in range(200, 300):
            x.send(float(i))
        x.join()
        x.seal()
        scan.stop()
        scan.close()
    except BlissdataError as exc:
        producer_error = exc
        print(f"\nproducer failed: {type(exc).__name__}: {exc}")
    if producer_error is not None:
        # the producer could not go on: close the scan on the promoted primary
        deadline = time.monotonic() + HANG_GUARD
        while True:  # Sentinel names the new primary a moment after its promotion
            try:
                closer = DataStore(url)
                break
            except BlissdataError:  # not named yet, or not serving the database yet
                assert time.monotonic() < deadline, "Sentinel never named the new primary"
                time.sleep(0.5)
        late = closer.load_scan_for_writing(scan.key)
        late.adopt_writer_streams()
        late.close()
        closer.close()
    reader.join(HANG_GUARD)
    assert not reader.is_alive(), "the reader never ended"
    producer.close()
    got = box["got"]
    print(f"\nproducer: {type(producer_error).__name__ if producer_error else 'went on'}"
          f" ({producer_error}); reader errors {sorted(set(box['errors']))};"
          f" reader got {len(got)} points, {sent - len(got)} acknowledged ones lost")  # fmt: skip
    assert box.get("ended")
    assert got == sorted(set(got))  # each once, in order
    assert all(g == float(i) for i, g in enumerate(got))  # a prefix of what was sent
