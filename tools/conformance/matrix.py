"""Every vector kind against several implementations: one table kind x implementation.

    python -m tools.conformance.matrix [--redis URL] [--impl core --impl ts ...]

Without ``--redis`` it starts an embedded Redis Stack (blissdata_core.server)
and gives each implementation a freshly initialised database of its own
(``/0`` is flushed between implementations; RediSearch only indexes db 0).
Prints the failures, then the table ``passed/total`` (skipped cases are not
counted in the total).  Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections import Counter
from typing import Any

from tools.conformance.harness import load_vectors, run_all

IMPLS = ("core", "reference", "ts")


def make_adapter(name: str, url: str, ref_python: str | None = None) -> Any:
    if name == "core":
        from tools.conformance.adapters import CoreAdapter

        return CoreAdapter()
    if name == "reference":
        from tools.conformance.adapters import ReferenceAdapter

        if not ref_python:
            from tools.vectors.generate import default_reference_python

            ref_python = default_reference_python()
        if not ref_python:
            raise RuntimeError("no reference interpreter (BLISSDATA_REFERENCE_PYTHON)")
        return ReferenceAdapter(ref_python, url)
    if name == "ts":
        from tools.conformance.ts_adapter import TsAdapter, build

        build()
        return TsAdapter()
    raise ValueError(f"unknown implementation {name}")


def run_matrix(url: str, impls: list[str], cases: list[dict], ref_python: str | None = None,
               quiet: bool = True) -> dict[str, tuple[Counter, Counter, Counter]]:  # fmt: skip
    import redis

    results = {}
    for impl in impls:
        r = redis.Redis.from_url(url)
        r.flushall()
        r.close()
        passed, total, skipped = Counter(), Counter(), Counter()
        try:
            adapter = make_adapter(impl, url, ref_python)
        except Exception as exc:
            print(f"{impl}: not run ({exc})", flush=True)
            results[impl] = None
            continue
        try:
            for outcome in run_all(adapter, url, cases):
                kind = outcome.case.split(":", 1)[0]
                if outcome.skipped:
                    skipped[kind] += 1
                    continue
                total[kind] += 1
                passed[kind] += outcome.ok
                if not outcome.ok or not quiet:
                    status = "PASS" if outcome.ok else "FAIL"
                    print(f"{status}  [{impl}] {outcome.case}  {outcome.detail}"[:600], flush=True)
        finally:
            getattr(adapter, "close", lambda: None)()
        results[impl] = (passed, total, skipped)
    return results


def format_table(results: dict, kinds: list[str]) -> str:
    impls = list(results)
    rows = [["kind", *impls]]
    for kind in kinds:
        row = [kind]
        for impl in impls:
            res = results[impl]
            if res is None:
                row.append("not run")
                continue
            passed, total, skipped = res
            cell = f"{passed[kind]}/{total[kind]}"
            if skipped[kind]:
                cell += f" ({skipped[kind]} skipped)"
            row.append(cell)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default=None, help="a dedicated server (it is flushed)")
    parser.add_argument("--impl", action="append", choices=IMPLS, help="default: all")
    parser.add_argument("--kind", action="append", help="only these kinds")
    parser.add_argument("-k", "--filter", default="")
    parser.add_argument(
        "--ref-python",
        default=os.environ.get("BLISSDATA_REFERENCE_PYTHON")
        or os.environ.get("BLISSDATA_REF_PYTHON"),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    args = parser.parse_args(argv)
    cases = [
        c for c in load_vectors()
        if args.filter in f"{c['kind']}:{c['name']}" and (not args.kind or c["kind"] in args.kind)
    ]  # fmt: skip
    kinds = list(dict.fromkeys(c["kind"] for c in cases))
    with contextlib.ExitStack() as stack:
        url = args.redis
        if url is None:
            from blissdata_core.server import EmbeddedRedis

            url = stack.enter_context(EmbeddedRedis()).url
        results = run_matrix(
            url, args.impl or list(IMPLS), cases, args.ref_python, not args.verbose
        )
    print()
    print(format_table(results, kinds))
    failed = any(
        res is None or sum(res[1].values()) != sum(res[0].values()) for res in results.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
