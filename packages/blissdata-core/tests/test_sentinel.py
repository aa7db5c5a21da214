"""``blissdata sentinel`` and EmbeddedSentinel: real processes, no timing assertions."""

from __future__ import annotations

import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from blissdata_core import DataStore
from blissdata_core.errors import SentinelConfigError
from blissdata_core.sentinel import EmbeddedSentinel
from blissdata_core.server import EmbeddedRedis, ServerNotFoundError, free_port, locate_server

URL_LINE = re.compile(r"^redis\+sentinel://127\.0\.0\.1:(\d+)/(\w+)$")
#: Safety net only, so a broken process cannot hang the suite; never a measured bound.
HANG_GUARD = 300


@pytest.fixture(scope="module")
def primary() -> Iterator[EmbeddedRedis]:
    """An initialised primary for the sentinels of this module to monitor."""
    try:
        locate_server()
    except ServerNotFoundError as exc:
        pytest.skip(f"no embedded server on this machine: {exc}")
    with EmbeddedRedis() as server:
        DataStore(server.url, init_db=True).close()
        yield server


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _readline(stream) -> str:  # type: ignore[no-untyped-def]
    """One line of ``stream`` (empty at EOF), guarded against hangs."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(HANG_GUARD)
    if not result:
        pytest.fail("blissdata sentinel printed nothing")
    return result[0]


@pytest.fixture
def start_cli() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``blissdata sentinel``; whatever the test does, nothing outlives it."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "blissdata_core.cli", "sentinel", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(HANG_GUARD)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_url_a_data_store_uses_and_stops_cleanly(
    primary: EmbeddedRedis, start_cli: Callable[..., subprocess.Popen[str]], sig: int
) -> None:
    proc = start_cli("--monitor", primary.url)
    line = _readline(proc.stdout)
    match = URL_LINE.match(line.strip())
    assert match, f"unexpected first line {line!r}; stderr: {'' if line else proc.stderr.read()}"  # type: ignore[union-attr]
    assert match[2] == "bd"
    details = _readline(proc.stderr)
    config = Path(re.search(r"config (\S+)", details)[1])  # type: ignore[index]
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700  # private: holds the password
    with DataStore(line.strip()) as store:  # Sentinel names the primary, initialised
        scan = store.create_scan({"name": "s", "number": 1, "data_policy": "no_policy"})
        with DataStore(primary.url) as direct:
            assert scan.key in direct.search_existing_scans()[1]

    proc.send_signal(sig)
    assert proc.wait(HANG_GUARD) == 0, proc.stderr.read()  # type: ignore[union-attr]
    assert _port_is_free(int(match[1]))
    assert not config.parent.exists()  # the private directory goes with it


def test_cli_options_and_kept_dir(
    primary: EmbeddedRedis, start_cli: Callable[..., subprocess.Popen[str]], tmp_path: Path
) -> None:
    port = free_port()
    workdir = tmp_path / "sentinel-dir"
    proc = start_cli(
        "--monitor", primary.url, "--name", "beamline", "--port", str(port), "--dir",
        str(workdir), "--down-after-ms", "2500", "--failover-timeout-ms", "20000",
        "--", "--sentinel", "announce-port", str(port),
    )  # fmt: skip
    line = _readline(proc.stdout).strip()
    assert line == f"redis+sentinel://127.0.0.1:{port}/beamline", proc.stderr.read()  # type: ignore[union-attr]
    import redis

    with redis.Redis(port=port, decode_responses=True) as client:
        info = client.sentinel_master("beamline")
    assert (info["ip"], info["port"]) == ("127.0.0.1", primary.port)
    assert info["down-after-milliseconds"] == 2500 and info["failover-timeout"] == 20000
    config = workdir / "sentinel.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    proc.terminate()
    assert proc.wait(HANG_GUARD) == 0
    assert "sentinel monitor beamline" in config.read_text()  # kept, as Sentinel rewrote it


def _bad_inputs(primary: EmbeddedRedis) -> dict[str, tuple[list[str], str]]:
    """name -> (arguments, what the one-line message must say)."""
    return {
        "unreachable": (["--monitor", f"redis://127.0.0.1:{free_port()}"], "start it first"),
        "not a redis URL": (["--monitor", "http://127.0.0.1:6379"], "redis://"),
        "no host": (["--monitor", "redis://"], "redis://"),
        "port in use": (["--monitor", primary.url, "--port", str(primary.port)], "--port"),
        "quorum": (["--monitor", primary.url, "--quorum", "0"], "--quorum"),
        "bad option": (["--monitor", primary.url, "--", "--no-such-option", "1"], "options"),
    }


@pytest.mark.parametrize(
    "case",
    ["unreachable", "not a redis URL", "no host", "port in use", "quorum", "bad option"],
)  # fmt: skip
def test_cli_bad_input_is_one_line(primary: EmbeddedRedis, case: str) -> None:
    args, fix = _bad_inputs(primary)[case]
    proc = subprocess.run(
        [sys.executable, "-m", "blissdata_core.cli", "sentinel", *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("blissdata sentinel: "), proc.stderr
    assert fix in lines[0]


def test_api_with_a_password_primary(tmp_path: Path) -> None:
    """The primary's password reaches Sentinel (auth-pass) and the clients' URL."""
    try:
        locate_server()
    except ServerNotFoundError as exc:
        pytest.skip(f"no embedded server on this machine: {exc}")
    pw = "s3cret"
    with EmbeddedRedis(extra_args=["--requirepass", pw], password=pw) as server:
        url = server.url.replace("//", f"//:{pw}@")
        DataStore(url, init_db=True).close()
        for wrong in (server.url, server.url.replace("//", "//:wrong@")):
            with pytest.raises(SentinelConfigError, match="password"):
                EmbeddedSentinel(wrong, dir=tmp_path / "refused").start()
        with EmbeddedSentinel(url, name="pw", dir=tmp_path / "s") as sentinel:
            assert sentinel.master_info()["flags"] == "master"
            with DataStore(sentinel.url.replace("//", f"//:{pw}@")) as store:
                assert store.search_existing_scans()[1] == []
        assert not sentinel.is_running()
        assert (tmp_path / "s" / "sentinel.conf").exists()


def test_api_refuses_a_replica_as_primary(primary: EmbeddedRedis) -> None:
    with EmbeddedRedis(replica_of=primary.url) as replica:
        with pytest.raises(SentinelConfigError, match="is a replica"):
            EmbeddedSentinel(replica.url).start()
