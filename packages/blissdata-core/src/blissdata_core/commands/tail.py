"""``blissdata tail``: follow a scan's data live until the scan ends."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from ..errors import BlissdataError, EndOfStream, ExternalDataError
from ..scan import ScanState
from ..streams.cursor import CursorGroup
from ..streams.stream import BrokenStream
from ._common import (
    ENV_URL,
    CommandError,
    add_url_option,
    load_scan,
    open_store,
    run_command,
    summarize,
)

HELP = "follow a scan's streams live until the scan ends"

#: Seconds a read waits before looking whether the scan was closed without
#: sealing every stream (a producer that died): it only bounds how late tail exits.
POLL_SECONDS = 1.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tail",
        help=HELP,
        description="Print new data of a scan's streams as it arrives: one line per "
        "stream and read, with the point indexes and a compact summary of the values.  "
        "Exits when every stream is sealed (or the scan is closed), or on Ctrl-C.  "
        f"KEY 'last' is the newest scan.  The Redis URL defaults to ${ENV_URL}.",
    )
    parser.add_argument("key", metavar="KEY", help="scan key (esrf:scan:...) or 'last'")
    parser.add_argument(
        "streams", nargs="*", metavar="STREAM", help="streams to follow (default: all)"
    )
    parser.add_argument(
        "--last-only", action="store_true", help="show only the newest point of each read"
    )
    add_url_option(parser)
    parser.set_defaults(func=lambda args: run_command("tail", run, args))


def view_summary(view: Any) -> str:
    """What a view holds, without blocking: lima frames by file, scans by key, else values."""
    get_references = getattr(view, "get_references", None)
    try:
        if get_references is not None:
            try:
                refs = get_references()
            except ExternalDataError:
                return f"{len(view)} frame(s), not saved (live only)"
            files = sorted({os.path.basename(r.file_path) for r in refs})
            return f"{len(view)} frame(s) in {', '.join(files)}"
        get_keys = getattr(view, "get_keys", None)
        if get_keys is not None:
            return summarize(get_keys())
        return summarize(view.get_data())
    except BlissdataError as exc:
        return f"({type(exc).__name__}: {exc})"


def view_line(name: str, view: Any) -> str:
    first, last = view.index, view.index + len(view) - 1
    where = str(first) if first == last else f"{first}..{last}"
    return f"{name}  [{where}]  {view_summary(view)}"


def select_streams(scan: Any, names: list[str], err: TextIO) -> dict[str, Any]:
    streams = scan.streams
    unknown = [n for n in names if n not in streams]
    if unknown:
        raise CommandError(
            f"scan {scan.key} has no stream {', '.join(map(repr, unknown))}; "
            f"streams: {', '.join(sorted(streams)) or '(none)'}"
        )
    selected = {}
    for name in names or sorted(streams):
        stream = streams[name]
        if isinstance(stream, BrokenStream):
            print(f"blissdata tail: skipping {name!r}: {stream.exception}", file=err)
            continue
        selected[name] = stream
    return selected


def follow(scan: Any, names: list[str], last_only: bool = False, out: TextIO | None = None,
           err: TextIO | None = None) -> int:  # fmt: skip
    """Print views of the scan's streams until they are all sealed or the scan is closed."""
    out = out or sys.stdout
    err = err or sys.stderr
    while scan.state < ScanState.PREPARED:
        scan.update()
    selected = select_streams(scan, names, err)
    if not selected:
        raise CommandError(f"scan {scan.key} has no readable stream")
    order = {stream.key: i for i, stream in enumerate(selected.values())}
    group = CursorGroup(list(selected.values()))
    closed_seen = False
    while True:
        try:
            views = group.read(timeout=POLL_SECONDS, last_only=last_only)
        except EndOfStream:
            break
        for stream in sorted(views, key=lambda s: order[s.key]):
            print(view_line(stream.name, views[stream]), file=out, flush=True)
        if views:
            continue
        if scan.state < ScanState.CLOSED:
            scan.update(block=False)
        elif closed_seen:
            break  # closed, and one more read found nothing: unsealed streams stay so
        else:
            closed_seen = True
    if scan.state < ScanState.STOPPED:  # streams are sealed just before the state changes
        scan.update(timeout=POLL_SECONDS)
    print(f"-- end of scan {scan.key} ({scan.state.name})", file=out, flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    with open_store(args.url) as store:
        scan = load_scan(store, args.key)
        return follow(scan, args.streams, args.last_only)
