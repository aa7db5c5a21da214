"""The zero-copy RESP2 reader: against generated replies on a socket pair, and a real server."""

from __future__ import annotations

import ctypes
import random
import socket
import threading
from typing import Any

import numpy as np
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis._parsers import BaseParser

from blissdata_core.errors import ServerConnectionError
from blissdata_core.resp_reader import LARGE_BULK, Arena, RespProtocolError, RespReader

# --- generated replies ---------------------------------------------------------------


def _bulk_sizes() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(0, 40),
        st.integers(LARGE_BULK - 3, LARGE_BULK + 3),
        st.integers(LARGE_BULK, 6 * LARGE_BULK),
    )


@st.composite
def _bulk(draw: Any) -> tuple[str, bytes]:
    size = draw(_bulk_sizes())
    seed = draw(st.integers(0, 2**32 - 1))
    # random bytes, so CRLF and RESP type bytes turn up inside payloads
    return ("bulk", np.random.default_rng(seed).bytes(size))


_leaves = st.one_of(
    _bulk(),
    st.just(("null", None)),
    st.just(("null_array", None)),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: ("int", n)),
    st.binary(max_size=20)
    .filter(lambda b: b"\r" not in b and b"\n" not in b)
    .map(lambda b: ("simple", b)),
    st.sampled_from(
        ["ERR something wrong", "WRONGTYPE Operation against a key", "NOPERM denied", "OOM full"]
    ).map(lambda m: ("error", m)),
)
_values = st.recursive(
    _leaves, lambda inner: st.lists(inner, max_size=6).map(lambda v: ("array", v)), max_leaves=25
)


def _serialise(value: tuple[str, Any]) -> bytes:
    kind, item = value
    if kind == "bulk":
        return b"$%d\r\n%b\r\n" % (len(item), item)
    if kind == "null":
        return b"$-1\r\n"
    if kind == "null_array":
        return b"*-1\r\n"
    if kind == "int":
        return b":%d\r\n" % item
    if kind == "simple":
        return b"+%b\r\n" % item
    if kind == "error":
        return b"-%b\r\n" % item.encode()
    return b"*%d\r\n" % len(item) + b"".join(_serialise(v) for v in item)


def _expected(value: tuple[str, Any]) -> Any:
    kind, item = value
    if kind in ("bulk", "simple", "int"):
        return item
    if kind in ("null", "null_array"):
        return None
    if kind == "error":
        error = BaseParser.parse_error(item)
        return (type(error), str(error))
    return [_expected(v) for v in item]


def _comparable(parsed: Any) -> Any:
    if isinstance(parsed, memoryview):
        assert not parsed.readonly and len(parsed) >= LARGE_BULK
        return bytes(parsed)
    if isinstance(parsed, bytes):
        assert len(parsed) < LARGE_BULK
        return parsed
    if isinstance(parsed, Exception):
        return (type(parsed), str(parsed))
    if isinstance(parsed, list):
        return [_comparable(v) for v in parsed]
    return parsed


