"""Cursors and cursor groups: every point exactly once, in order, then EndOfStream."""

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_core import Cursor, CursorGroup, EndOfStream, IndexNoMoreThereError

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


def started(new_scan, **streams):
    scan, writers = new_scan(**streams)
    scan.prepare()
    scan.start()
    return scan, writers


def readers(data_store, scan):
    return data_store.load_scan(scan.key).streams


def drain(group, timeout=5):
    """Read a group to its end: {name: [(index, data)]}."""
    got = {}
    while True:
        try:
            views = group.read(timeout=timeout)
        except EndOfStream:
            return got
        for stream, view in views.items():
            got.setdefault(stream.name, []).append((view.index, view.get_data()))


def test_cursor_reads_everything_then_ends(data_store, new_scan):
    scan, w = started(new_scan, x="float64")
    w["x"].send(np.arange(3.0))
    w["x"].join()
    cursor = readers(data_store, scan)["x"].cursor()
    view = cursor.read()
    assert (view.index, len(view)) == (0, 3)
    assert view.get_data().tolist() == [0.0, 1.0, 2.0]
    assert view.get_data(1, 2).tolist() == [1.0]
    assert cursor.read(block=False) is None
    assert cursor.read(timeout=0.05) is None
    w["x"].send(3.0)
    w["x"].seal()
    view = cursor.read()
    assert (view.index, len(view)) == (3, 1)
    with pytest.raises(EndOfStream):
        cursor.read()
    with pytest.raises(EndOfStream):
        cursor.read(block=False)


def test_cursor_on_empty_sealed_stream(data_store, new_scan):
    scan, w = started(new_scan, x="float64")
    w["x"].seal()
    with pytest.raises(EndOfStream):
        Cursor(readers(data_store, scan)["x"]).read()


def test_blocking_read_wakes_on_data(data_store, new_scan):
    scan, w = started(new_scan, x="int64")
    cursor = readers(data_store, scan)["x"].cursor()
    result = {}

    def read():
        result["view"] = cursor.read(timeout=10)

    t = threading.Thread(target=read)
    t.start()
    w["x"].send(42)
    t.join(10)
    assert result["view"].get_data().tolist() == [42]


def test_last_only(data_store, new_scan):
    scan, w = started(new_scan, x="int64")
    w["x"].send(np.arange(10))
    w["x"].join()
    cursor = readers(data_store, scan)["x"].cursor()
    view = cursor.read(last_only=True)
    assert (view.index, len(view), view.get_data().tolist()) == (9, 1, [9])
    w["x"].send(np.arange(10, 15))
    w["x"].seal()
    view = cursor.read(last_only=True)
    assert view.get_data().tolist() == [14]
    with pytest.raises(EndOfStream):
        cursor.read(last_only=True)


def test_group_reads_many_streams(data_store, new_scan):
    scan, w = started(new_scan, a="float64", b=("uint8", (2,)), e="json")
    w["a"].send(np.arange(4.0))
    w["b"].send(np.ones((2, 2), "uint8"))
    w["e"].send({"k": 1})
    for s in w.values():
        s.seal()
    group = CursorGroup(readers(data_store, scan))
    got = drain(group)
    assert np.concatenate([d for _, d in got["a"]]).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert sum(len(d) for _, d in got["b"]) == 2
    assert got["e"] == [(0, [{"k": 1}])]
    with pytest.raises(EndOfStream):
        group.read()


def test_group_accepts_mapping_or_list(data_store, new_scan):
    scan, w = started(new_scan, a="float64")
    streams = readers(data_store, scan)
    assert CursorGroup(streams).position == CursorGroup(list(streams.values())).position


def test_view_with_trimmed_points(data_store, new_scan):
    scan, w = started(new_scan, x="float64")
    for i in range(6):
        w["x"].send(float(i))
        w["x"].join()
    data_store.redis.xtrim(w["x"].key, minid="3-1", approximate=False)
    view = readers(data_store, scan)["x"].cursor().read()
    assert (view.index, len(view)) == (0, 6)
    assert view.get_data(3, 6).tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(IndexNoMoreThereError):
        view.get_data()


