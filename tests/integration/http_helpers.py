"""Serve a tornado application from a thread, and plain HTTP GETs against it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from blissdata_core.testing import gevent_patched

#: Servers of ``serving()`` now running (each one is an asyncio loop in a thread).
_serving = 0


class Reply(NamedTuple):
    status: int
    content_type: str
    body: bytes


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run ``app`` on a free port of 127.0.0.1 in a thread; yields its base URL."""
    global _serving
    if _serving and gevent_patched():
        pytest.skip(
            "two test servers at once: asyncio allows one running loop per OS thread, and "
            "under gevent their threads are greenlets of one (blissdata-h5 serve is a "
            "process of its own, never a gevent program)"
        )
    import tornado.httpserver
    import tornado.netutil

    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            server = tornado.httpserver.HTTPServer(app)
            server.add_sockets(sockets)
            box["port"] = sockets[0].getsockname()[1]
            box["stop"] = asyncio.Event()
            box["loop"] = asyncio.get_running_loop()
            ready.set()
            await box["stop"].wait()
            server.stop()
            await server.close_all_connections()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30), "the test server did not start"
    _serving += 1
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        _serving -= 1
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def get(url: str, endpoint: str, **params: Any) -> Reply:
    query = urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(f"{url}{endpoint}?{query}", timeout=60) as response:
            return Reply(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers.get("Content-Type", ""), error.read())
