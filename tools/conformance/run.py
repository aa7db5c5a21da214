"""Run the conformance vectors against one implementation, or the interop matrix.

    python -m tools.conformance.run --impl core --redis redis://127.0.0.1:6379
    python -m tools.conformance.run --impl reference --redis URL --ref-python PY
    python -m tools.conformance.run --interop [--redis URL] [-k SCENARIO] [-q]
    python -m tools.conformance.run --impl ts --redis URL   (packages/blissdata-js)

from the repository root.  The database must be dedicated to the run: it is
initialised if empty and every case leaves a scan behind; ``--interop``
empties it before every scenario (without ``--redis``, it starts the embedded
server).  ``--interop`` publishes every scenario with every producer and
checks it with every consumer (``tools.conformance.interop``), then prints
the matrix producer x consumer with passed/total.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.conformance.adapters import CoreAdapter, ReferenceAdapter
from tools.conformance.harness import load_vectors, run_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", choices=["core", "reference", "ts"], default="core")
    parser.add_argument("--redis", default=os.environ.get("BLISSDATA_REDIS_URL"))
    parser.add_argument(
        "--ref-python",
        default=os.environ.get("BLISSDATA_REFERENCE_PYTHON")
        or os.environ.get("BLISSDATA_REF_PYTHON"),
        help="interpreter of the reference client's venv (for --impl reference)",
    )
    parser.add_argument("--vectors", type=Path, default=None, help="directory of vector files")
    parser.add_argument("-k", "--filter", default="", help="only cases whose id contains this text")
    parser.add_argument(
        "--kind", action="append", help="only these kinds (decode, encode, malformed, document)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print failures only")
    parser.add_argument(
        "--interop", action="store_true", help="the producer x consumer matrix, not the vectors"
    )
    parser.add_argument("--producer", action="append", help="only these producers (--interop)")
    parser.add_argument("--consumer", action="append", help="only these consumers (--interop)")
    parser.add_argument(
        "--random", type=int, default=None, help="random scenarios to draw (--interop)"
    )
    args = parser.parse_args(argv)
    if args.interop:
        return run_interop(args, parser)
    if not args.redis:
        parser.error("--redis (or BLISSDATA_REDIS_URL) is required")
    if args.impl == "reference":
        adapter = ReferenceAdapter(_reference_python(args, parser), args.redis)
    elif args.impl == "ts":  # the TypeScript client, through its line-protocol driver
        from tools.conformance.ts_adapter import TsAdapter, build

        build()
        adapter = TsAdapter()
    else:
        adapter = CoreAdapter()

    cases = [
        c
        for c in load_vectors(args.vectors)
        if args.filter in f"{c['kind']}:{c['name']}" and (not args.kind or c["kind"] in args.kind)
    ]
    passed = failed = skipped = 0
    width = max((len(f"{c['kind']}:{c['name']}") for c in cases), default=10)
    for outcome in run_all(adapter, args.redis, cases):
        if outcome.skipped:
            skipped += 1
            status = "SKIP"
        elif outcome.ok:
            passed += 1
            status = "PASS"
        else:
            failed += 1
            status = "FAIL"
        if status == "FAIL" or not args.quiet:
            line = f"{status}  {outcome.case:<{width}}"
            if outcome.detail:
                line += f"  {outcome.detail}"
            print(line, flush=True)
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}  (impl={adapter.name})")
    return 1 if failed else 0


def _reference_python(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    if not args.ref_python:
        from tools.vectors.generate import default_reference_python

        args.ref_python = default_reference_python()
    if not args.ref_python:
        parser.error("--ref-python (or BLISSDATA_REFERENCE_PYTHON) is required")
    return args.ref_python


def run_interop(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import contextlib
    import tempfile

    from tools.conformance import interop
    from tools.conformance.scenarios import PRODUCERS, all_scenarios

    ref_python = _reference_python(args, parser)
    producers = args.producer or list(PRODUCERS)
    consumers = args.consumer or list(interop.CONSUMERS)
    for name in set(producers) - set(PRODUCERS):
        parser.error(f"unknown producer {name} (one of {', '.join(PRODUCERS)})")
    for name in set(consumers) - set(interop.CONSUMERS):
        parser.error(f"unknown consumer {name} (one of {', '.join(interop.CONSUMERS)})")
    scenarios = [s for s in all_scenarios(args.random) if args.filter in s.name]
    results: list[interop.Cell] = []
    with contextlib.ExitStack() as stack:
        url = args.redis
        if not url:
            from blissdata_core.server import EmbeddedRedis

            url = stack.enter_context(EmbeddedRedis()).url
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="interop-")))
        for scenario in scenarios:
            for producer in [p for p in producers if p in scenario.producers]:
                cells = interop.run_scenario(
                    scenario, producer, url, ref_python, workdir / f"{producer}-{scenario.name}",
                    [c for c in consumers if interop.applies(scenario, c)],
                )  # fmt: skip
                for cell in cells.values():
                    results.append(cell)
                    if cell.status == "fail" or not args.quiet:
                        line = f"{cell.status.upper():4}  {producer:>9} -> {cell.consumer:<12}  {scenario.name}"
                        print(line + (f"  {cell.detail}" if cell.detail else ""), flush=True)
    print()
    print(interop.format_matrix(results))
    failed = sum(c.status == "fail" for c in results)
    passed = sum(c.status == "pass" for c in results)
    skipped = len(results) - failed - passed
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}  (interop, {len(scenarios)} scenarios)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