@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["a", "b", "read"]), st.integers(1, 7)), min_size=1, max_size=25
    )
)
@SETTINGS
def test_interleaved_writes_and_reads_deliver_each_point_once(data_store, new_scan, plan):
    scan, w = started(new_scan, a="int64", b="int64")
    group = CursorGroup(readers(data_store, scan))
    sent = {"a": 0, "b": 0}
    got = {"a": [], "b": []}

    def collect(views):
        for stream, view in views.items():
            data = view.get_data()
            assert view.index == len(got[stream.name])
            got[stream.name].extend(int(v) for v in data)

    for action, n in plan:
        if action == "read":
            for s in w.values():
                s.join()
            collect(group.read(block=False))
        else:
            w[action].send(np.arange(sent[action], sent[action] + n))
            sent[action] += n
    for s in w.values():
        s.seal()
    while True:
        try:
            collect(group.read(timeout=5))
        except EndOfStream:
            break
    assert got == {name: list(range(count)) for name, count in sent.items()}


def test_concurrent_reader_thread_sees_every_point(data_store, new_scan):
    scan, w = started(new_scan, x="int64")
    stream = readers(data_store, scan)["x"]
    received = []

    def consume():
        received.extend(int(v) for v in stream)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(2000):
        w["x"].send(i)
    w["x"].seal()
    t.join(30)
    assert received == list(range(2000))


def count_round_trips(monkeypatch, stream):
    """Count the requests a reader's connection sends (a pipeline is one)."""
    conn = stream.event_stream.runtime.conn
    sent = []
    for name in ("call", "call_many", "blocking_call"):
        method = getattr(conn, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            sent.append(_name)
            return _method(*args, **kwargs)

        monkeypatch.setattr(conn, name, counted)
    return sent


def test_first_read_of_batched_small_points_is_one_round_trip(data_store, new_scan, monkeypatch):
    """Entries of any batch size: a first read by index window gets them, and the
    seal, in one request, where one entry, the rest, then the seal took three
    (issue #14, bench e_a/10k)."""
    scan, w = started(new_scan, **{f"c{i}": "float64" for i in range(10)})
    for s in w.values():
        s.send(np.arange(10_000.0))
        s.send(np.arange(10_000.0, 20_000.0))
        s.seal()
    streams = readers(data_store, scan)
    sent = count_round_trips(monkeypatch, next(iter(streams.values())))
    group = CursorGroup(streams)
    views = group.read(timeout=5)
    with pytest.raises(EndOfStream):  # the seal came with the window
        group.read(timeout=5)
    assert sent == ["call_many"]
    assert {s.name: (v.index, len(v)) for s, v in views.items()} == {
        name: (0, 20_000) for name in w
    }
    assert all(np.array_equal(v.get_data(), np.arange(20_000.0)) for v in views.values())


def test_first_read_of_a_stream_trimmed_beyond_the_window(data_store, new_scan):
    """A first read by window finds nothing where the first points were trimmed
    past it: it reads on from the position, and reports the trimmed points."""
    from blissdata_core.streams import cursor

    scan, w = started(new_scan, x="float64")
    window = cursor.READ_BYTES // 8
    first_kept = -(-window // 1_000) * 1_000  # the first entry at or past the window
    total = first_kept + 3_000
    for start in range(0, total, 1_000):
        w["x"].send(np.arange(start, start + 1_000, dtype=float))
        w["x"].join()
    w["x"].seal()
    data_store.redis.xtrim(w["x"].key, minid=f"{window}-1", approximate=False)
    reader = readers(data_store, scan)["x"].cursor()
    view = reader.read(timeout=5)
    assert view.index == 0
    with pytest.raises(IndexNoMoreThereError):
        view.get_data()
    got = list(view.get_data(first_kept))
    while True:
        try:
            got.extend(reader.read(timeout=5).get_data())
        except EndOfStream:
            break
    assert got == list(np.arange(first_kept, total, dtype=float))


def test_first_read_of_a_stream_trimmed_to_its_seal(data_store, new_scan):
    scan, w = started(new_scan, x="float64")
    w["x"].send(np.arange(10.0))
    w["x"].seal()
    data_store.redis.xtrim(w["x"].key, minid=f"{2**64 - 1}-{2**64 - 1}", approximate=False)
    reader = readers(data_store, scan)["x"].cursor()
    view = reader.read(timeout=5)
    assert (view.index, len(view)) == (0, 10)
    with pytest.raises(IndexNoMoreThereError):
        view.get_data()
    with pytest.raises(EndOfStream):
        reader.read(timeout=5)
