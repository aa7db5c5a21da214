"""``blissdata-h5 tree FILE``: the tree of a file, live from Redis or from disk (like ``h5ls -r``).

``blissdata-h5 serve [REDIS_URL] --root DIR``: h5grove's HTTP API and H5Web's
page over live scans and files (needs the ``[web]`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import h5py

from blissdata_core.errors import BlissdataError
from blissdata_core.user_errors import run_cli, user_message

from .dataset import Dataset
from .display import format_value
from .file import REDIS_URL_ENV, SOURCES, File
from .group import Group


def _describe(obj: Any) -> str:
    if isinstance(obj, Dataset):
        shape = obj.shape
        size = "Scalar" if not shape else "{" + ", ".join(str(n) for n in shape) + "}"
        live = " (live)" if obj.live else ""
        kind = "string" if h5py.check_string_dtype(obj.dtype) else str(obj.dtype)
        return f"Dataset {size} {kind}{live}"
    return "Group"


def _show(group: Group, key: str, name: str, out: Any) -> Any:
    """Print one child; the object to descend into, or None for a link."""
    link = group.get(key, getlink=True)
    if isinstance(link, h5py.SoftLink):
        out.write(f"/{name:<39} Soft Link {{{link.path}}}\n")
        return None
    if isinstance(link, h5py.ExternalLink):
        out.write(f"/{name:<39} External Link {{{link.filename}//{link.path}}}\n")
        return None
    obj = group[key]
    out.write(f"/{name:<39} {_describe(obj)}\n")
    return obj


def tree(file: File, out: Any = None, attributes: bool = False) -> None:
    """Print every object below the root; a broken item prints its error and the walk goes on."""
    out = sys.stdout if out is None else out
    out.write(f"/{'':<39} Group\n")

    def walk(group: Any, prefix: str) -> None:
        for key in group.keys():
            name = f"{prefix}{key}"
            try:
                obj = _show(group, key, name, out)
            except (KeyError, BlissdataError, IndexError, OSError) as exc:
                out.write(f"/{name:<39} <error: {exc}>\n")
                continue
            if obj is None:
                continue
            if attributes:
                for attr in obj.attrs:
                    try:
                        value = obj.attrs[attr]
                    except (KeyError, BlissdataError) as exc:
                        value = f"<error: {exc}>"
                    out.write(f"    @{attr} = {format_value(value)}\n")
            if isinstance(obj, Group):
                walk(obj, name + "/")

    walk(file, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blissdata-h5", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    tree_cmd = commands.add_parser("tree", help="print the tree with live lengths")
    tree_cmd.add_argument("file")
    tree_cmd.add_argument("--redis", default=None, help=f"Redis URL (default: ${REDIS_URL_ENV})")
    tree_cmd.add_argument("--source", choices=SOURCES, default="auto")
    tree_cmd.add_argument("--attrs", action="store_true", help="also print attributes")
    serve_cmd = commands.add_parser(
        "serve", help="serve h5grove's HTTP API and H5Web's page over live scans and files"
    )
    serve_cmd.add_argument(
        "redis_url",
        nargs="?",
        default=None,
        help=f"Redis URL (default: ${REDIS_URL_ENV}; none: files only)",
    )
    serve_cmd.add_argument(
        "--root", action="append", required=True, help="directory to serve (repeatable)"
    )
    serve_cmd.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--source", choices=SOURCES, default="auto")
    serve_cmd.add_argument(
        "--allow-origin", default=None, help="CORS origin allowed to call the API (as h5grove's)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        url = args.redis_url or os.environ.get(REDIS_URL_ENV)
        return run_cli("blissdata-h5 serve", lambda: _serve(args), url)

    def show() -> int:
        try:
            with File(args.file, data_store=args.redis, source=args.source) as file:
                tree(file, attributes=args.attrs)
        except (OSError, ValueError, KeyError) as exc:
            if user_message(exc) is not None:  # a server or database the user can fix
                raise
            print(f"blissdata-h5: {exc}", file=sys.stderr)
            return 1
        return 0

    return run_cli("blissdata-h5", show, args.redis or os.environ.get(REDIS_URL_ENV))


def _serve(args: argparse.Namespace) -> int:
    try:
        from .web.server import serve
    except ImportError as exc:
        print(f"blissdata-h5 serve needs the [web] extra ({exc})", file=sys.stderr)
        return 2
    for root in args.root:
        if not os.path.isdir(root):
            print(f"blissdata-h5: --root {root}: not a directory", file=sys.stderr)
            return 2
    url = args.redis_url or os.environ.get(REDIS_URL_ENV)
    try:
        return serve(
            args.root,
            url,
            port=args.port,
            host=args.host,
            source=args.source,
            allow_origin=args.allow_origin,
        )
    except (OSError, BlissdataError) as exc:
        print(f"blissdata-h5 serve: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
