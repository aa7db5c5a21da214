"""The shared pytest fixtures of blissdata_core.testing, used on themselves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from blissdata_core import protocol
from blissdata_core.testing import (
    RedisServer,
    ReferenceRunError,
    _url_from_env,
    docker_available,
    run_reference,
)


def test_redis_url_is_initialised(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert client.get(protocol.PROTOCOL_KEY) == str(protocol.PROTOCOL_VERSION)
        assert protocol.SEARCH_INDEX_NAME in client.execute_command("FT._LIST")
        libraries = {
            dict(zip(lib[::2], lib[1::2]))["library_name"] for lib in client.function_list()
        }
        assert protocol.SEAL_FUNCTION_LIBRARY in libraries


@pytest.mark.parametrize("round", [1, 2])
def test_redis_url_starts_clean(redis_url: str, round: int) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert not client.exists("leftover")  # written by the other round, then flushed
        client.set("leftover", round)


def test_data_store_fixture(data_store: object, redis_url: str) -> None:
    assert type(data_store).__name__ == "DataStore"


def test_redis_server_fixture_kill_and_recover(redis_server: RedisServer) -> None:
    if not redis_server.controllable:
        pytest.skip("external server")
    url = redis_server.url
    pid = redis_server.pid
    redis_server.kill()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url).ping()
    redis_server.ensure_running()  # what the fixture does after every test
    assert redis_server.url == url and redis_server.pid != pid
    assert redis.Redis.from_url(url).ping()


def test_redis_server_fixture_pause_then_restart(redis_server: RedisServer) -> None:
    if not redis_server.controllable:
        pytest.skip("external server")
    redis_server.pause()
    redis_server.restart()  # works on a paused server
    assert redis.Redis.from_url(redis_server.url).ping()


def test_redis_server_left_paused_is_resumed(redis_server: RedisServer) -> None:
    """Leaves the server paused on purpose: later tests prove the fixture resumed it."""
    if not redis_server.controllable:
        pytest.skip("external server")
    redis_server.pause()


def test_redis_server_after_paused_test(redis_url: str) -> None:
    assert redis.Redis.from_url(redis_url, socket_timeout=60).ping()


def test_external_server_cannot_be_controlled() -> None:
    server = RedisServer("redis://127.0.0.1:1", "url")
    assert not server.controllable
    with pytest.raises(pytest.skip.Exception, match="embedded"):
        server.kill()


def test_server_factory_with_password(redis_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = redis_server_factory(["--requirepass", "pw"], password="pw")
    with redis.Redis.from_url(server.url) as client:
        with pytest.raises(redis.AuthenticationError):
            client.ping()
    assert redis.Redis.from_url(server.url, password="pw").ping()


def test_one_url_per_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLISSDATA_REDIS_URL", "redis://a:1, redis://b:2")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert _url_from_env() == "redis://b:2"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw2")
    with pytest.raises(pytest.fail.Exception, match="one URL per worker"):
        _url_from_env()


def test_docker_probe_is_quick_without_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    assert docker_available() is False


@pytest.mark.interop
def test_reference_python(reference_python: Path) -> None:
    assert reference_python.exists()
    out = run_reference(
        "import sys, blissdata, blisswriter, redis, pydantic\n"
        "from importlib.metadata import version\n"
        "print(version('blissdata'), version('blisswriter'), redis.__version__,"
        " pydantic.VERSION, sys.argv[1])",
        "hello",
    )
    assert out.split() == ["2.4.5", "3.0.0", "5.2.1", "2.11.7", "hello"]


@pytest.mark.interop
def test_reference_errors_carry_stderr(reference_python: Path) -> None:
    with pytest.raises(ReferenceRunError, match="boom"):
        run_reference("raise SystemExit('boom')")


def test_reference_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\nshift 2\necho "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("BLISSDATA_REFERENCE_PYTHON", str(fake))
    assert run_reference("ignored", "a", "b") == "a b\n"
    assert os.environ["BLISSDATA_REFERENCE_PYTHON"] == str(fake)


def test_docker_probe_sees_an_answering_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import tempfile
    import threading

    with tempfile.TemporaryDirectory(dir="/tmp") as short:  # sun_path is short
        path = os.path.join(short, "docker.sock")
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path)
            listener.listen(1)

            def answer() -> None:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

            thread = threading.Thread(target=answer)
            thread.start()
            monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
            assert docker_available() is True
            thread.join()


def test_fixtures_are_opt_in_for_other_test_suites(tmp_path: Path) -> None:
    """Installing blissdata-core brings no fixture into a foreign suite, until it opts in."""
    import subprocess
    import sys

    (tmp_path / "test_theirs.py").write_text("def test_uses_it(redis_url):\n    pass\n")
    # their own configuration, and no conftest.py above it (tmp_path may lie inside this repository)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
               "--rootdir", str(tmp_path), "--confcutdir", str(tmp_path)]  # fmt: skip
    plain = subprocess.run([*command, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert "fixture 'redis_url' not found" in plain.stdout, plain.stdout
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["blissdata_core.testing"]\n')
    opted_in = subprocess.run(
        [*command, "--fixtures", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert "redis_url" in opted_in.stdout, opted_in.stdout
