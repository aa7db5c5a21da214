"""Every console script fails with one line that names the fix, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import redis

from blissdata_core import DataStore


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}"


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def _clis(url: str, tmp_path) -> list[list[str]]:
    py = sys.executable
    return [
        [py, "-m", "blissdata_core.cli", "ls", url],
        [py, "-m", "blissdata_core.cli", "show", "last", "--url", url],
        [py, "-m", "blissdata_core.cli", "memory-manager", url, "--max-memory", "1G", "--once"],
        [py, "-m", "blissdata_writer.cli", "simulate", url, "--path", str(tmp_path / "s.h5")],
        [py, "-m", "blissdata_writer.cli", "write", url, "esrf:scan:none"],
        [py, "-m", "blissdata_h5.cli", "tree", str(tmp_path / "s.h5"), "--redis", url,
         "--source", "redis"],
    ]  # fmt: skip


def _assert_one_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_unreachable_server(tmp_path):
    url = _closed_port_url()
    for argv in _clis(url, tmp_path):
        _assert_one_line(_run(*argv), "reach Redis", "blissdata server")


def test_database_not_initialised(redis_url, tmp_path):
    redis.Redis.from_url(redis_url).flushall()
    for argv in _clis(redis_url, tmp_path):
        _assert_one_line(_run(*argv), f"blissdata init {redis_url}")


def test_init_makes_an_empty_database_usable_and_refuses_a_used_one(redis_url, tmp_path):
    redis.Redis.from_url(redis_url).flushall()
    init = _run(sys.executable, "-m", "blissdata_core.cli", "init", redis_url)
    assert init.returncode == 0, init.stderr
    DataStore(redis_url).close()  # the protocol check passes
    simulate = _run(
        sys.executable, "-m", "blissdata_writer.cli", "simulate", redis_url,
        "--npoints", "2", "--count-time", "0", "--path", str(tmp_path / "s.h5"),
    )  # fmt: skip
    assert simulate.returncode == 0, simulate.stderr
    again = _run(sys.executable, "-m", "blissdata_core.cli", "init", redis_url)
    _assert_one_line(again, "already present")


@pytest.mark.parametrize("flag", ["--help"])
def test_init_is_listed(flag):
    assert "init" in _run(sys.executable, "-m", "blissdata_core.cli", flag).stdout
