"""``blissdata ls``: the most recent scans, newest first."""

from __future__ import annotations

import argparse
from typing import Any

from ..protocol import SCAN_HISTORY_KEY
from ._common import ENV_URL, SCAN_HEADER, format_table, open_store, run_command, scan_rows

HELP = "list the most recent scans"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ls",
        help=HELP,
        description=f"List the most recent scans, newest first: key, state, name, number, "
        f"path.  The Redis URL defaults to ${ENV_URL}.",
    )
    parser.add_argument("url", nargs="?", metavar="REDIS_URL", help=f"default: ${ENV_URL}")
    parser.add_argument(
        "-n", type=_positive, default=20, metavar="N", help="how many scans (default 20)"
    )
    parser.set_defaults(func=lambda args: run_command("ls", run, args))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def recent_rows(store: Any, count: int) -> list[list[str]]:
    """Table rows of up to ``count`` scans from the history, newest first, deleted ones skipped."""
    rows: list[list[str]] = []
    end = "+"
    while len(rows) < count:
        raw = store.redis.xrevrange(SCAN_HISTORY_KEY, end, "-", count=max(count - len(rows), 16))
        if not raw:
            break
        keys = [fields[b"key"].decode() for _, fields in raw]
        rows.extend(scan_rows(store, keys))
        end = "(" + raw[-1][0].decode()
    return rows[:count]


def run(args: argparse.Namespace) -> int:
    with open_store(args.url) as store:
        rows = recent_rows(store, args.n)
        if not rows:
            print("no scans")
            return 0
        print(format_table(rows, SCAN_HEADER))
    return 0
