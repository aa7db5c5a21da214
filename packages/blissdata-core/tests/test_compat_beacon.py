"""BeaconData: the Redis URLs from a (small, real-socket) Beacon responder, or the override."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from blissdata_core.compat import beacon
from blissdata_core.compat.beacon import BeaconData

HEADER = struct.Struct("<ii")


class BeaconResponder:
    """Speaks Beacon's framing: ``<i type><i len>`` + ``key|args``, answers echo the key."""

    def __init__(self, data_answer=(beacon.REDIS_DATA_SERVER_OK, "datahost|25002"),
                 settings_answer="confhost:25001", keys=None):  # fmt: skip
        self.data_answer = data_answer
        self.settings_answer = settings_answer
        self.keys = dict(keys or {})
        self.requests: list[tuple[int, bytes]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv(self, conn):
        data = b""
        while len(data) < HEADER.size or len(data) < HEADER.size + HEADER.unpack_from(data)[1]:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            data += chunk
        kind, length = HEADER.unpack_from(data)
        return kind, data[HEADER.size : HEADER.size + length]

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            while (msg := self._recv(conn)) is not None:
                kind, body = msg
                self.requests.append(msg)
                key, _, rest = body.partition(b"|")
                if kind == beacon.REDIS_QUERY:
                    reply = (beacon.REDIS_QUERY_ANSWER, self.settings_answer.encode())
                elif kind == beacon.REDIS_DATA_SERVER_QUERY:
                    reply = (self.data_answer[0], key + b"|" + self.data_answer[1].encode())
                elif kind == beacon.KEY_GET:
                    name = rest.decode()
                    if name in self.keys:
                        reply = (beacon.KEY_GET_OK, key + b"|" + self.keys[name].encode())
                    else:
                        reply = (beacon.KEY_GET_UNDEFINED, key + b"|")
                elif kind == beacon.KEY_SET:
                    name, _, value = rest.decode().partition("|")
                    self.keys[name] = value
                    reply = (beacon.KEY_SET_OK, key + b"|")
                else:
                    reply = (999, key + b"|")
                conn.sendall(HEADER.pack(reply[0], len(reply[1])) + reply[1])

    def close(self):
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.fixture
def responder(monkeypatch):
    made = []

    def make(**kw):
        r = BeaconResponder(**kw)
        made.append(r)
        monkeypatch.setenv("BEACON_HOST", f"127.0.0.1:{r.port}")
        return r

    monkeypatch.delenv(beacon.ENV_DATA_URL, raising=False)
    monkeypatch.delenv(beacon.ENV_SETTINGS_URL, raising=False)
    yield make
    for r in made:
        r.close()


def test_data_and_settings_urls_from_beacon_host(responder):
    r = responder()
    b = BeaconData()
    assert b.get_redis_data_db() == "redis://datahost:25002"
    assert b.get_redis_db() == "redis://confhost:25001"
    assert b.get_redis_data_db() == "redis://datahost:25002"  # same connection, next key
    b.close()
    kinds = [k for k, _ in r.requests]
    assert kinds == [
        beacon.REDIS_DATA_SERVER_QUERY,
        beacon.REDIS_QUERY,
        beacon.REDIS_DATA_SERVER_QUERY,
    ]
    assert r.requests[0][1] == b"1|" and r.requests[2][1] == b"2|"


def test_unix_socket_answer(responder):
    responder(data_answer=(beacon.REDIS_DATA_SERVER_OK, "host|/tmp/redis_data.sock"))
    assert BeaconData().get_redis_data_db() == "unix:///tmp/redis_data.sock"


def test_beacon_failure_is_an_error(responder):
    responder(data_answer=(beacon.REDIS_DATA_SERVER_FAILED, "no data server configured"))
    with pytest.raises(RuntimeError, match="no data server configured"):
        BeaconData().get_redis_data_db()


def test_keys(responder):
    responder(keys={"a": "1"})
    b = BeaconData()
    assert b.get("a") == "1"
    assert b.get("missing", None) is None
    with pytest.raises(KeyError, match="missing"):
        b.get("missing")
    b.set("c", "3")
    assert b.get("c") == "3"


def test_override_needs_no_beacon(monkeypatch):
    monkeypatch.delenv("BEACON_HOST", raising=False)
    monkeypatch.setenv(beacon.ENV_DATA_URL, "redis://data:6379")
    monkeypatch.delenv(beacon.ENV_SETTINGS_URL, raising=False)
    b = BeaconData()
    assert b.get_redis_data_db() == "redis://data:6379"
    assert b.get_redis_db() == "redis://data:6379"
    monkeypatch.setenv(beacon.ENV_SETTINGS_URL, "redis://settings:6379")
    assert b.get_redis_db() == "redis://settings:6379"


def test_override_wins_over_beacon_host(responder, monkeypatch):
    r = responder()
    monkeypatch.setenv(beacon.ENV_DATA_URL, "redis://override:1")
    assert BeaconData().get_redis_data_db() == "redis://override:1"
    assert r.requests == []


@pytest.mark.parametrize("value", [None, "nohostport", "host:notaport"])
def test_bad_or_missing_beacon_host(monkeypatch, value):
    monkeypatch.delenv(beacon.ENV_DATA_URL, raising=False)
    if value is None:
        monkeypatch.delenv("BEACON_HOST", raising=False)
    else:
        monkeypatch.setenv("BEACON_HOST", value)
    with pytest.raises(ValueError, match="BEACON_HOST"):
        BeaconData()


def test_unreachable_beacon_raises_at_construction(monkeypatch):
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.delenv(beacon.ENV_DATA_URL, raising=False)
    monkeypatch.setenv("BEACON_HOST", f"127.0.0.1:{port}")
    with pytest.raises(ConnectionRefusedError):
        BeaconData()
