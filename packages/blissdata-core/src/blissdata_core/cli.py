"""The ``blissdata`` console script: a thin dispatcher over ``blissdata_core.commands``."""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Sequence

from .commands._common import ENV_URL
from .user_errors import run_cli

#: Subcommand modules under ``blissdata_core.commands`` (each names its own
#: command, e.g. memory_manager -> "memory-manager"), in help order.
COMMANDS: tuple[str, ...] = (
    "server",
    "sentinel",
    "init",
    "memory_manager",
    "ls",
    "search",
    "show",
    "tail",
    "compat",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blissdata", description="Tools around the blissdata Redis data store."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"blissdata_core.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    url = getattr(args, "url", None) or getattr(args, "redis_url", None) or os.environ.get(ENV_URL)
    return run_cli(f"blissdata {args.command}", lambda: args.func(args), url)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
