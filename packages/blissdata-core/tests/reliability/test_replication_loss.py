"""How many points asynchronous replication loses when the primary dies (issue #18).

Spec §13.1: the entries a primary acknowledged but had not yet sent to the
replica that is promoted are lost, at most the replication lag's worth. Here
the replica is stopped (SIGSTOP) so that the primary keeps acknowledging while
the bytes pile up in its output buffer, beyond what the sockets' kernel
buffers can hold; the primary is then killed and the replica promoted. The
test measures the loss and checks what the spec promises: the promoted server
holds a prefix of what was sent, no larger gap than the lag, and
``wait_for_replicas`` told the producer the truth before the crash.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import redis

from blissdata_core import DataStore, EndOfStream, Stream
from blissdata_core.replication import replication_info, replication_lag

pytestmark = pytest.mark.reliability

HANG_GUARD = 240
SIZE = 4096  # float32 spectra of 16 KiB
SAFE = 200  # points the replica acknowledged before it is stopped
#: Points sent while the replica is stopped: 48 MiB, several times what the
#: loopback sockets' buffers take, so that the rest stays in the primary.
UNSAFE = 3000


def spectrum(i: int) -> np.ndarray:
    return np.full(SIZE, i, dtype=np.float32)


@pytest.mark.timeout(900)
def test_points_acknowledged_while_the_replica_lags_die_with_the_primary(private_server):
    primary = private_server()
    DataStore(primary.url, init_db=True).close()
    replica = private_server(replica_of=primary.url)
    producer = DataStore(primary.url)
    scan = producer.create_scan({"name": "lag", "number": 1, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float32", (SIZE,)))
    scan.prepare()
    scan.start()
    for i in range(SAFE):
        x.send(spectrum(i))
    assert producer.wait_for_replicas(1, timeout=HANG_GUARD) == 1

    replica.pause()
    try:
        for i in range(SAFE, SAFE + UNSAFE):
            x.send(spectrum(i))
        x.join()  # acknowledged by the primary, every one of them
        # the producer is told the truth: no replica holds them
        assert producer.wait_for_replicas(1, timeout=1.0) == 0
        info = replication_info(producer.runtime.conn)
    finally:
        primary.kill()  # SIGKILL: what the primary had not sent is gone
        replica.resume()
    (lag,) = replication_lag(info)
    producer.close()

    promoted = redis.Redis.from_url(replica.url, socket_timeout=30)
    deadline = time.monotonic() + HANG_GUARD
    while True:  # the replica drains its socket, then finds its primary gone
        try:
            promoted.replicaof("NO", "ONE")
            break
        except redis.RedisError:
            assert time.monotonic() < deadline, "the replica never answered"
            time.sleep(0.2)

    with DataStore(replica.url, read_only=True) as reader:
        held = reader.load_scan(scan.key).streams["x"][:]
    lost = SAFE + UNSAFE - len(held)
    print(
        f"\nsent {SAFE + UNSAFE} points ({(SAFE + UNSAFE) * SIZE * 4 / 2**20:.0f} MiB), "
        f"replica unacknowledged lag {lag / 2**20:.1f} MiB at the crash; the promoted "
        f"replica holds {len(held)}: {lost} acknowledged points lost"
    )
    # a prefix of what was sent: every point before the crash's gap, each once, in order
    assert np.array_equal(held[:, 0], np.arange(len(held), dtype=np.float32))
    assert len(held) >= SAFE  # what wait_for_replicas confirmed survived
    assert lost > 0  # the primary's output buffer died with it
    assert lost * SIZE * 4 <= lag  # at most the lag's worth of entries

    # the scan is closed on the promoted server, as §13.1 advises; readers end there
    with DataStore(replica.url) as closer:
        late = closer.load_scan_for_writing(scan.key)
        late.adopt_writer_streams()
        late.close()
    with DataStore(replica.url, read_only=True) as reader:
        cursor = reader.load_scan(scan.key).streams["x"].cursor()
        read = 0
        while True:
            try:
                view = cursor.read(timeout=5)
            except EndOfStream:
                break
            if view is not None:
                read += len(view)
        assert read == len(held)
