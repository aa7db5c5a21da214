"""Streams: send/seal, encodings, random access, index errors (numpy is the oracle)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from blissdata_core import (
    IndexNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
    MalformedEntryError,
    NoWritePermission,
    Stream,
)
from blissdata_core.errors import StreamSealedError

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

NUMERIC_DTYPES = [
    "?", "<i1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<u1", "<u2", ">u2", "<u4", "<u8", ">u8",
    "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16", ">c16",
]  # fmt: skip


def publish(new_scan, dtype, shape, batches):
    scan, streams = new_scan(s=(dtype, shape))
    scan.prepare()
    scan.start()
    for batch in batches:
        streams["s"].send(batch)
    streams["s"].join()
    return scan, streams["s"]


def reader(data_store, scan, name="s"):
    return data_store.load_scan(scan.key).streams[name]


@st.composite
def batches_of(draw, dtype, point_shape):
    total = draw(st.integers(1, 40))
    data = draw(hnp.arrays(np.dtype(dtype), (total, *point_shape)))
    cuts = sorted(draw(st.lists(st.integers(1, max(total - 1, 1)), max_size=6, unique=True)))
    parts = np.split(data, [c for c in cuts if c < total])
    return data, parts


def assert_same(actual, expected):
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
@given(data=st.data())
@SETTINGS
def test_round_trip_every_dtype(data_store, new_scan, dtype, data):
    point_shape = data.draw(st.sampled_from([(), (3,), (2, 2)]))
    expected, parts = data.draw(batches_of(dtype, point_shape))
    scan, _ = publish(new_scan, dtype, point_shape, parts)
    stream = reader(data_store, scan)
    assert stream.dtype == np.dtype(dtype)
    assert len(stream) == len(expected)
    assert_same(stream[:], expected)
    i = data.draw(st.integers(0, len(expected) - 1))
    np.testing.assert_array_equal(stream[i], expected[i])


@given(data=st.data())
@SETTINGS
def test_slicing_equals_numpy(data_store, new_scan, data):
    expected, parts = data.draw(batches_of("<f8", ()))
    scan, writer = publish(new_scan, "<f8", (), parts)
    seal = data.draw(st.booleans())
    if seal:
        writer.seal()
    stream = reader(data_store, scan)
    n = len(expected)
    for _ in range(5):
        start = data.draw(st.one_of(st.none(), st.integers(-2 * n if seal else 0, 2 * n)))
        stop = data.draw(st.one_of(st.none(), st.integers(-2 * n if seal else 0, 2 * n)))
        step = data.draw(st.one_of(st.none(), st.integers(1, 5)))
        assert_same(stream[start:stop:step], expected[start:stop:step])
    if seal:
        i = data.draw(st.integers(-n, n - 1))
        np.testing.assert_array_equal(stream[i], expected[i])


@given(data=st.data())
@SETTINGS
def test_reading_in_order_equals_numpy(data_store, new_scan, data, monkeypatch):
    """Slices read one after the other (read ahead, kept for the next slices),
    while the stream still grows and after its seal."""
    from blissdata_core.streams import event_stream

    monkeypatch.setattr(
        event_stream, "READ_AHEAD_BYTES", data.draw(st.sampled_from([8, 40, 2**20]))
    )
    expected, parts = data.draw(batches_of("<f8", ()))
    half = data.draw(st.integers(0, len(parts)))
    scan, writer = publish(new_scan, "<f8", (), parts[:half])
    stream = reader(data_store, scan)
    published = sum(len(p) for p in parts[:half])
    start = data.draw(st.integers(0, published))
    for phase in ("growing", "sealed"):
        if phase == "sealed":
            for part in parts[half:]:
                writer.send(part)
            writer.seal()
            published = len(expected)
        while start < published:
            stop = data.draw(st.integers(start + 1, published))
            got = stream[start:stop]
            assert_same(got, expected[start:stop])
            got[:] = -1  # arrays are the caller's: later reads are not affected
            start = stop
    assert_same(stream[:], expected)


def test_open_ended_slices_in_order_before_the_seal(data_store, new_scan):
    """Found by hypothesis: reading ahead must stop at the last possible id."""
    scan, writer = publish(new_scan, "<f8", (), [np.arange(3.0)])
    stream = reader(data_store, scan)
    assert_same(stream[:1], np.arange(1.0))
    assert_same(stream[1:], np.arange(1.0, 3.0))
    assert_same(stream[3:], np.arange(0.0))


def test_free_dimension(data_store, new_scan):
    scan, stream = publish(
        new_scan, "<i2", (-1,), [np.arange(3, dtype="<i2"), np.arange(5, dtype="<i2")]
    )
    stream.send(np.ones((2, 4), dtype="<i2"))
    stream.seal()
    r = reader(data_store, scan)
    assert r.shape == (-1,)
    points = r[:]
    assert [p.tolist() for p in points] == [[0, 1, 2], [0, 1, 2, 3, 4], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert r[3].tolist() == [1, 1, 1, 1]
    homogeneous = r[2:]
    assert isinstance(homogeneous, np.ndarray) and homogeneous.shape == (2, 4)


def test_free_dimension_2d(data_store, new_scan):
    scan, stream = publish(
        new_scan, "<f4", (-1, 2), [np.zeros((3, 2), "<f4"), np.ones((1, 2), "<f4")]
    )
    stream.seal()
    points = reader(data_store, scan)[:]
    assert [p.shape for p in points] == [(3, 2), (1, 2)]


def test_json_stream(data_store, new_scan):
    scan, stream = publish(
        new_scan, "json", None, [{"a": 1}, [1, 2], "text", None, {"nested": {"x": [1.5]}}]
    )
    stream.send(np.arange(2))
    stream.seal()
    r = reader(data_store, scan)
    assert r.kind == "json"
    assert r[:] == [{"a": 1}, [1, 2], "text", None, {"nested": {"x": [1.5]}}, [0, 1]]
    assert r[0] == {"a": 1}
    assert r[-1] == [0, 1]


def test_send_rejects_bad_input_before_queueing(data_store, new_scan):
    scan, streams = new_scan(x="float64", img=("uint16", (2, 2)), e="json")
    bad = [
        (streams["x"], np.array([1, 2], dtype="int64"), TypeError),
        (streams["x"], np.array([1.0], dtype=">f8"), TypeError),
        (streams["x"], "text", TypeError),
        (streams["x"], np.array([]), ValueError),
        (streams["x"], np.zeros((2, 2)), ValueError),
        (streams["img"], np.zeros((3, 3), "uint16"), ValueError),
        (streams["img"], [[70000, 0], [0, 0]], ValueError),
        (streams["x"], 1.0j, TypeError),
        (streams["e"], object(), TypeError),
        (streams["e"], float("nan"), TypeError),
    ]
    for stream, data, error in bad:
        with pytest.raises(error):
            stream.send(data)
    scan.prepare()
    for stream in streams.values():
        stream.join()
        assert len(stream) == 0


def test_python_numbers_are_converted_safely(data_store, new_scan):
    scan, streams = new_scan(f=("float32", None), i=("int16", None), b=("bool", None))
    streams["f"].send(1)
    streams["f"].send([0.5, 2])
    streams["i"].send(3)
    streams["b"].send(True)
    with pytest.raises(TypeError):
        streams["i"].send(1.5)
    with pytest.raises(ValueError):
        streams["i"].send(1 << 20)
    scan.prepare()
    for s in streams.values():
        s.seal()
    r = data_store.load_scan(scan.key).streams
    assert r["f"][:].tolist() == [1.0, 0.5, 2.0]
    assert r["i"][:].dtype == np.int16
    assert r["b"][0] == np.True_


def test_seal(data_store, new_scan):
    scan, stream = publish(new_scan, "int32", None, [np.arange(10, dtype="int32")])
    r = reader(data_store, scan)
    assert not r.is_sealed()
    assert r.wait_seal(timeout=0.05) is False
    assert stream.seal() == 10
    assert stream.seal() == 10  # sealing twice answers the length
    assert r.is_sealed()
    assert r.wait_seal(timeout=1)
    with pytest.raises(StreamSealedError):
        stream.send(np.int32(1))


def test_seal_empty_stream(data_store, new_scan):
    scan, streams = new_scan(x="float64")
    scan.prepare()
    assert streams["x"].seal() == 0
    r = reader(data_store, scan, "x")
    assert len(r) == 0 and r.is_sealed()
    assert_same(r[:], np.empty((0,), "float64"))
    with pytest.raises(IndexWontBeThereError):
        r[0]


def test_index_errors(data_store, new_scan):
    scan, writer = publish(new_scan, "float64", None, [np.arange(5.0)])
    r = reader(data_store, scan)
    with pytest.raises(IndexNotYetThereError):
        r[5]
    with pytest.raises(IndexNotYetThereError):
        r[-1]
    with pytest.raises(IndexNotYetThereError):
        r[-2:]
    assert r[3:100].tolist() == [3.0, 4.0]
    writer.seal()
    with pytest.raises(IndexWontBeThereError):
        r[5]
    with pytest.raises(IndexError):
        r[-6]
    assert r[-1] == 4.0
    with pytest.raises(TypeError):
        r["a"]
    with pytest.raises(NoWritePermission):
        r.seal()


def test_trimmed_points(data_store, new_scan):
    scan, writer = publish(new_scan, "float64", None, [])
    for i in range(10):
        writer.send(float(i))
        writer.join()  # one entry per point
    writer.seal()
    data_store.redis.xtrim(writer.key, minid="4-1", approximate=False)
    r = reader(data_store, scan)
    assert len(r) == 10
    with pytest.raises(IndexNoMoreThereError):
        r[2]
    with pytest.raises(IndexNoMoreThereError):
        r[0:6]
    assert r[4:6].tolist() == [4.0, 5.0]
    assert r[-1] == 9.0


def test_empty_stream_reads(data_store, new_scan):
    scan, streams = new_scan(x=("float64", (3,)))
    scan.prepare()
    r = reader(data_store, scan, "x")
    assert len(r) == 0
    assert r[:].shape == (0, 3)
    with pytest.raises(IndexNotYetThereError):
        r[0]


def test_iteration_until_sealed(data_store, new_scan):
    scan, writer = publish(new_scan, "int64", None, [np.arange(7)])
    writer.seal()
    assert [int(v) for v in reader(data_store, scan)] == list(range(7))


def test_batches_are_merged_on_the_wire(data_store, new_scan):
    scan, writer = publish(new_scan, "float64", None, [])
    for i in range(500):
        writer.send(float(i))
    writer.seal()
    raw = data_store.redis.xrange(writer.key)
    assert len(raw) < 500  # small points travel in batch entries...
    total = 0
    for entry_id, fields in raw[:-1]:
        assert entry_id == f"{total}-1".encode()  # ...with ids <first index>-1
        total += int(fields.get(b"len", 1))
    assert total == 500
    assert raw[-1][0] == b"18446744073709551615-18446744073709551615"
    assert raw[-1][1] == {b"id": b"500"}


@pytest.mark.parametrize(
    "fields, encoding, error",
    [
        (
            {"payload": b"\x00" * 7},
            {"type": "numeric", "dtype_str": "<f8", "shape": []},
            MalformedEntryError,
        ),
        (
            {"payload": b"\x00" * 8, "len": "2"},
            {"type": "numeric", "dtype_str": "<f8", "shape": []},
            MalformedEntryError,
        ),
        (
            {"payload": b"\xc1"},
            {"type": "numeric", "dtype_str": "<i2", "shape": [-1]},
            MalformedEntryError,
        ),
        ({"payload": b"{nope"}, {"type": "json"}, MalformedEntryError),
        ({"payload": b"\xff\xfe"}, {"type": "json"}, MalformedEntryError),
        ({"nopayload": b"1"}, {"type": "json"}, MalformedEntryError),
        ({"payload": b"1", "len": "x"}, {"type": "json"}, MalformedEntryError),
    ],
)
def test_malformed_entries_raise(data_store, raw_scan, fields, encoding, error):
    from blissdata_core.ulid import new_ulid

    stream_pk = new_ulid()
    key = raw_scan({"s": {"pk": stream_pk, "encoding": encoding, "info": {}}})
    data_store.redis.xadd(f"esrf:stream:{stream_pk}", fields, id="0-1")
    stream = data_store.load_scan(key).streams["s"]
    with pytest.raises(error) as info:
        stream[0]
    assert "'s'" in str(info.value)


def test_unknown_encoding_makes_one_broken_stream(data_store, raw_scan):
    from blissdata_core import UnknownEncodingError
    from blissdata_core.ulid import new_ulid

    key = raw_scan(
        {
            "odd": {"pk": new_ulid(), "encoding": {"type": "zstd-magic"}, "info": {}},
            "fine": {"pk": new_ulid(), "encoding": {"type": "json"}, "info": {}},
        }
    )
    scan = data_store.load_scan(key)
    assert len(scan.streams["fine"]) == 0
    with pytest.raises(UnknownEncodingError):
        len(scan.streams["odd"])


def test_make_definition_validation():
    with pytest.raises(ValueError):
        Stream.make_definition("x", "json", (3,))
    with pytest.raises(ValueError):
        Stream.make_definition("x", "U8")
    with pytest.raises(ValueError):
        Stream.make_definition("x", "float64", (-2,))
    with pytest.raises(ValueError):
        Stream.make_definition("", "float64")
    d = Stream.make_definition("x", "float32", (4,), info={"unit": "mm"})
    assert d.info == {"unit": "mm", "dtype": "float32", "shape": [4]}
