"""Malformed and hostile input: entries, payloads, encodings, scan documents, send().

Whatever comes out of Redis, a reader gets correct data or a BlissdataError,
never wrong data, a crash or a memory bomb.  A producer's invalid ``send()``
is refused whole, with nothing written.
"""

from __future__ import annotations

import json

import msgpack
import numpy as np
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_core import BlissdataError, DataStore, MalformedEntryError, ScanState, Stream
from blissdata_core.encoding import JsonEncoder, NumericEncoder, RawEntry, encoder_from_info
from blissdata_core.errors import ScanValidationError, UnknownEncodingError
from blissdata_core.protocol import SEAL_ENTRY_ID
from blissdata_core.streams.entries import parse_entry

pytestmark = pytest.mark.reliability

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def entry(index: int, length: int, payload: bytes) -> list[RawEntry]:
    return [RawEntry(index, length, payload)]


# --- entries as Redis returns them ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        [b"abc-1", [b"payload", b"x"]],
        [b"-1", [b"payload", b"x"]],
        [None, [b"payload", b"x"]],
        [b"0-1", []],
        [b"0-1", [b"len", b"2"]],
        [b"0-1", [b"payload", b"x", b"len", b"two"]],
        [b"0-1", [b"payload", b"x", b"len", b"0"]],
        [b"0-1", [b"payload", b"x", b"len", b"-3"]],
        [SEAL_ENTRY_ID.encode(), []],
        [SEAL_ENTRY_ID.encode(), [b"id", b"many"]],
    ],
)
def test_malformed_entries(raw):
    with pytest.raises(MalformedEntryError):
        parse_entry(raw, "s")


redis_bytes = st.one_of(
    st.binary(max_size=40),
    st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()),
    st.sampled_from(
        [b"payload", b"len", b"id", SEAL_ENTRY_ID.encode(), b"0-1", b"18446744073709551615"]
    ),
)


@FUZZ
@given(
    entry_id=redis_bytes,
    fields=st.lists(st.tuples(redis_bytes, redis_bytes), max_size=4),
)
def test_fuzz_parse_entry(entry_id, fields):
    flat = [item for pair in fields for item in pair]
    try:
        parsed = parse_entry([entry_id, flat], "s")
    except BlissdataError:
        return
    assert parsed.length >= 0 and parsed.index >= 0
    if not parsed.is_seal:
        assert parsed.payload == dict(fields)[b"payload"] and parsed.length >= 1


# --- payloads and encoders ------------------------------------------------------------


def test_numeric_payload_not_a_multiple_of_the_item_size():
    with pytest.raises(MalformedEntryError):
        NumericEncoder("<f8").decode(entry(0, 1, b"\0" * 7))
    with pytest.raises(MalformedEntryError):
        NumericEncoder("<i4", (3,)).decode(entry(0, 1, b"\0" * 13))


def test_numeric_len_disagrees_with_payload():
    with pytest.raises(MalformedEntryError):
        NumericEncoder("<f8").decode(entry(0, 3, b"\0" * 16))
    with pytest.raises(MalformedEntryError):
        NumericEncoder("<f8").decode(entry(0, 1, b"\0" * 16))


@pytest.mark.parametrize(
    "payload",
    [
        b"\xc1",  # never used in msgpack
        b"\x92",  # truncated array
        msgpack.packb({"a": 1}),
        msgpack.packb([[2], "text"]),
        msgpack.packb([[2, 3], b"\0" * 48]),  # wrong rank
        msgpack.packb([[-2], b""]),
        msgpack.packb([[True], b"\0" * 8]),
        msgpack.packb([[3], b"\0" * 16]),  # 3 points of 8 bytes are not 16 bytes
        msgpack.packb([[2**63], b""]),
        msgpack.packb([[0], b""]) + b"trailing",
        b"\xdd\xff\xff\xff\xff",  # an array claiming 4 billion items: no allocation
        b"\xc6\xff\xff\xff\xff",  # a 4 GiB bin header with no body
    ],
)
def test_free_shape_bad_msgpack(payload):
    with pytest.raises(MalformedEntryError):
        NumericEncoder("<f8", (-1,)).decode(entry(0, 1, payload))


@pytest.mark.parametrize(
    "payload",
    [b"{", b"\xff\xfe", b"NaN1", b"[1,]", b"", "\ud800".encode("utf-8", "surrogatepass"),
     b"[" * 100_000, b"{\"a\":" * 50_000, b"1" * 10_000],
)  # fmt: skip
def test_invalid_json_payloads(payload):
    with pytest.raises(MalformedEntryError):
        JsonEncoder().decode(entry(0, 1, payload))


