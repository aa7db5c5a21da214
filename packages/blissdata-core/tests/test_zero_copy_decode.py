"""Decoding payloads read without copy: arrays over the received memory, still writable and right."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_core.encoding import RawEntry
from blissdata_core.encoding.buffers import adjacent_block
from blissdata_core.encoding.json_encoding import JsonEncoder
from blissdata_core.encoding.numeric import NumericEncoder
from blissdata_core.errors import MalformedEntryError
from blissdata_core.resp_reader import LARGE_BULK, Arena
from blissdata_core.streams.entries import parse_entry


def _placed(arena: Arena, payloads: list[bytes], reserve: int = 0) -> list[memoryview]:
    views = []
    for payload in payloads:
        view = arena.take(len(payload), reserve)
        view[:] = payload
        views.append(view)
    return views


def _entries(payloads, points_per_entry) -> list[RawEntry]:
    out, index = [], 0
    for payload, n in zip(payloads, points_per_entry):
        out.append(RawEntry(index, n, payload))
        index += n
    return out


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<u2", ">i4", "<c16", "|b1"])
def test_adjacent_payloads_decode_in_place(dtype: str) -> None:
    encoder = NumericEncoder(dtype, (3, 5))
    batches = [np.arange(n * 15).reshape(n, 3, 5).astype(dtype) for n in (2, 1, 4)]
    views = _placed(Arena(), [b.tobytes() for b in batches], reserve=10_000)
    data = encoder.decode(_entries(views, [2, 1, 4]))
    expected = np.concatenate(batches)
    assert data.dtype == np.dtype(dtype) and data.shape == (7, 3, 5)
    assert np.array_equal(data, expected)
    assert data.flags.c_contiguous and data.flags.writeable
    assert np.shares_memory(data, np.frombuffer(views[0], np.uint8))  # no copy
    data[0, 0, 0] = 1  # writable in place


def test_single_writable_payload_is_not_copied() -> None:
    encoder = NumericEncoder("<u2", (100, 100))
    (view,) = _placed(Arena(), [np.ones((100, 100), "<u2").tobytes()])
    data = encoder.decode([RawEntry(0, 1, view)])
    assert data.shape == (1, 100, 100) and data.flags.writeable
    assert np.shares_memory(data, np.frombuffer(view, np.uint8))


def test_payloads_not_in_place_are_copied() -> None:
    encoder = NumericEncoder("<f8", ())
    a, b, c = (np.full(3000, i, "<f8") for i in range(3))
    arena = Arena()
    views = _placed(arena, [a.tobytes(), b.tobytes(), c.tobytes()], reserve=100_000)
    other = _placed(Arena(), [c.tobytes()])
    cases = [
        [views[0], views[2]],  # a gap
        [views[1], views[0]],  # reversed (XREVRANGE order)
        [views[0], views[1], other[0]],  # another buffer
        [a.tobytes(), b.tobytes()],  # bytes
        [views[0].toreadonly(), views[1]],  # read-only
    ]
    for payloads in cases:
        expected = np.concatenate([np.frombuffer(p, "<f8") for p in payloads])
        data = encoder.decode(_entries(payloads, [3000] * len(payloads)))
        assert np.array_equal(data, expected) and data.flags.writeable
        assert not any(np.shares_memory(data, np.frombuffer(v, np.uint8)) for v in views)
    assert adjacent_block([]) is None
    assert adjacent_block([views[0][1:]], alignment=8) is None  # misaligned: copied
    assert adjacent_block([bytearray(10)]) is None


def test_malformed_payload_sizes_still_raise() -> None:
    encoder = NumericEncoder("<f8", ())
    views = _placed(Arena(), [b"\0" * 8 * 3000, b"\0" * (8 * 3000 + 1)], reserve=100_000)
    with pytest.raises(MalformedEntryError):
        encoder.decode(_entries(views, [3000, 3000]))


def test_json_and_msgpack_payloads_as_memoryviews() -> None:
    text = ('{"a": "' + "x" * LARGE_BULK + '"}').encode()
    (view,) = _placed(Arena(), [text])
    assert JsonEncoder().decode([RawEntry(0, 1, view)]) == [{"a": "x" * LARGE_BULK}]
    free = NumericEncoder("<i2", (-1,))
    points = np.arange(20_000, dtype="<i2")
    payload = msgpack.packb([[20_000], points.tobytes()])
    (view,) = _placed(Arena(), [payload])
    data = free.decode([RawEntry(0, 1, view)])
    assert np.array_equal(data, points[None]) and data.flags.writeable


def test_large_field_name_is_malformed() -> None:
    (view,) = _placed(Arena(), [b"n" * LARGE_BULK])
    with pytest.raises(MalformedEntryError, match="field name"):
        parse_entry([b"0-1", [view, b"1", b"payload", b"x"]])


# --- through a real server ---------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    dtype=st.sampled_from(["<f8", ">f4", "<u2", ">u2", "<i1", "<c8"]),
    width=st.integers(1, 20_000),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=6),
)
def test_large_points_read_back(new_scan, dtype: str, width: int, sizes: list[int]) -> None:
    from blissdata_core import CursorGroup, EndOfStream

    scan, streams = new_scan(data=(dtype, (width,)))
    stream = streams["data"]
    scan.prepare()
    scan.start()
    batches = [np.arange(n * width).reshape(n, width).astype(dtype) for n in sizes]
    for batch in batches:
        stream.send(batch)
    stream.seal()
    expected = np.concatenate(batches)
    for _ in range(2):  # the second read knows its payloads are large
        whole = stream[:]
        assert whole.dtype == np.dtype(dtype) and whole.flags.writeable
        assert np.array_equal(whole, expected)
        assert np.array_equal(stream[len(expected) - 1], expected[-1])
    group = CursorGroup([stream])
    read = []
    while True:
        try:
            views = group.read(timeout=5)
        except EndOfStream:
            break
        for view in views.values():
            data = view.get_data()
            assert data.flags.writeable and data.dtype == np.dtype(dtype)
            read.append(data)
    assert np.array_equal(np.concatenate(read), expected)
    scan.stop()
    scan.close()


def test_range_reads_choose_zero_copy_by_payload_and_reply_size(new_scan) -> None:
    """Medium payloads: a few go through hiredis, a reply of many MB is read without copy."""
    from blissdata_core.streams import event_stream

    scan, streams = new_scan(data=("<f8", ()))
    stream = streams["data"]
    scan.prepare()
    scan.start()
    for first in range(0, 600_000, 10_000):  # entries of 80 kB
        stream.send(np.arange(first, first + 10_000, dtype="<f8"))
    stream.seal()
    events = stream.event_stream
    assert np.array_equal(stream[:10_000], np.arange(10_000.0))  # learns the payload size
    assert not events.zero_copy
    assert not events._zero_copy_for(10_000)
    assert events._zero_copy_for(event_stream.ZERO_COPY_REPLY // 8)
    whole = stream[:]
    assert whole.flags.writeable and np.array_equal(whole, np.arange(600_000.0))
    scan.stop()
    scan.close()


def test_cursor_first_read_of_one_large_batch_is_not_copied(new_scan) -> None:
    """One send() of many small points makes one large entry: a cursor's first
    read (its count still a guess) receives it without copy, and it stays writable."""
    from blissdata_core import CursorGroup

    scan, streams = new_scan(data=("<f4", (4096,)))
    stream = streams["data"]
    scan.prepare()
    scan.start()
    batch = np.arange(500 * 4096, dtype="<f4").reshape(500, 4096)  # 8 MB in one entry
    stream.send(batch)
    stream.seal()
    (view,) = CursorGroup([stream]).read(timeout=10).values()
    data = view.get_data()
    assert np.array_equal(data, batch) and data.flags.writeable
    root = data
    while isinstance(root.base, np.ndarray):
        root = root.base
    assert root.dtype == np.uint8  # a view of the received bytes, not a decoded copy
    scan.stop()
    scan.close()


def test_cursor_first_read_probes_one_entry_of_small_points(new_scan) -> None:
    """Streams of small points: a first XREAD (a blocking one) takes one entry a
    stream (its size sizes the rest); without copy unless that is many entries in
    all, which hiredis parses faster than the zero-copy reader."""
    from blissdata_core.streams import cursor

    scan, streams = new_scan(**{f"c{i}": ("<f8", ()) for i in range(40)})
    states = [cursor._CursorState(s) for s in streams.values()]
    assert {s.count for s in states} == {1}
    assert not cursor._zero_copy(states)
    assert cursor._zero_copy(states[:10])
    states[0].resize([parse_entry_of(b"x" * 100_000)])  # entries of 100 kB seen
    assert states[0].count == cursor.READ_BYTES // 100_000
    assert cursor._zero_copy(states)


def parse_entry_of(payload: bytes):
    return parse_entry([b"0-1", [b"payload", payload]], "s")
