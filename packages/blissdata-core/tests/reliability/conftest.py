"""Fixtures of the reliability suite: private servers the tests may kill, pause or fill.

Private servers take ports in 17000-17099 (the range of this suite) when one
is free there, so that a stray server is easy to attribute.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from blissdata_core.sentinel import EmbeddedSentinel
from blissdata_core.server import EmbeddedRedis, ServerNotFoundError, ServerStartError

PORT_RANGE = range(17000, 17100)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _worker_ports() -> list[int]:
    """This xdist worker's share of the range, so that workers never race for a port."""
    import os

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int("".join(c for c in worker if c.isdigit()) or 0)
    share = max(len(PORT_RANGE) // max(count, 1), 1)
    start = PORT_RANGE.start + (index % max(count, 1)) * share
    return list(range(start, min(start + share, PORT_RANGE.stop)))


def suite_port() -> int:
    """A free port of this worker's share of the range, else 0 (any free port)."""
    import random

    ports = _worker_ports()
    random.shuffle(ports)
    for port in ports:
        if _port_is_free(port):
            return port
    return 0


def start_on_suite_port(build: Callable[[int | None], Any], started: list) -> Any:
    """``build(port).start()`` on a port of the suite's range, another one if the
    port raced away; each object built goes in ``started`` (the caller closes them)."""
    last_error: Exception | None = None
    for _ in range(5):
        child = build(suite_port() or None)
        started.append(child)
        try:
            return child.start()
        except ServerNotFoundError as exc:
            pytest.skip(f"no embedded Redis available: {exc}")
        except ServerStartError as exc:  # port raced away: try another
            last_error = exc
    raise AssertionError(f"could not start {type(started[-1]).__name__}: {last_error}")


@pytest.fixture
def private_server(tmp_path: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """``make(extra_args=(), **kwargs) -> EmbeddedRedis`` started; all closed after the test."""
    servers: list[EmbeddedRedis] = []

    def make(extra_args: tuple[str, ...] | list[str] = (), **kwargs: Any) -> EmbeddedRedis:
        kwargs.setdefault("dir", tmp_path / f"redis-{len(servers)}")
        return start_on_suite_port(
            lambda port: EmbeddedRedis(port=port, extra_args=extra_args, **kwargs), servers
        )

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def fault_server(private_server: Callable[..., EmbeddedRedis]) -> EmbeddedRedis:
    """A private, initialised server for one test that may kill or pause it."""
    from blissdata_core import DataStore

    server = private_server()
    DataStore(server.url, init_db=True).close()
    return server


@pytest.fixture
def private_sentinel(tmp_path: Path) -> Iterator[Callable[..., EmbeddedSentinel]]:
    """``make(monitor_url, **kwargs) -> EmbeddedSentinel`` started (``blissdata
    sentinel``'s API) on a port of the suite's range; all closed after the test."""
    sentinels: list[EmbeddedSentinel] = []

    def make(monitor: str, **kwargs: Any) -> EmbeddedSentinel:
        kwargs.setdefault("dir", tmp_path / f"sentinel-{len(sentinels)}")
        return start_on_suite_port(
            lambda port: EmbeddedSentinel(monitor, port=port, **kwargs), sentinels
        )

    try:
        yield make
    finally:
        for sentinel in sentinels:
            sentinel.close()


@pytest.fixture
def pick_port() -> Callable[[], int]:
    """A free port (of the suite's range when one is free there), for tests that
    put a port in server options (TLS ports)."""
    from blissdata_core.server import free_port

    return lambda: suite_port() or free_port()