def test_json_entry_with_several_points():
    with pytest.raises(MalformedEntryError):
        JsonEncoder().decode(entry(0, 2, b"[1, 2]"))


@pytest.mark.parametrize(
    "encoding",
    [
        None, "numeric", [], {}, {"type": 3}, {"type": "pickle"}, {"type": "numpy.load"},
        {"type": "numeric"}, {"type": "numeric", "dtype_str": "<f8", "shape": "3"},
        {"type": "numeric", "dtype_str": "|O", "shape": []},
        {"type": "numeric", "dtype_str": "<U8", "shape": []},
        {"type": "numeric", "dtype_str": "<M8[s]", "shape": []},
        {"type": "numeric", "dtype_str": "[('a', '<f8')]", "shape": []},
        {"type": "numeric", "dtype_str": "(2,)<f8", "shape": []},
        {"type": "numeric", "dtype_str": "<f8", "shape": [1] * 100},
        {"type": "numeric", "dtype_str": "<f8", "shape": [2**40, 2**40]},
        {"type": "numeric", "dtype_str": "<f8", "shape": [2**63]},
        {"type": "numeric", "dtype_str": "<f8", "shape": [-1, 2**63]},
        {"type": "numeric", "dtype_str": "<f8", "shape": [-2]},
        {"type": "numeric", "dtype_str": "<f8", "shape": [1.0]},
        {"type": "numeric", "dtype_str": "<f8", "shape": [None]},
    ],
)  # fmt: skip
def test_unknown_or_malformed_encodings(encoding):
    with pytest.raises(UnknownEncodingError):
        encoder_from_info(encoding)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)

encodings = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["numeric", "json"])},
        optional={
            "dtype_str": st.one_of(
                st.sampled_from(["<f8", ">i4", "|b1", "<c16", "|u1", "<f2", "|O", "<U3", "S4"]),
                st.text(max_size=6),
                json_values,
            ),
            "shape": st.one_of(
                st.lists(st.integers(-3, 2**64), max_size=4), json_values, st.just([1] * 70)
            ),
        },
    ),
)


def _check_decoded(encoder, payload: bytes, length: int, decoded) -> None:
    """A successful decode must be exactly what the payload says."""
    if isinstance(encoder, JsonEncoder):
        assert decoded == [json.loads(payload)]
        return
    if -1 not in encoder.shape:
        expected = np.frombuffer(payload, encoder.dtype).reshape((length, *encoder.shape))
        assert decoded.dtype == encoder.dtype and decoded.tobytes() == expected.tobytes()
        assert decoded.shape == expected.shape


@FUZZ
@given(encoding=encodings, payload=st.binary(max_size=64), length=st.integers(-1, 9))
def test_fuzz_decoders_with_random_bytes(encoding, payload, length):
    try:
        encoder = encoder_from_info(encoding)
    except UnknownEncodingError:
        return
    try:
        decoded = encoder.decode(entry(0, length, payload), "s")
    except BlissdataError:
        return
    _check_decoded(encoder, payload, length, decoded)


free_payloads = st.builds(
    lambda shape, body: msgpack.packb([shape, body]),
    st.one_of(st.lists(st.integers(-2, 2**64 - 1), max_size=3), json_values),
    st.one_of(st.binary(max_size=64), json_values),
)


@FUZZ
@given(
    dtype=st.sampled_from(["<f8", "<i2", "|u1", "|b1", "<c8"]),
    shape=st.lists(st.sampled_from([-1, 0, 1, 2, 3]), min_size=1, max_size=3).filter(
        lambda s: -1 in s
    ),
    payload=st.one_of(free_payloads, st.binary(max_size=64)),
    length=st.integers(-1, 4),
)
def test_fuzz_free_shape_payloads(dtype, shape, payload, length):
    encoder = NumericEncoder(dtype, shape)
    try:
        decoded = encoder.decode(entry(0, length, payload), "s")
    except BlissdataError:
        return
    point_shape, body = msgpack.unpackb(payload)
    expected = np.frombuffer(body, dtype).reshape((length, *point_shape))
    assert np.array_equal(np.asarray(decoded), expected)


@FUZZ
@given(payload=st.one_of(st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode())))
def test_fuzz_json_payloads(payload):
    try:
        decoded = JsonEncoder().decode(entry(0, 1, payload), "s")
    except BlissdataError:
        return
    assert decoded == [json.loads(payload)]


# --- malformed entries stored in Redis, read through the API -----------------------------


@pytest.fixture
def store(fault_server):
    with DataStore(fault_server.url) as ds:
        yield ds


