"""Finding the Redis databases: Beacon (``BEACON_HOST``) or an environment override.

BLISS publishes the Redis URLs through Beacon; consumers ask it with
``BeaconData().get_redis_data_db()``.  The wire format (all integers little
endian): a request is ``<i message_type><i length>`` then ``length`` bytes,
``key|arg|arg...``; the answer has the same header and echoes the key before
its first ``|``.  Sites without Beacon set :data:`ENV_DATA_URL` (and
optionally :data:`ENV_SETTINGS_URL`) instead; the override wins over Beacon.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from typing import Any

#: Redis URL of the scan data database, for sites without Beacon.
ENV_DATA_URL = "BLISSDATA_DATA_URL"
#: Redis URL of the settings database (defaults to :data:`ENV_DATA_URL`).
ENV_SETTINGS_URL = "BLISSDATA_SETTINGS_URL"
ENV_BEACON_HOST = "BEACON_HOST"

_HEADER = struct.Struct("<ii")

REDIS_QUERY = 30
REDIS_QUERY_ANSWER = 31
REDIS_DATA_SERVER_QUERY = 32
REDIS_DATA_SERVER_FAILED = 33
REDIS_DATA_SERVER_OK = 34
KEY_SET = 140
KEY_SET_OK = 141
KEY_SET_FAILED = 142
KEY_GET = 143
KEY_GET_OK = 144
KEY_GET_FAILED = 145
KEY_GET_UNDEFINED = 146

_UNDEFINED: Any = object()


def get_beacon_address() -> tuple[str, int]:
    """``(host, port)`` from ``BEACON_HOST=host:port``; ValueError when unset or malformed."""
    value = os.environ.get(ENV_BEACON_HOST)
    if value is None:
        raise ValueError(f"${ENV_BEACON_HOST} is not specified (or set ${ENV_DATA_URL})")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"${ENV_BEACON_HOST} must be 'hostname:port', not {value!r}")
    return host, int(port)


def _url(host: str, port: str) -> str:
    return f"redis://{host}:{int(port)}" if port.isdigit() else f"unix://{port}"


class BeaconData:
    """Where BLISS keeps its Redis databases (``blissdata.beacon.data.BeaconData``).

    With :data:`ENV_DATA_URL` set, no Beacon is contacted.  Otherwise the
    connection opens at construction, as the reference client does, and a
    missing or malformed ``BEACON_HOST`` raises ValueError there.
    """

    def __init__(self, host: str | None = None, port: int | None = None, timeout: float = 3.0):
        self._lock = threading.Lock()
        self._next_key = 0
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        if host is not None and port is not None:
            self._address = (host, int(port))
        elif not os.environ.get(ENV_DATA_URL):
            self._address = get_beacon_address()
        if self._address is not None:
            self._sock = self._connect()

    def __repr__(self) -> str:
        where = f"{self._address[0]}:{self._address[1]}" if self._address else ENV_DATA_URL
        return f"BeaconData({where})"

    def _connect(self) -> socket.socket:
        assert self._address is not None
        return socket.create_connection(self._address, timeout=self._timeout)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def reconnect(self) -> None:
        self.close()
        self._sock = self._connect()

    # -- wire ----------------------------------------------------------------------------
    def _recv_message(self) -> tuple[int, bytes]:
        assert self._sock is not None
        data = b""
        while True:
            if len(data) >= _HEADER.size:
                kind, length = _HEADER.unpack_from(data)
                if len(data) >= _HEADER.size + length:
                    return kind, data[_HEADER.size : _HEADER.size + length]
            chunk = self._sock.recv(16384)
            if not chunk:
                raise ConnectionError(f"Beacon at {self._address} closed the connection")
            data += chunk

    def _exchange(self, message_type: int, payload: bytes) -> tuple[int, bytes]:
        with self._lock:
            if self._sock is None:
                self._sock = self._connect()
            try:
                self._sock.sendall(_HEADER.pack(message_type, len(payload)) + payload)
                return self._recv_message()
            except (BrokenPipeError, ConnectionError):
                self.reconnect()  # one retry on a fresh connection
                self._sock.sendall(_HEADER.pack(message_type, len(payload)) + payload)
                return self._recv_message()

    def _request(self, message_type: int, *args: str) -> tuple[int, bytes]:
        self._next_key = (self._next_key + 1) % 100000
        key = str(self._next_key)
        kind, body = self._exchange(message_type, "|".join((key, *args)).encode())
        got_key, _, rest = body.partition(b"|")
        if got_key.decode() != key:
            raise RuntimeError(f"Beacon answered message {got_key!r}, expected {key!r}")
        return kind, rest

    # -- API -----------------------------------------------------------------------------
    def get_redis_db(self) -> str:
        """URL of the Redis database holding BLISS settings."""
        override = os.environ.get(ENV_SETTINGS_URL) or os.environ.get(ENV_DATA_URL)
        if override and self._address is None:
            return override
        kind, body = self._exchange(REDIS_QUERY, b"")
        if kind != REDIS_QUERY_ANSWER:
            raise RuntimeError(f"Unexpected Beacon response type {kind}")
        host, _, port = body.decode().partition(":")
        return _url(host, port)

    def get_redis_data_db(self) -> str:
        """URL of the Redis database holding scan data."""
        override = os.environ.get(ENV_DATA_URL)
        if override and self._address is None:
            return override
        kind, body = self._request(REDIS_DATA_SERVER_QUERY, "")
        if kind == REDIS_DATA_SERVER_OK:
            host, port = body.decode().split("|")[:2]
            return _url(host, port)
        if kind == REDIS_DATA_SERVER_FAILED:
            raise RuntimeError(body.decode())
        raise RuntimeError(f"Unexpected Beacon response type {kind}")

    def get(self, key: str, default: Any = _UNDEFINED) -> Any:
        """A value Beacon stores; KeyError (or ``default``) when undefined."""
        kind, body = self._request(KEY_GET, key)
        if kind == KEY_GET_OK:
            return body.decode()
        if kind == KEY_GET_UNDEFINED:
            if default is not _UNDEFINED:
                return default
            raise KeyError(f"Beacon key {key!r} is undefined")
        if kind == KEY_GET_FAILED:
            raise RuntimeError(body.decode())
        raise RuntimeError(f"Unexpected Beacon response type {kind}")

    def set(self, key: str, value: str) -> bytes:
        kind, body = self._request(KEY_SET, key, value)
        if kind == KEY_SET_OK:
            return body
        if kind == KEY_SET_FAILED:
            raise RuntimeError(body.decode())
        raise RuntimeError(f"Unexpected Beacon response type {kind}")
