"""``blissdata memory-manager``: keep a Redis database under a memory budget."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

HELP = "trim and expire scans so Redis stays under a memory budget"

DESCRIPTION = """\
Keep the blissdata database at REDIS_URL under --max-memory bytes of Redis
used_memory.  Every --interval seconds: closed scans get a TTL so that they
count as deleted --retention seconds after they closed; when memory is above
the budget, the data streams of closed scans are trimmed (oldest scan first)
down to their seal, then those of running scans down to their --min-window
most recent points, until memory is back under 90% of the budget.  Readers
of trimmed points get IndexNoMoreThereError and read the files instead.

Sizes follow redis.conf: 500mb, 2gb (powers of 1024), 1g (powers of 1000),
or plain bytes.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "memory-manager",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("redis_url", metavar="REDIS_URL")
    parser.add_argument("--max-memory", required=True, metavar="SIZE", help="memory budget")
    parser.add_argument(
        "--retention",
        type=float,
        default=None,
        metavar="SECONDS",
        help="delete closed scans this long after they closed (default: never)",
    )
    parser.add_argument(
        "--min-window",
        type=int,
        default=1000,
        metavar="N",
        help="points per stream a running scan always keeps (default 1000)",
    )
    parser.add_argument(
        "--protect",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="scans closed less than this ago keep --min-window points like running ones "
        "(room for a writer that lags; default 0)",
    )
    parser.add_argument(
        "--interval", type=float, default=10.0, metavar="S", help="seconds between passes"
    )
    parser.add_argument(
        "--once", action="store_true", help="run one pass, print its summary as JSON, exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blissdata_core.memory_manager import MemoryManager

    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    try:
        manager = MemoryManager(
            args.redis_url,
            args.max_memory,
            retention=args.retention,
            min_window=args.min_window,
            protect=args.protect,
        )
    except ValueError as exc:
        print(f"blissdata memory-manager: {exc}", file=sys.stderr)
        return 2
    with manager:
        if args.once:
            summary = manager.run_once()  # failures are told by the entry point
            print(json.dumps(summary), flush=True)
            return 0
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        manager.run_forever(args.interval, stop)
    return 0