def _scan_with(store: DataStore, dtype="float64", shape=()):
    scan = store.create_scan({"name": "bad", "number": 1, "data_policy": "no_policy"})
    stream = scan.create_stream(Stream.make_definition("s", dtype, shape))
    scan.prepare()
    scan.start()
    return scan, stream


@pytest.mark.parametrize(
    "fields",
    [
        {"payload": b"\0" * 7},
        {"payload": b"\0" * 16, "len": "3"},
        {"payload": b"\0" * 8, "len": "zero"},
        {"nopayload": b"x"},
    ],
)
def test_malformed_entry_in_redis_reaches_readers_as_an_error(store, fields):
    scan, stream = _scan_with(store)
    stream.send(np.arange(2.0))
    stream.join()
    with redis.Redis.from_url(store.url) as client:
        client.xadd(stream.key, fields, id="2-1")
    reader = store.load_scan(scan.key).streams["s"]
    assert np.array_equal(reader[:2], [0.0, 1.0])
    with pytest.raises(BlissdataError):
        reader[2]
    with pytest.raises(BlissdataError):
        reader[:]
    cursor = reader.cursor()
    with pytest.raises(BlissdataError):
        cursor.read(timeout=1)


scan_documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "pk": st.one_of(st.just("01ARZ3NDEKTSV4RRFFQ69G5FAV"), json_values),
            "id": st.one_of(
                st.fixed_dictionaries(
                    {
                        "name": st.text(max_size=4),
                        "number": st.integers(),
                        "data_policy": st.just("x"),
                    }
                ),
                json_values,
            ),
            "info": json_values,
            "state_stream": st.one_of(st.just({"pk": "STATE"}), json_values),
            "data_streams": st.one_of(
                st.dictionaries(
                    st.text(min_size=1, max_size=4),
                    st.one_of(
                        st.fixed_dictionaries(
                            {"pk": st.just("DATA"), "encoding": encodings, "info": json_values}
                        ),
                        json_values,
                    ),
                    max_size=3,
                ),
                json_values,
            ),
        }
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=scan_documents)
def test_fuzz_scan_documents_loaded_from_redis(store, doc):
    key = "esrf:scan:01ARZ3NDEKTSV4RRFFQ69G5FAV"
    with redis.Redis.from_url(store.url) as client:
        client.delete(key, "esrf:stream:STATE", "esrf:stream:DATA")
        client.execute_command("JSON.SET", key, "$", json.dumps(doc))
        client.xadd("esrf:stream:STATE", {"state": int(ScanState.STARTED)})
        client.xadd("esrf:stream:DATA", {"payload": b"\0" * 8}, id="0-1")
    try:
        scan = store.load_scan(key)
    except BlissdataError:
        return
    for stream in scan.streams.values():
        for action in (len, lambda s: s[0], lambda s: s[:], lambda s: s.cursor().read(block=False)):
            try:
                action(stream)
            except BlissdataError:
                pass


def test_scan_document_not_json_or_missing_parts(store):
    with redis.Redis.from_url(store.url) as client:
        client.set("esrf:scan:01ARZ3NDEKTSV4RRFFQ69G5FAA", "not json")
        client.execute_command("JSON.SET", "esrf:scan:01ARZ3NDEKTSV4RRFFQ69G5FAB", "$", "{}")
    for key in ("esrf:scan:01ARZ3NDEKTSV4RRFFQ69G5FAA", "esrf:scan:01ARZ3NDEKTSV4RRFFQ69G5FAB"):
        with pytest.raises(ScanValidationError):
            store.load_scan(key)


