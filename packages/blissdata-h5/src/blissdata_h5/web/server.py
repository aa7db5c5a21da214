"""Run the HTTP server: bind, print the URL once connections are accepted, stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

import tornado.httpserver
import tornado.netutil
import tornado.web

from blissdata_core import DataStore

from .handlers import handlers
from .roots import Roots
from .service import Service


def make_app(
    roots: list[str],
    data_store: DataStore | None = None,
    source: str = "auto",
    allow_origin: str | None = None,
) -> tornado.web.Application:
    """The tornado application serving ``roots`` (live from ``data_store`` when given)."""
    service = Service(Roots(roots), data_store, source)
    return tornado.web.Application(handlers(service, allow_origin), compress_response=True)


async def _serve(app: tornado.web.Application, host: str, port: int) -> None:
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bound = sockets[0].getsockname()[1]
    print(f"http://{host}:{bound}", flush=True)
    await stop.wait()
    server.stop()
    await server.close_all_connections()


def serve(
    roots: list[str],
    redis_url: str | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
    source: str = "auto",
    allow_origin: str | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM; port 0 picks a free one (the printed URL tells)."""
    data_store = None
    if redis_url:
        data_store = DataStore(redis_url, read_only=True)
    app = make_app(roots, data_store, source, allow_origin)
    asyncio.run(_serve(app, host, port))
    print("blissdata-h5 serve: stopped", file=sys.stderr, flush=True)
    return 0
