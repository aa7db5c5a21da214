"""Run the conformance vectors against one implementation and print a table.

    python tools/conformance/run.py --impl core --redis redis://127.0.0.1:6379
    python tools/conformance/run.py --impl reference --redis URL --ref-python PY
    python tools/conformance/run.py --impl ts --redis URL   (packages/blissdata-js)

The database must be dedicated to the run: it is initialised if empty and
every case leaves a scan behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adapters import CoreAdapter, ReferenceAdapter  # noqa: E402
from harness import load_vectors, run_all  # noqa: E402


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
    args = parser.parse_args(argv)
    if not args.redis:
        parser.error("--redis (or BLISSDATA_REDIS_URL) is required")
    if args.impl == "reference":
        if not args.ref_python:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vectors"))
            from generate import default_reference_python

            args.ref_python = default_reference_python()
        if not args.ref_python:
            parser.error(
                "--ref-python (or BLISSDATA_REFERENCE_PYTHON) is required for --impl reference"
            )
        adapter = ReferenceAdapter(args.ref_python, args.redis)
    elif args.impl == "ts":  # the TypeScript client, through its line-protocol driver
        from ts_adapter import TsAdapter, build

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


if __name__ == "__main__":
    sys.exit(main())