def test_plugin_and_encoding_names_from_redis_import_nothing(store, tmp_path, monkeypatch):
    """A name read from Redis selects among installed entry points, never imports a module."""
    import sys

    (tmp_path / "planted_module_xyz.py").write_text("import builtins\nbuiltins.PLANTED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    scan = store.create_scan({"name": "p", "number": 1, "data_policy": "no_policy"})
    scan.info["save"] = False
    for i, plugin in enumerate(["planted_module_xyz", "os", "blissdata_core.acl", "../x", 3]):
        scan.create_stream(Stream.make_definition(f"s{i}", "float64"))
        scan._doc["data_streams"][f"s{i}"]["info"]["plugin"] = plugin
    scan.prepare()
    with redis.Redis.from_url(store.url) as client:
        client.execute_command(
            "JSON.SET", scan.key, "$.data_streams.s0.encoding", '{"type": "planted_module_xyz"}'
        )
    try:
        reader = store.load_scan(scan.key)
    except ScanValidationError:
        pass  # a non-string plugin name may make the whole document invalid
    else:
        for stream in reader.streams.values():
            with pytest.raises(BlissdataError):
                len(stream)
    # string names alone: the scan loads, only those streams are broken
    scan2 = store.create_scan({"name": "p", "number": 2, "data_policy": "no_policy"})
    scan2.info["save"] = False
    for i, plugin in enumerate(["planted_module_xyz", "os", "blissdata_core.acl", "../x"]):
        scan2.create_stream(Stream.make_definition(f"s{i}", "float64"))
        scan2._doc["data_streams"][f"s{i}"]["info"]["plugin"] = plugin
    scan2.prepare()
    reader = store.load_scan(scan2.key)
    assert len(reader.streams) == 4
    for stream in reader.streams.values():
        with pytest.raises(BlissdataError):
            len(stream)
    assert "planted_module_xyz" not in sys.modules
    import builtins

    assert not hasattr(builtins, "PLANTED")


# --- send(): invalid input refused whole ----------------------------------------------


@pytest.mark.parametrize(
    "dtype, shape, bad",
    [
        ("float64", (), "text"),
        ("float64", (), [1.0, "a"]),
        ("float64", (), [[1.0], [2.0, 3.0]]),
        ("float64", (3,), np.zeros(4)),
        ("float64", (3,), np.zeros((2, 4))),
        ("float64", (3,), np.zeros((2, 3), np.float32)),
        ("float64", (), np.array([], np.float64)),
        ("int32", (), 1.5),
        ("int32", (), 2**40),
        ("uint8", (), [1, 2, 300]),
        ("uint8", (), -1),
        ("int64", (), np.array([1, 2], ">i8")),
        ("int64", (), np.array([object()])),
        ("bool", (), 2.0),
        ("float64", (2, -1), np.zeros((2, 2, 3, 4))),
        ("json", (), {"a": object()}),
        ("json", (), float("nan")),
        ("json", (), {1j: 2}),
    ],
)
def test_invalid_send_is_refused_whole(store, dtype, shape, bad):
    scan = store.create_scan({"name": "send", "number": 1, "data_policy": "no_policy"})
    stream = scan.create_stream(
        Stream.make_definition("s", dtype, None if dtype == "json" else shape)
    )
    scan.prepare()
    scan.start()
    good = {"json": {"ok": 1}, "bool": True}.get(dtype, 1)
    good_point = good if not shape else np.ones([2 if d == -1 else d for d in shape], dtype)
    stream.send(good_point)
    with pytest.raises((TypeError, ValueError, BlissdataError)):
        stream.send(bad)
    stream.send(good_point)
    scan.stop()
    reader = store.load_scan(scan.key).streams["s"]
    assert len(reader) == 2, "nothing of the refused data was written"
    assert len(reader[:]) == 2


# --- size limits: no memory bomb ---------------------------------------------------------


def test_msgpack_containers_are_bounded():
    many_nils = b"\xdd" + (10**6).to_bytes(4, "big") + b"\xc0" * 10**6
    nested_map = msgpack.packb([[2], {"a": b"x"}])
    for payload in (many_nils, nested_map, msgpack.packb([[1] * 40, b""])):
        with pytest.raises(MalformedEntryError):
            NumericEncoder("<f8", (-1,)).decode(entry(0, 1, payload))
    # the legitimate shape still decodes
    good = msgpack.packb([[2], np.arange(2.0).tobytes()])
    assert NumericEncoder("<f8", (-1,)).decode(entry(0, 1, good)).tolist() == [[0.0, 1.0]]


def test_json_payloads_are_bounded(monkeypatch):
    from blissdata_core.encoding import json_encoding

    monkeypatch.setattr(json_encoding, "MAX_JSON_PAYLOAD", 1000)
    assert JsonEncoder().decode(entry(0, 1, b"[" + b"0," * 400 + b"0]"))[0][-1] == 0
    with pytest.raises(MalformedEntryError, match="exceeds"):
        JsonEncoder().decode(entry(0, 1, b"[" + b"0," * 600 + b"0]"))


def test_scan_documents_are_bounded(store, monkeypatch):
    from blissdata_core import scan as scan_module

    scan = store.create_scan(
        {"name": "big", "number": 1, "data_policy": "no_policy"}, info={"blob": "x" * 5000}
    )
    assert store.load_scan(scan.key).info["blob"] == "x" * 5000
    monkeypatch.setattr(scan_module, "MAX_SCAN_DOCUMENT_BYTES", 4000)
    with pytest.raises(ScanValidationError, match="accept"):
        store.load_scan(scan.key)
