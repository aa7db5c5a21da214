"""A producer faster than Redis never grows the client's publishing queue without limit.

``DataStore(max_queued_bytes=...)`` bounds the bytes waiting for the server's
acknowledgement: ``send()`` blocks while the queue is full and raises
:class:`PublishQueueFull` after ``send_timeout`` seconds.  The tests flood a
private server (draining, then paused with SIGSTOP) and watch both the queue
and the process RSS (read from ``/proc/self/status``; psutil is not a
dependency).  On the consumer side, a cursor catching up on a large backlog
reads it in replies of a few MB, not all at once.  Nothing here asserts on
durations.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from blissdata_core import DataStore, EndOfStream, PublishQueueFull, Stream
from blissdata_core.server import EmbeddedRedis

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the RSS from /proc/self/status"
)

MB = 2**20
BOUND = 8 * MB
FRAME = (512, 1024)  # uint16: 1 MB a point
#: What the flood offers in total: far more than the bound, so an unbounded
#: queue would show in the RSS.
FLOOD_BYTES = 512 * MB
#: Allowed RSS growth while flooding: the bound, the producer's own frames and
#: allocator slack; an unbounded queue would need FLOOD_BYTES.
RSS_ALLOWANCE = BOUND + 128 * MB


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@pytest.fixture
def server(redis_server_factory: Callable[..., EmbeddedRedis]) -> Iterator[EmbeddedRedis]:
    """A private server this test may pause; resumed (if paused) before it is closed."""
    embedded = redis_server_factory()  # a port of its own (pytest-xdist workers run side by side)
    try:
        yield embedded
    finally:
        embedded.resume()


class QueueWatch:
    """Samples the publisher's queued bytes and the RSS from a thread, keeping the maxima."""

    def __init__(self, store: DataStore):
        self._publisher = store.runtime.publisher
        self.max_queued = 0
        self.rss_start = rss_bytes()
        self.max_rss = self.rss_start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        self.max_queued = max(self.max_queued, self._publisher.queued_bytes)
        self.max_rss = max(self.max_rss, rss_bytes())

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[QueueWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self.sample()

    @property
    def rss_growth(self) -> int:
        return self.max_rss - self.rss_start


def _frames(count: int = 4) -> list[np.ndarray]:
    return [np.full(FRAME, i, dtype=np.uint16) for i in range(count)]


def _new_stream(store: DataStore, number: int = 1):
    scan = store.create_scan({"name": "flood", "number": number, "data_policy": "no_policy"})
    stream = scan.create_stream(Stream.make_definition("frames", "uint16", FRAME))
    scan.prepare()
    scan.start()
    return scan, stream


def test_flood_against_a_draining_server_stays_within_the_bound(server: EmbeddedRedis):
    DataStore(server.url, init_db=True).close()
    frames = _frames()
    npoints = FLOOD_BYTES // frames[0].nbytes
    with DataStore(server.url, max_queued_bytes=BOUND, send_timeout=120.0) as store:
        scan, stream = _new_stream(store)
        with QueueWatch(store).running() as watch:
            for i in range(npoints):
                stream.send(frames[i % len(frames)])
                watch.sample()
            total = stream.seal()
        scan.stop()
        scan.close()
    assert total == npoints
    assert 0 < watch.max_queued <= BOUND
    assert watch.rss_growth < RSS_ALLOWANCE, (
        f"RSS grew by {watch.rss_growth / MB:.0f} MB while {FLOOD_BYTES / MB:.0f} MB were "
        f"published through a {BOUND / MB:.0f} MB queue"
    )
    with DataStore(server.url) as reader:
        back = reader.load_scan(scan.key).streams["frames"]
        assert len(back) == npoints
        assert np.array_equal(back[npoints - 1], frames[(npoints - 1) % len(frames)])


@pytest.mark.reliability
def test_send_raises_publish_queue_full_when_the_server_does_not_drain(server: EmbeddedRedis):
    DataStore(server.url, init_db=True).close()
    frames = _frames()
    store = DataStore(server.url, max_queued_bytes=BOUND, send_timeout=0.5)
    try:
        scan, stream = _new_stream(store)
        stream.send(frames[0])
        stream.join()
        server.pause()
        sent = 0
        with QueueWatch(store).running() as watch:
            with pytest.raises(PublishQueueFull):
                for i in range(FLOOD_BYTES // frames[0].nbytes):
                    stream.send(frames[i % len(frames)])
                    sent += 1
                    watch.sample()
        # send() refused the rest: at most the bound was taken while the server slept
        assert sent * frames[0].nbytes <= BOUND
        assert watch.max_queued <= BOUND
        assert watch.rss_growth < RSS_ALLOWANCE
        server.resume()
        # once the server answers again, what was accepted is delivered in order
        assert stream.seal() == 1 + sent
        scan.stop()
        scan.close()
    finally:
        server.resume()
        store.close()


def test_a_point_larger_than_the_bound_is_still_sent_alone(server: EmbeddedRedis):
    """The bound is on what waits: one oversized point passes when the queue is empty."""
    DataStore(server.url, init_db=True).close()
    big = np.zeros((4, *FRAME), dtype=np.uint16)  # 4 MB > 1 MB bound
    with DataStore(server.url, max_queued_bytes=MB, send_timeout=30.0) as store:
        scan, stream = _new_stream(store)
        stream.send(big)
        stream.send(big)
        assert stream.seal() == 8
        scan.stop()
        scan.close()


SPECTRUM = (4096,)  # float32: 16 kB a point, merged into large entries by the publisher
BACKLOG_BYTES = 256 * MB
#: Allowed RSS growth while a cursor reads the backlog: a few replies of a
#: couple of MB and their decoded views; fetching 100 merged entries a reply
#: would need hundreds of MB.
READER_RSS_ALLOWANCE = 64 * MB


def test_a_cursor_reads_a_large_backlog_in_small_replies(server: EmbeddedRedis):
    """The consumer side: catching up on a big sealed stream does not hold it all at once."""
    DataStore(server.url, init_db=True).close()
    spectra = [np.full(SPECTRUM, i, dtype=np.float32) for i in range(4)]
    npoints = BACKLOG_BYTES // spectra[0].nbytes
    # a small publishing queue, so the producer does not leave a big heap behind
    with DataStore(server.url, max_queued_bytes=BOUND) as store:
        scan = store.create_scan({"name": "backlog", "number": 1, "data_policy": "no_policy"})
        stream = scan.create_stream(Stream.make_definition("spectrum", "float32", SPECTRUM))
        scan.prepare()
        scan.start()
        for i in range(npoints):
            stream.send(spectra[i % len(spectra)])
        scan.stop()
        scan.close()
    with DataStore(server.url) as store:
        cursor = store.load_scan(scan.key).streams["spectrum"].cursor()
        rss_start = max_rss = rss_bytes()
        read = 0
        while True:
            try:
                view = cursor.read()
            except EndOfStream:
                break
            data = view.get_data()
            assert data[-1][0] == (view.index + len(view) - 1) % len(spectra)
            read += len(data)
            max_rss = max(max_rss, rss_bytes())  # while the view's data is alive
            del view, data
    assert read == npoints
    assert max_rss - rss_start < READER_RSS_ALLOWANCE, (
        f"RSS grew by {(max_rss - rss_start) / MB:.0f} MB reading {BACKLOG_BYTES / MB:.0f} MB"
    )
