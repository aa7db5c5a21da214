"""The writer's read-ahead thread: every read handed over in order, errors too, prompt stop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from blissdata_core import CursorGroup, EndOfStream
from blissdata_writer.readahead import ReadAhead


def test_reads_come_in_order_then_end_of_stream(data_store):
    from blissdata_core import Stream

    scan = data_store.create_scan({"name": "ra", "number": 1, "data_policy": "no_policy"})
    streams = [scan.create_stream(Stream.make_definition(n, "<f8", ())) for n in ("a", "b")]
    scan.prepare()
    scan.start()
    for i in range(50):
        for s in streams:
            s.send(np.arange(i * 10, i * 10 + 10, dtype="<f8"))
    for s in streams:
        s.seal()
    scan.stop()
    scan.close()
    got = {"a": [], "b": []}
    with ReadAhead(CursorGroup(data_store.load_scan(scan.key).streams.values()), 0.2) as reads:
        with pytest.raises(EndOfStream):
            while True:
                for stream, view in (reads.get(timeout=5) or {}).items():
                    got[stream.name].append(view.get_data())
    for name in got:
        np.testing.assert_array_equal(np.concatenate(got[name]), np.arange(500.0))


class _Failing:
    def __init__(self, error: BaseException):
        self.error = error

    def read(self, block: bool, timeout: float):
        raise self.error


class _Endless:
    """Always has a read ready: the reading thread fills the queue and waits."""

    def __init__(self):
        self.reads = 0

    def read(self, block: bool, timeout: float):
        self.reads += 1
        return {"s": self.reads}


def test_an_error_of_the_reading_is_raised_by_get():
    with ReadAhead(_Failing(ConnectionError("gone")), 0.2) as reads:
        with pytest.raises(ConnectionError, match="gone"):
            reads.get(timeout=5)
        with pytest.raises(RuntimeError):
            reads.get(timeout=5)


def test_reads_ahead_are_bounded_and_leaving_stops_the_thread():
    group = _Endless()
    with ReadAhead(group, 0.2) as reads:
        assert reads.get(timeout=5) == {"s": 1}
        assert reads.get(timeout=5) == {"s": 2}
        threading.Event().wait(0.3)
        assert group.reads <= 2 + 2 + 1  # handed over + queued + one waiting to be queued
    assert not any(
        t.name == "blissdata-writer-read" and t.is_alive() for t in threading.enumerate()
    )
