"""``blissdata init URL``: make an empty database ready for protocol 1."""

from __future__ import annotations

import argparse
from typing import Any

from ..connection import redact_url
from ._common import ENV_URL, resolve_url, run_command

HELP = "initialise an empty database (search index, seal function, protocol key)"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help=HELP,
        description=f"{HELP[0].upper()}{HELP[1:]}.  A database that holds any key is refused, "
        f"as DataStore(url, init_db=True) does.  The URL defaults to ${ENV_URL}.",
    )
    parser.add_argument("url", nargs="?", metavar="REDIS_URL", help=f"default: ${ENV_URL}")
    parser.set_defaults(func=lambda args: run_command("init", run, args))


def run(args: argparse.Namespace) -> int:
    from ..store import DataStore

    url = resolve_url(args.url)
    DataStore(url, init_db=True).close()
    print(f"initialised {redact_url(url)} (blissdata protocol 1)")
    return 0
