"""``blissdata compat -- CMD``: run a blissdata 2.x program on this project, unmodified."""

from __future__ import annotations

import argparse
from typing import Any

from ..compat import launcher


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compat",
        help="run a program written for blissdata 2.x with this project standing in",
        description=(
            "Run CMD with 'import blissdata' resolved to blissdata_core (in CMD and every "
            "Python process it starts). Example: blissdata compat -- blisswriter ..."
        ),
    )
    launcher.add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return launcher.run(args.cmd, args.quiet)
