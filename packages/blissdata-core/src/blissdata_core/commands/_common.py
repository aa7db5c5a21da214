"""What the reading subcommands (ls, search, show, tail) share: the URL, the
store, errors turned into one-line messages, and compact value summaries."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import BlissdataError, CommandError
from ..protocol import DELETION_GRACE_SECONDS

ENV_URL = "BLISSDATA_REDIS_URL"
#: Where the reading subcommands read, when set and no URL is given: a replica
#: near the consumer (``blissdata server --replica-of``), the producer's
#: primary staying in BLISSDATA_REDIS_URL.
ENV_READ_URL = "BLISSDATA_READ_URL"

#: Width of a summary before it is cut with "...".
SUMMARY_WIDTH = 100


def add_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"Redis URL of the data store, e.g. a replica (default: ${ENV_READ_URL}, "
        f"else ${ENV_URL})",
    )


def resolve_url(url: str | None, read: bool = False) -> str:
    """The URL given, else (``read``: $BLISSDATA_READ_URL, else) $BLISSDATA_REDIS_URL."""
    url = url or (read and os.environ.get(ENV_READ_URL)) or os.environ.get(ENV_URL)
    if not url:
        raise CommandError(f"no Redis URL: give one, or set {ENV_URL}")
    return url


@contextlib.contextmanager
def open_store(url: str | None) -> Iterator[Any]:
    """A read-only store (the reading subcommands write nothing, so a replica serves)."""
    from ..store import DataStore

    store = DataStore(resolve_url(url, read=True), read_only=True)
    try:
        yield store
    finally:
        store.close()


def run_command(name: str, body: Any, args: argparse.Namespace) -> int:
    """Run ``body(args)``; a :class:`CommandError` becomes a message on stderr and exit code 1.

    Other failures a user can fix (server, database) are told by the ``blissdata``
    entry point for every command alike (:mod:`blissdata_core.user_errors`).
    """
    try:
        return int(body(args) or 0)
    except CommandError as exc:
        print(f"blissdata {name}: {exc}", file=sys.stderr)
        return 1


def load_scan(store: Any, key: str) -> Any:
    """A scan by key; ``last`` is the newest one."""
    if key == "last":
        _, key = store.get_last_scan()
    return store.load_scan(key)


def cut(text: str, width: int = SUMMARY_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _scalar(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.10g}"
    return str(value.item() if isinstance(value, np.generic) else value)


def summarize(data: Any, width: int = SUMMARY_WIDTH) -> str:
    """A one-line summary of the points of a view: values when small, statistics otherwise."""
    if isinstance(data, np.ndarray):
        if data.ndim <= 1:
            items = [_scalar(v) for v in data[:8]]
            if len(data) > 8:
                items.append(f"... ({len(data)} points)")
            return cut("[" + ", ".join(items) + "]", width)
        point = "x".join(str(n) for n in data.shape[1:])
        text = f"{len(data)} x {point} {data.dtype}"
        if data.size and data.dtype.kind in "biuf":
            text += f" min={_scalar(data.min())} max={_scalar(data.max())}"
        return cut(text, width)
    if isinstance(data, list):
        try:
            text = json.dumps(data, default=str, separators=(",", ":"))
        except (TypeError, ValueError):
            text = repr(data)
        return cut(text, width)
    return cut(repr(data), width)


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def scan_rows(store: Any, keys: list[str]) -> list[list[str]]:
    """``[key, state, name, number, path]`` of each scan still there, in the order given."""
    if not keys:
        return []
    raw = store.redis.execute_command("JSON.MGET", *keys, "$.id")
    idents = {}
    for key, item in zip(keys, raw):
        values = json.loads(item) if item else []
        if values and isinstance(values[0], dict):
            idents[key] = values[0]
    pipe = store.redis.pipeline(transaction=False)
    for key in idents:
        pipe.ttl(key)
    ttls = dict(zip(idents, pipe.execute()))
    present = [k for k in keys if k in idents and not 0 <= ttls[k] <= DELETION_GRACE_SECONDS]
    try:
        states = store.get_scans_state(present)
    except BlissdataError:  # one disappeared meanwhile: ask one by one
        states = {}
        for key in present:
            with contextlib.suppress(BlissdataError):
                states.update(store.get_scans_state([key]))
    rows = []
    for key in present:
        if key not in states:
            continue
        ident = idents[key]
        rows.append(
            [
                key,
                states[key].name,
                str(ident.get("name")),
                str(ident.get("number")),
                ident.get("path") or "-",
            ]
        )
    return rows


SCAN_HEADER = ["KEY", "STATE", "NAME", "NUMBER", "PATH"]
