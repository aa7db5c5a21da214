"""Connecting by URL: TCP, unix socket, database number, credentials."""

import pytest

from blissdata_core import DataStore, Stream
from blissdata_core.connection import redact_url


def test_unix_socket_url(redis_server, data_store):
    embedded = getattr(redis_server, "embedded", None)
    unix_url = embedded.unix_url if embedded is not None else None
    if not unix_url:
        pytest.skip("the test server has no unix socket")
    scan = data_store.create_scan({"name": "u", "number": 1, "data_policy": "p"})
    s = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    s.send(1.0)
    s.seal()
    over_socket = DataStore(unix_url)
    assert over_socket.load_scan(scan.key).streams["x"][0] == 1.0


def test_password_is_redacted():
    assert redact_url("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("rediss://:secret@host") == "rediss://:***@host"
    assert redact_url("redis://host:6379") == "redis://host:6379"


def test_bad_url_is_a_clear_error():
    with pytest.raises(ValueError, match="Invalid Redis URL"):
        DataStore("http://nowhere")


def test_unreachable_server_fails_fast():
    from blissdata_core import ServerConnectionError

    with pytest.raises(ServerConnectionError):
        DataStore("redis://127.0.0.1:1")
