"""``blissdata sentinel``: run a Redis Sentinel (the embedded server's binary) until interrupted."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "run a Redis Sentinel that fails the primary over to a replica"

DESCRIPTION = """\
Start a Redis Sentinel, with the server binary `blissdata server` uses,
monitoring the primary at --monitor URL (its replicas are found through it),
and print the URL clients use, redis+sentinel://127.0.0.1:PORT/NAME, on a line
of its own once the Sentinel is connected to the primary.  It runs until
SIGINT (Ctrl-C) or SIGTERM and exits 0.

The primary must answer first.  Its password, if any, goes in the URL
(redis://:PASSWORD@host:port); it must be the same on the replicas.  With
rediss:// the Sentinel talks TLS to the servers: give it a certificate after
--, e.g. -- --tls-cert-file s.crt --tls-key-file s.key --tls-ca-cert-file ca.crt.

The configuration lives in --dir (default: a private temporary directory,
removed on exit); Sentinel rewrites it as it learns replicas and failovers.
Run an odd number of sentinels (three, --quorum 2) on different hosts so that
one lost host neither fails over by mistake nor blocks a failover.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sentinel",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--monitor",
        metavar="URL",
        required=True,
        help="the primary: redis://[[user]:password@]host:port (rediss:// for TLS)",
    )
    parser.add_argument("--name", default="bd", help="service name in the URL (default bd)")
    parser.add_argument(
        "--quorum",
        type=int,
        default=1,
        help="sentinels that must agree the primary is down (default 1)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="TCP port (default 0: a free one; Redis uses 26379)"
    )
    parser.add_argument(
        "--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--down-after-ms",
        type=int,
        default=5000,
        metavar="MS",
        help="silence after which the primary is taken as down (default 5000)",
    )
    parser.add_argument(
        "--failover-timeout-ms",
        type=int,
        default=60000,
        metavar="MS",
        help="Sentinel's failover-timeout (default 60000)",
    )
    parser.add_argument(
        "--dir",
        default=None,
        help="directory of sentinel.conf and the log, kept on exit "
        "(default: a private temporary directory removed on exit)",
    )
    parser.add_argument(
        "sentinel_args",
        nargs=argparse.REMAINDER,
        metavar="-- SENTINEL_ARGS",
        help="after --, more configuration as --name value (e.g. -- --sentinel announce-ip "
        "10.0.0.5, TLS options)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blissdata_core.commands.serving import print_error, serve, stop_on_signals
    from blissdata_core.errors import (
        SentinelConfigError,
        ServerNotFoundError,
        ServerStartError,
    )
    from blissdata_core.sentinel import EmbeddedSentinel
    from blissdata_core.server import absolute_file_args

    stop = stop_on_signals()
    extra = list(args.sentinel_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    extra = absolute_file_args(extra)
    try:
        sentinel = EmbeddedSentinel(
            args.monitor,
            name=args.name,
            quorum=args.quorum,
            port=args.port or None,
            dir=args.dir,
            bind=args.bind,
            down_after_ms=args.down_after_ms,
            failover_timeout_ms=args.failover_timeout_ms,
            extra_args=extra,
        )
    except SentinelConfigError as exc:
        print_error("blissdata sentinel", exc)
        return 2
    try:
        sentinel.start()
    except (SentinelConfigError, ServerNotFoundError, ServerStartError) as exc:
        sentinel.close()
        print_error("blissdata sentinel", exc)
        return 2
    return serve(
        "blissdata sentinel",
        sentinel,
        sentinel.url,
        f"{sentinel.command.origin}, pid {sentinel.pid}, config {sentinel.config_path}",
        stop,
        exited=f"the sentinel process exited (log: {sentinel.log_path})",
    )
