"""Shared helpers of the core tests (fixtures come from blissdata_core.testing)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def new_scan(data_store):
    """Factory: a scan in state CREATED with the given streams."""
    counter = iter(range(1, 10**6))

    def make(**definitions):
        from blissdata_core import Stream

        scan = data_store.create_scan(
            {"name": "test", "number": next(counter), "data_policy": "no_policy"}
        )
        streams = {}
        for name, spec in definitions.items():
            dtype, shape = spec if isinstance(spec, tuple) else (spec, None)
            streams[name] = scan.create_stream(Stream.make_definition(name, dtype, shape))
        return scan, streams

    return make


@pytest.fixture
def tls_only_args(tmp_path: Path) -> tuple[list[str], int, Path]:
    """``redis-server`` arguments for TLS only, on a free port, with a
    self-signed certificate made by openssl (the test is skipped without it):
    ``(arguments, TLS port, certificate)``."""
    from blissdata_core.server import free_port

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    args = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
            "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
            "--tls-auth-clients", "no"]  # fmt: skip
    return args, port, cert


@pytest.fixture
def raw_scan(data_store):
    """Factory: a scan document written by hand (state PREPARED), for documents
    no client would write.  ``raw_scan(data_streams, mutate=None) -> key``;
    ``mutate(doc)`` edits the document before it is stored."""
    from blissdata_core.ulid import new_ulid

    def make(data_streams: dict, mutate=None) -> str:
        pk, state_pk = new_ulid(), new_ulid()
        doc = {
            "pk": pk,
            "id": {"pk": new_ulid(), "name": "raw", "number": 1, "data_policy": "p",
                   "session": None, "proposal": None, "collection": None, "dataset": None,
                   "path": None},
            "info": {},
            "state_stream": {"pk": state_pk, "encoding": None, "info": None},
            "data_streams": data_streams,
        }  # fmt: skip
        if mutate is not None:
            mutate(doc)
        data_store.redis.execute_command("JSON.SET", f"esrf:scan:{pk}", "$", json.dumps(doc))
        data_store.redis.xadd(f"esrf:stream:{state_pk}", {"state": 1})
        return f"esrf:scan:{pk}"

    return make


@pytest.fixture
def fail_publication(redis_url):
    """``fail_publication(stream) -> repair``: the next XADD into the stream fails
    (its key holds a string meanwhile) until ``repair()`` puts the stream back."""
    import redis

    raw = redis.Redis.from_url(redis_url)

    def fail(stream):
        held = stream.key + ":held"
        raw.rename(stream.key, held)
        raw.set(stream.key, "not a stream")

        def repair():
            raw.delete(stream.key)
            raw.rename(held, stream.key)

        return repair

    yield fail
    raw.close()