def _send_in_chunks(
    sock: socket.socket, data: bytes, seed: int, close: bool = False
) -> threading.Thread:
    """Send ``data`` in random-sized pieces from a thread, like a server's writes."""

    def run() -> None:
        rng = random.Random(seed)
        view = memoryview(data)
        pos = 0
        try:
            while pos < len(view):
                size = rng.choice([1, 7, 100, 4096, 70_000])
                sock.sendall(view[pos : pos + size])
                pos += size
        except OSError:  # the reader gave up and closed its end
            pass
        finally:
            if close:
                sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    b.settimeout(30)
    yield a, b
    a.close()
    b.close()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(replies=st.lists(_values, min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_replies_parse_like_the_values_sent(replies: list, seed: int) -> None:
    a, b = socket.socketpair()
    b.settimeout(30)
    with a, b:
        data = b"".join(_serialise(r) for r in replies)
        writer = _send_in_chunks(a, data, seed)
        parsed = RespReader(b).read_many(len(replies))
        writer.join()
    assert [_comparable(p) for p in parsed] == [_expected(r) for r in replies]


def test_error_replies_map_to_redis_py_classes(pair) -> None:
    a, b = pair
    a.sendall(b"-NOPERM no rights\r\n-OOM full\r\n-ERR bad\r\n")
    noperm, oom, err = RespReader(b).read_many(3)
    assert isinstance(noperm, redis.exceptions.NoPermissionError)
    assert isinstance(oom, redis.exceptions.OutOfMemoryError)
    assert type(err) is redis.ResponseError and str(err) == "bad"


def test_large_bulks_of_a_reply_are_adjacent(pair) -> None:
    a, b = pair
    payloads = [
        np.full(size, i, np.uint8).tobytes() for i, size in enumerate([40_000, 80_000, 16_384])
    ]
    entries = [[b"%d-1" % i, [b"payload", p, b"len", b"1"]] for i, p in enumerate(payloads)]
    reply = (
        "array",
        [
            ("array", [("bulk", i), ("array", [("bulk", x) for x in fields])])
            for i, fields in entries
        ],
    )
    _send_in_chunks(a, _serialise(reply), 1)
    parsed = RespReader(b).read_many(1)[0]
    views = [entry[1][1] for entry in parsed]
    assert [bytes(v) for v in views] == payloads
    assert all(isinstance(entry[0], bytes) and isinstance(entry[1][0], bytes) for entry in parsed)
    addresses = [ctypes.addressof(ctypes.c_char.from_buffer(v)) for v in views]
    assert len({id(v.obj) for v in views}) == 1
    for view, address, following in zip(views, addresses, addresses[1:]):
        assert address + len(view) == following
    views[0][:4] = b"abcd"  # writable


def test_replies_do_not_share_memory(pair) -> None:
    """Each reply starts a new arena chunk: a kept payload pins only its own reply."""
    a, b = pair
    bulk = b"x" * LARGE_BULK
    a.sendall(_serialise(("bulk", bulk)) * 2)
    first, second = RespReader(b).read_many(2)
    assert first.obj is not second.obj


def test_chunks_are_reused_once_nothing_points_into_them(pair) -> None:
    import weakref

    a, b = pair
    _send_in_chunks(a, _serialise(("bulk", b"x" * 100_000)) * 3, 5)
    reader = RespReader(b)
    first = reader.read()
    chunk = weakref.ref(first.obj)
    del first
    second = reader.read()
    assert second.obj is chunk()  # nothing pointed into it any more
    third = reader.read()
    assert third.obj is not second.obj  # ``second`` still points into its chunk
    assert bytes(second) == bytes(third) == b"x" * 100_000
    reader.finish()


def test_arena_never_moves_handed_out_slices() -> None:
    arena = Arena()
    first = arena.take(100, reserve=128)  # a chunk of 128 bytes
    first[:] = b"a" * 100
    second = arena.take(100)  # does not fit: a new chunk, the first one untouched
    second[:] = b"b" * 100
    assert bytes(first) == b"a" * 100 and first.obj is not second.obj
    arena.reset()
    third = arena.take(3, reserve=64)
    fourth = arena.take(8)  # right after, unpadded
    assert ctypes.addressof(ctypes.c_char.from_buffer(third)) % 8 == 0  # a chunk starts aligned
    address = ctypes.addressof(ctypes.c_char.from_buffer(fourth))
    assert (
        third.obj is fourth.obj
        and address == ctypes.addressof(ctypes.c_char.from_buffer(third)) + 3
    )


def test_leftover_bytes_are_a_desync(pair) -> None:
    a, b = pair
    a.sendall(b":1\r\n:2\r\n")
    reader = RespReader(b)
    reader.wait(5)
    with pytest.raises(ServerConnectionError, match="unexpected"):
        reader.read_many(1)


@pytest.mark.parametrize(
    "data", [b"*3\r\n:1\r\n", b"$100000\r\n" + b"x" * 50_000, b"$5\r\nabc", b"+OK"]
)
def test_end_of_stream_mid_reply(pair, data: bytes) -> None:
    a, b = pair
    _send_in_chunks(a, data, 3, close=True).join()
    with pytest.raises(ServerConnectionError, match="closed"):
        RespReader(b).read_many(1)


@pytest.mark.parametrize(
    "data",
    [b"!oops\r\n", b"$abc\r\n", b"*-2\r\n", b"$3\r\nabcXY", b"$20000\r\n" + b"y" * 20000 + b"XY"],
)
def test_protocol_violations(pair, data: bytes) -> None:
    a, b = pair
    a.sendall(data)
    with pytest.raises(RespProtocolError):
        RespReader(b).read_many(1)


def test_endless_line(pair) -> None:
    from blissdata_core.resp_reader import MAX_LINE

    a, b = pair
    _send_in_chunks(a, b"+" + b"x" * (MAX_LINE + 70_000), 4)
    with pytest.raises(RespProtocolError, match="No CRLF"):
        RespReader(b).read_many(1)


def test_timeout_is_a_connection_error(pair) -> None:
    a, b = pair
    b.settimeout(0.05)
    a.sendall(b"*2\r\n:1\r\n")
    with pytest.raises(ServerConnectionError, match="Timeout"):
        RespReader(b).read_many(1)


def test_wait(pair) -> None:
    a, b = pair
    reader = RespReader(b)
    assert not reader.wait(0)
    a.sendall(b":1\r\n")
    assert reader.wait(5)
    assert reader.read_many(1) == [1]


# --- against a real server -------------------------------------------------------------


def _fill_stream(url: str, key: str, sizes: list[int]) -> list[bytes]:
    rng = np.random.default_rng(0)
    payloads = [rng.bytes(size) for size in sizes]
    with redis.Redis.from_url(url, protocol=2) as client:
        for i, payload in enumerate(payloads):
            client.xadd(key, {"payload": payload, "len": 1}, id=f"{i}-1")
    return payloads


def _plain(reply: Any) -> Any:
    if isinstance(reply, list):
        return [_plain(v) for v in reply]
    if isinstance(reply, memoryview):
        return bytes(reply)
    return reply


def test_stream_reads_match_redis_py(redis_url: str) -> None:
    from blissdata_core.connection import RedisConnection

    sizes = [10, LARGE_BULK - 1, LARGE_BULK, 300_000, 80_000, 5, 2_000_000]
    payloads = _fill_stream(redis_url, "zc", sizes)
    conn = RedisConnection(redis_url)
    try:
        for command in (
            ("XRANGE", "zc", "-", "+"),
            ("XREVRANGE", "zc", "+", "-", "COUNT", 3),
            ("XREAD", "COUNT", 100, "STREAMS", "zc", "0-0"),
        ):
            expected = conn.call(*command)
            assert _plain(conn.call(*command, zero_copy=True)) == expected
        blocking = ("XREAD", "BLOCK", 1000, "COUNT", 100, "STREAMS", "zc", "0-0")
        assert _plain(conn.blocking_call(1, *blocking, zero_copy=True)) == conn.call(*blocking)
        ranges = [("XRANGE", "zc", "-", "+"), ("XREVRANGE", "zc", "+", "-", "COUNT", 2)]
        expected = conn.call_many(ranges, transaction=True)
        assert _plain(conn.call_many(ranges, transaction=True, zero_copy=True)) == expected
        many = conn.call_many(
            [("XRANGE", "zc", "-", "+"), ("GET", "none"), ("LPUSH", "zc", 1)], zero_copy=True
        )
        assert [bytes(f[1][1]) for f in many[0]] == payloads
        assert many[1] is None and isinstance(many[2], redis.ResponseError)
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            conn.call("LPUSH", "zc", 1, zero_copy=True)
        assert conn.call("PING", zero_copy=True) == b"PONG"  # still in step
        assert (
            conn.blocking_call(0.1, "XREAD", "BLOCK", 100, "STREAMS", "zc", "$", zero_copy=True)
            is None
        )
    finally:
        conn.close()


def test_reconnection_gets_a_new_reader(redis_url: str) -> None:
    from blissdata_core.connection import RedisConnection

    _fill_stream(redis_url, "zc2", [100_000])
    conn = RedisConnection(redis_url)
    try:
        first = conn.call("XRANGE", "zc2", "-", "+", zero_copy=True)
        with redis.Redis.from_url(redis_url) as admin:
            admin.client_kill_filter(_type="normal", skipme=True)
        # the idle check notices the closed socket; the next command reconnects
        again = conn.call("XRANGE", "zc2", "-", "+", zero_copy=True)
        assert _plain(again) == _plain(first)
    finally:
        conn.close()


def test_unix_socket(redis_server_factory) -> None:
    from blissdata_core.connection import RedisConnection

    server = redis_server_factory()
    if not server.unix_url:
        pytest.skip("the server has no unix socket")
    payloads = _fill_stream(server.url, "zc3", [LARGE_BULK, 200_000])
    conn = RedisConnection(server.unix_url)
    try:
        reply = conn.call("XRANGE", "zc3", "-", "+", zero_copy=True)
        assert [bytes(e[1][1]) for e in reply] == payloads
    finally:
        conn.close()


def test_tls(tls_only_args) -> None:
    from blissdata_core.connection import RedisConnection
    from blissdata_core.server import EmbeddedRedis, ServerNotFoundError

    tls_args, tls_port, cert = tls_only_args
    try:
        server = EmbeddedRedis(extra_args=tls_args).__enter__()
    except ServerNotFoundError as exc:
        pytest.skip(f"no embedded server: {exc}")
    try:
        conn = RedisConnection(
            f"rediss://127.0.0.1:{tls_port}", ssl_ca_certs=str(cert), ssl_check_hostname=False
        )
        payloads = [
            np.random.default_rng(i).bytes(size) for i, size in enumerate([5, 70_000, 1_000_000])
        ]
        try:
            for i, payload in enumerate(payloads):
                conn.call("XADD", "tls", f"{i}-1", "payload", payload)
            reply = conn.call("XRANGE", "tls", "-", "+", zero_copy=True)
            assert [bytes(e[1][1]) for e in reply] == payloads
            blocked = conn.blocking_call(
                1, "XREAD", "BLOCK", 1000, "STREAMS", "tls", "0-0", zero_copy=True
            )
            assert [bytes(e[1][1]) for e in blocked[0][1]] == payloads
        finally:
            conn.close()
    finally:
        server.__exit__(None, None, None)


def test_stalled_server_is_a_connection_error(redis_server_factory) -> None:
    """A blocking zero-copy read gives up after its grace period, like the default path."""
    from blissdata_core.connection import RedisConnection

    server = redis_server_factory()
    conn = RedisConnection(server.url)
    try:
        assert conn.call("PING", zero_copy=True) == b"PONG"
        server.pause()
        try:
            with pytest.raises(ServerConnectionError):
                conn.blocking_call(0.1, "XREAD", "BLOCK", 100, "STREAMS", "k", "$", zero_copy=True)
        finally:
            server.resume()
        assert conn.call("PING", zero_copy=True) == b"PONG"  # reconnected
    finally:
        conn.close()
