"""The RESP command packer: against redis-py's packer as the oracle, and a real server."""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from blissdata_core.resp_writer import INLINE_LIMIT, encode_arg, pack_commands

_args = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=60),
    st.binary(min_size=INLINE_LIMIT - 2, max_size=INLINE_LIMIT + 2),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
)
_names = st.sampled_from(["PING", "XADD", b"GET", "CLIENT LIST", b"CONFIG GET"])
_commands = st.lists(
    st.tuples(_names, st.lists(_args, max_size=6)).map(lambda c: (c[0], *c[1])),
    min_size=1,
    max_size=8,
)


def _joined(buffers: list[Any]) -> bytes:
    return b"".join(bytes(b) for b in buffers)


@settings(max_examples=200, deadline=None)
@given(_commands)
def test_encoding_matches_redis_py(commands: list[tuple[Any, ...]]) -> None:
    oracle = redis.Connection().pack_commands(commands)
    assert _joined(pack_commands(commands)) == _joined(oracle)


def test_a_large_argument_is_passed_through_not_copied() -> None:
    payload = memoryview(np.arange(4096, dtype=np.float64)).cast("B")
    buffers = pack_commands([("XADD", "key", "*", "data", payload), ("PING",)])
    assert any(b is payload for b in buffers)
    assert len(buffers) == 3  # the text before, the payload, the text after


def test_a_memoryview_counts_bytes_not_items() -> None:
    values = np.arange(3, dtype=np.float64)
    assert _joined(pack_commands([("SET", "k", memoryview(values))])) == _joined(
        pack_commands([("SET", "k", values.tobytes())])
    )


def test_numbers_and_enums_are_encoded_as_their_value() -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    assert encode_arg(np.int64(7)) == b"7"
    assert encode_arg(Level.HIGH) == b"3"
    assert encode_arg(np.float64(0.5)) == b"0.5"  # not "np.float64(0.5)"
    assert encode_arg(bytearray(b"ab")) == b"ab"


@pytest.mark.parametrize("arg", [True, None, [1], {"a": 1}, object()])
def test_an_argument_of_no_redis_type_is_refused(arg: Any) -> None:
    with pytest.raises(TypeError, match="not a Redis command argument"):
        pack_commands([("SET", "k", arg)])


def test_a_non_contiguous_large_view_is_refused() -> None:
    strided = memoryview(np.zeros((2, 2 * INLINE_LIMIT), np.uint8)[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        pack_commands([("SET", "k", strided)])


def test_round_trip_through_a_real_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    conn = client.connection_pool.make_connection()
    try:
        large = np.random.default_rng(0).bytes(3 * INLINE_LIMIT)
        conn.send_packed_command(
            pack_commands([("SET", "w:large", memoryview(large)), ("SET", "w:n", np.int64(5))])
        )
        assert conn.read_response() == b"OK"
        assert conn.read_response() == b"OK"
    finally:
        conn.disconnect()
    assert client.get("w:large") == large
    assert client.get("w:n") == b"5"
