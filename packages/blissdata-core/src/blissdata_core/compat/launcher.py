"""Run an unmodified program with the compatibility layer active in it and its children.

``blissdata compat -- python -m ewoksdata ...`` (or ``python -m blissdata_core.compat
-- CMD``) sets ``BLISSDATA_COMPAT=1`` and puts a ``sitecustomize`` first on
PYTHONPATH, so every Python process the command starts calls
:func:`~blissdata_core.compat.install_as_blissdata` before running anything.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .finder import COMPAT_VERSION

ENV_ACTIVATE = "BLISSDATA_COMPAT"
BOOT_DIR = Path(__file__).resolve().parent / "_boot"


def compat_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the layer switched on."""
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(BOOT_DIR)]
    env["PYTHONPATH"] = os.pathsep.join([str(BOOT_DIR), *paths])
    env[ENV_ACTIVATE] = "1"
    return env


def describe() -> str:
    """One line saying what the launched programs get instead of blissdata."""
    import importlib.util

    line = (
        f"blissdata compat: 'import blissdata' runs blissdata_core (as blissdata {COMPAT_VERSION})"
    )
    if "blissdata" not in sys.modules:
        spec = importlib.util.find_spec("blissdata")
        if spec is not None:
            where = ", ".join(spec.submodule_search_locations or [str(spec.origin)])
            line += f"; the blissdata installed at {where} is shadowed"
    return line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print what is replaced")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="the program and its arguments")


def run(cmd: Sequence[str], quiet: bool = False) -> int:
    """Replace this process by ``cmd`` with the layer active (returns only on failure)."""
    cmd = list(cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        sys.stderr.write("blissdata compat: no command given (blissdata compat -- CMD ARGS...)\n")
        return 2
    if not quiet:
        sys.stderr.write(describe() + "\n")
        sys.stderr.flush()
    try:
        os.execvpe(cmd[0], cmd, compat_environ())
    except OSError as exc:
        sys.stderr.write(f"blissdata compat: cannot run {cmd[0]!r}: {exc}\n")
        return 127
    return 0  # pragma: no cover - execvpe does not return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m blissdata_core.compat",
        description="Run a blissdata 2.x program on blissdata_core, unmodified.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.cmd, args.quiet)
