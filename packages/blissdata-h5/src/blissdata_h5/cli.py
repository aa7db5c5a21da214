"""``blissdata-h5 tree FILE``: the tree of a file, live from Redis or from disk (like ``h5ls -r``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .dataset import Dataset
from .errors import H5MapError
from .file import REDIS_URL_ENV, SOURCES, File


def _describe(obj: Any) -> str:
    if isinstance(obj, Dataset):
        shape = obj.shape
        size = "Scalar" if not shape else "{" + ", ".join(str(n) for n in shape) + "}"
        live = " (live)" if obj.live else ""
        return f"Dataset {size} {obj.dtype}{live}"
    return "Group"


def tree(file: File, out: Any = sys.stdout, attributes: bool = False) -> None:
    out.write(f"/{'':<39} Group\n")

    def show(name: str, obj: Any) -> None:
        out.write(f"/{name:<39} {_describe(obj)}\n")
        if attributes:
            for key in obj.attrs:
                try:
                    value = obj.attrs[key]
                except (KeyError, H5MapError) as exc:
                    value = f"<error: {exc}>"
                out.write(f"    @{key} = {value!r}\n")

    def safe(name: str, obj: Any) -> None:
        try:
            show(name, obj)
        except (KeyError, H5MapError, IndexError) as exc:
            out.write(f"/{name:<39} <error: {exc}>\n")

    file.visititems(safe)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blissdata-h5", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    tree_cmd = commands.add_parser("tree", help="print the tree with live lengths")
    tree_cmd.add_argument("file")
    tree_cmd.add_argument("--redis", default=None, help=f"Redis URL (default: ${REDIS_URL_ENV})")
    tree_cmd.add_argument("--source", choices=SOURCES, default="auto")
    tree_cmd.add_argument("--attrs", action="store_true", help="also print attributes")
    args = parser.parse_args(argv)
    try:
        with File(args.file, data_store=args.redis, source=args.source) as file:
            tree(file, attributes=args.attrs)
    except (OSError, ValueError, KeyError) as exc:
        print(f"blissdata-h5: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
