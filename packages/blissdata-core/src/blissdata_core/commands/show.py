"""``blissdata show``: one scan's identity, info and streams."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import BlissdataError
from ..protocol import IDENTITY_FIELDS
from ..streams.stream import BrokenStream
from ._common import ENV_URL, add_url_option, cut, format_table, load_scan, open_store, run_command

HELP = "describe a scan: identity, state, info summary, streams"

STREAM_HEADER = ["STREAM", "PLUGIN", "KIND", "DTYPE", "SHAPE", "LENGTH", "SEALED"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "show",
        help=HELP,
        description="Describe a scan: identity, state, a summary of its info, and its "
        "streams (plugin, kind, dtype, shape, length, sealed).  KEY 'last' is the newest "
        f"scan.  The Redis URL defaults to ${ENV_URL}.",
    )
    parser.add_argument("key", metavar="KEY", help="scan key (esrf:scan:...) or 'last'")
    add_url_option(parser)
    parser.set_defaults(func=lambda args: run_command("show", run, args))


def info_summary(value: Any, width: int = 80) -> str:
    """Short description of an info value: small ones as JSON, big ones by size."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    if len(text) <= width:
        return text
    if isinstance(value, dict):
        return f"{{{len(value)} keys: {cut(', '.join(map(str, value)), width - 12)}}}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    return cut(text, width)


def stream_row(name: str, stream: Any) -> list[str]:
    plugin = stream.plugin or "-"
    if isinstance(stream, BrokenStream):
        return [name, plugin, stream.kind, "-", "-", "-", f"- ({stream.exception})"]
    try:
        shape = (
            "("
            + ",".join(str(n) for n in stream.shape)
            + ("," if len(stream.shape) == 1 else "")
            + ")"
        )
        return [
            name,
            plugin,
            stream.kind,
            str(stream.dtype),
            shape,
            str(len(stream)),
            "yes" if stream.is_sealed() else "no",
        ]
    except BlissdataError as exc:
        return [name, plugin, "?", "-", "-", "-", f"- ({exc})"]


def describe(scan: Any) -> str:
    pad = max(len(f) for f in IDENTITY_FIELDS) + 2
    lines = [f"{'key':<{pad}}{scan.key}", f"{'state':<{pad}}{scan.state.name}"]
    for field in IDENTITY_FIELDS:
        value = getattr(scan, field, None)
        if value is not None:
            lines.append(f"{field:<{pad}}{value}")
    info = scan.info
    lines.append("")
    if info:
        lines.append("info")
        width = max(len(k) for k in info)
        for key, value in info.items():
            lines.append(f"  {key:<{width}}  {info_summary(value)}")
    else:
        lines.append(f"{'info':<{pad}}(empty)")
    lines.append("")
    streams = scan.streams
    if streams:
        rows = [stream_row(name, streams[name]) for name in streams]
        lines.append(format_table(rows, STREAM_HEADER))
    elif scan.state.name == "CREATED":
        lines.append(f"{'streams':<{pad}}(none yet: they appear when the scan is prepared)")
    else:
        lines.append(f"{'streams':<{pad}}(none)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    with open_store(args.url) as store:
        scan = load_scan(store, args.key)
        print(describe(scan))
    return 0
