"""``blissdata-writer``: run the writing service, write one scan, or simulate scans."""

from __future__ import annotations

import argparse
import logging
import sys

from blissdata_core import DataStore
from blissdata_core.user_errors import run_cli

from .producer import DEFAULT_DETECTORS, DETECTORS, SCAN_KINDS, simulate_scan
from .progress import Progress
from .scan_writer import ScanWriter
from .service import WritingService
from .status import StatusBoard

#: ``write``'s exit status: 0 every mapped dataset written, 2 written but some
#: left out (``incomplete``: the status names them), 1 anything else.
WRITE_EXIT_CODES = {"complete": 0, "incomplete": 2}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="blissdata-writer", description="NeXus writer for blissdata scans"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="write every new scan until SIGINT/SIGTERM")
    run.add_argument("redis_url")
    run.add_argument("--root", action="append", default=None, help="allowed directory (repeatable)")
    run.add_argument("--no-progress", action="store_true", help="no progress display")

    write = sub.add_parser(
        "write",
        help="write one scan (waits for it to close); exit 0 complete, 2 incomplete, 1 failed",
    )
    write.add_argument("redis_url")
    write.add_argument("scan_key")
    write.add_argument(
        "--root", action="append", default=None, help="allowed directory (repeatable)"
    )
    write.add_argument(
        "--replace",
        action="store_true",
        help="remove this scan's entries from existing files first (a re-write)",
    )

    sim = sub.add_parser("simulate", help="publish a BLISS-like scan and print its key")
    sim.add_argument("redis_url")
    sim.add_argument("--scan", choices=SCAN_KINDS, default="ascan")
    sim.add_argument("--npoints", type=int, default=10, help="points (mesh: points per motor)")
    sim.add_argument(
        "--count-time", type=float, default=0.1, help="seconds per point (0: as fast as possible)"
    )
    sim.add_argument("--path", default=None, help="target NeXus file (absolute)")
    sim.add_argument("--detectors", nargs="+", choices=DETECTORS, default=list(DEFAULT_DETECTORS))
    sim.add_argument(
        "--number", type=int, default=None, help="scan number (default: next for that file)"
    )
    sim.add_argument("--session", default="demo")
    sim.add_argument(
        "--frames-per-file", type=int, default=10, help="lima frames (mosca spectra) per file"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    command = {"run": _run, "write": _write, "simulate": _simulate}[args.command]
    return run_cli(f"blissdata-writer {args.command}", lambda: command(args), args.redis_url)


def _run(args: argparse.Namespace) -> int:
    service = WritingService(args.redis_url, roots=args.root)
    service.install_signal_handlers()
    progress = None if args.no_progress else Progress(service.board).start()
    try:
        service.run()
    finally:
        if progress is not None:
            progress.stop()
    return 0


def _write(args: argparse.Namespace) -> int:
    writer = ScanWriter(
        DataStore(args.redis_url),
        args.scan_key,
        StatusBoard(args.redis_url),
        args.root,
        resume=args.replace,
    )
    status = writer.run()
    print(f"{args.scan_key}: {status.state} ({status.points} points) {status.message}")
    return WRITE_EXIT_CODES.get(status.state, 1)


def _simulate(args: argparse.Namespace) -> int:
    def announce(scan) -> None:
        print(scan.key, flush=True)

    simulate_scan(
        DataStore(args.redis_url),
        args.scan,
        npoints=args.npoints,
        count_time=args.count_time,
        path=args.path,
        detectors=args.detectors,
        number=args.number,
        session=args.session,
        frames_per_file=args.frames_per_file,
        on_created=announce,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
