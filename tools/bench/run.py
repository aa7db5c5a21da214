"""Side-by-side benchmark: the project, the reference client and raw redis-py, one run.

Usage: ``python -m tools.bench.run [--quick] [--output bench-results.json]``
(or ``nox -s bench -- --quick``).  One Redis server (embedded, or ``--url`` /
``$BLISSDATA_REDIS_URL``, which is FLUSHALL'ed) serves every measurement; each
implementation lives in its own long-running worker process (the reference in
its own venv) and the implementations take turns on every repeat, so they
share the same machine conditions.  Figures are medians of the repeats, with
the spread (max-min over median) beside them; ratios are the medians of the
ratios within each repeat (the JSON file also has the ratios of the medians).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools import module_env
from tools.bench.report import format_table
from tools.bench.workloads import Figure, Workload, workloads

IMPLS = ("project", "reference", "raw")


class WorkerError(RuntimeError):
    pass


class Worker:
    """One ``worker.py`` process: requests in on stdin, JSON answers out on stdout."""

    def __init__(self, impl: str, python: str, log_dir: Path, module: str = "tools.bench.worker"):
        self.impl = impl
        self.log = log_dir / f"worker-{impl}.log"
        self._proc = subprocess.Popen(
            [python, "-m", module, impl],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
            text=True,
            env=module_env(),  # PYTHONPATH: the repository root only
        )
        hello = self._answer()
        self.python_version = hello.get("python", "?")

    def _answer(self) -> dict[str, Any]:
        line = self._proc.stdout.readline()
        if not line:
            raise WorkerError(f"{self.impl} worker exited; see {self.log}")
        return json.loads(line)

    def run(self, task: str, url: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            self._proc.stdin.write(json.dumps({"task": task, "url": url, "params": params}) + "\n")
            self._proc.stdin.flush()
        except OSError as exc:
            raise WorkerError(f"{self.impl} worker is gone ({exc}); see {self.log}") from None
        answer = self._answer()
        if not answer["ok"]:
            raise WorkerError(f"{self.impl}: {answer['error']} (see {self.log})")
        return answer["result"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# --- setup -----------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(url: str | None, port: int | None) -> Iterator[tuple[str, str]]:
    """The server to measure against, as ``(url, description)``."""
    url = url or os.environ.get("BLISSDATA_REDIS_URL", "").split(",")[0].strip() or None
    if url:
        yield url, f"external {url} (redis {server_version(url)})"
        return
    from blissdata_core.server import EmbeddedRedis

    with EmbeddedRedis(port=port) as server:
        yield server.url, f"embedded {server.url} (redis {server_version(server.url)})"


def server_version(url: str) -> str:
    import redis

    with redis.Redis.from_url(url) as client:
        return client.info("server").get("redis_version", "?")


def reference_python(explicit: str | None) -> tuple[str | None, str]:
    """The reference client's interpreter, or ``None`` with the reason."""
    if explicit:
        return explicit, f"reference python {explicit}"
    try:
        from blissdata_core.testing import ReferenceUnavailable, reference_python_path
    except ImportError as exc:
        return None, f"reference skipped: cannot locate its venv helper ({exc})"
    try:
        path = reference_python_path()
    except ReferenceUnavailable as exc:
        return None, f"reference skipped: {exc}"
    return str(path), f"reference venv {path.parent.parent}"


def flush(url: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushall()


# --- measuring ---------------------------------------------------------------------------


def summarise(samples: list[float]) -> dict[str, Any] | None:
    if not samples:
        return None
    median = statistics.median(samples)
    spread = (max(samples) - min(samples)) / median if median else 0.0
    return {"median": median, "min": min(samples), "max": max(samples), "spread": spread,
            "samples": samples}  # fmt: skip


def ratio(figure: Figure, project: dict | None, other: dict | None) -> float | None:
    """How many times better the project is (> 1: better), from the medians."""
    if not project or not other or not project["median"] or not other["median"]:
        return None
    if figure.higher_is_better:
        return project["median"] / other["median"]
    return other["median"] / project["median"]


def paired_ratio(figure: Figure, project: dict | None, other: dict | None) -> float | None:
    """The median over repeats of the ratio within each repeat.

    The implementations run back to back in every repeat, so a repeat's ratio
    is measured under one load of the machine: its median drifts less than the
    ratio of the medians when other jobs come and go.
    """
    if not project or not other:
        return None
    if len(project["samples"]) != len(other["samples"]):  # a repeat failed: nothing to pair
        return ratio(figure, project, other)
    pairs = list(zip(project["samples"], other["samples"]))
    if not all(p and o for p, o in pairs):
        return ratio(figure, project, other)
    if figure.higher_is_better:
        return statistics.median(p / o for p, o in pairs)
    return statistics.median(o / p for p, o in pairs)


def measure(
    workload: Workload,
    workers: dict[str, Worker],
    url: str,
    repeats: int,
    notes: list[str],
    scratch: Path,
) -> list[dict[str, Any]]:
    params = dict(workload.params)
    if "directory" in params:
        params["directory"] = str(scratch)
    samples: dict[str, dict[str, list[float]]] = {
        f.name: {impl: [] for impl in IMPLS} for f in workload.figures
    }
    failed: set[str] = set()
    for _ in range(workload.repeats or repeats):
        for impl in workload.impls:
            if impl not in workers or impl in failed:
                continue
            flush(url)
            try:
                result = workers[impl].run(workload.task, url, params)
            except WorkerError as exc:
                failed.add(impl)
                notes.append(f"{workload.name}: {exc}")
                print(f"  ! {exc}", file=sys.stderr)
                continue
            for figure in workload.figures:
                samples[figure.name][impl].append(figure.value(result))
        print(f"  {workload.name}: {_progress(workload, samples)}", file=sys.stderr)
    flush(url)
    rows = []
    for figure in workload.figures:
        stats = {impl: summarise(samples[figure.name][impl]) for impl in IMPLS}
        vs_ref = paired_ratio(figure, stats["project"], stats["reference"])
        vs_raw = paired_ratio(figure, stats["project"], stats["raw"])
        met = [
            value >= target
            for value, target in ((vs_ref, figure.vs_ref), (vs_raw, figure.vs_raw))
            if value is not None and target is not None
        ]
        rows.append(
            {
                "figure": figure.name,
                "label": figure.label,
                "unit": figure.unit,
                "higher_is_better": figure.higher_is_better,
                "params": {k: v for k, v in params.items() if k != "directory"},
                **stats,
                "vs_reference": vs_ref,
                "vs_raw": vs_raw,
                "vs_reference_of_medians": ratio(figure, stats["project"], stats["reference"]),
                "vs_raw_of_medians": ratio(figure, stats["project"], stats["raw"]),
                "target_vs_reference": figure.vs_ref,
                "target_vs_raw": figure.vs_raw,
                "target_met": all(met) if met else None,
            }
        )
    return rows


def _progress(workload: Workload, samples: dict) -> str:
    first = samples[workload.figures[0].name]
    return "  ".join(f"{impl}={values[-1]:.4g}" for impl, values in first.items() if values)


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, two repeats (~30 s)")
    parser.add_argument("--repeats", type=int, help="repeats per workload (default 3, quick 2)")
    parser.add_argument("--output", default="bench-results.json", help="JSON results file")
    parser.add_argument("--url", help="Redis to use (FLUSHALL'ed!); default: an embedded server")
    parser.add_argument("--port", type=int, help="port of the embedded server (default: free)")
    parser.add_argument("--reference-python", help="interpreter of a venv with blissdata 2.x")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference client")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORKLOAD",
        help="e.g. --only a d/100 e_c f (a name without /N: every batch size)",
    )
    parser.add_argument(
        "--h5-dir",
        help="where (g) writes its HDF5 files (default: a directory in /dev/shm when there is "
        "one, so that the disk write-back of other jobs does not dominate the figure)",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 3)
    selected = [w for w in workloads(args.quick) if not args.only or _chosen(w.name, args.only)]
    notes: list[str] = []
    started = time.monotonic()

    ref_python, ref_note = (None, "reference skipped (--no-reference)")
    if not args.no_reference:
        ref_python, ref_note = reference_python(args.reference_python)
    notes.append(ref_note)
    if any(w.name == "g" for w in selected):
        notes.append(
            "g: reference = blisswriter 3.0.0's ScanWriter; raw = plain XREAD + h5py "
            "(and h5py alone, from memory)"
        )

    h5_parent = args.h5_dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    with (
        tempfile.TemporaryDirectory(prefix="blissdata-bench-", dir=h5_parent) as tmp,
        redis_server(args.url, args.port) as (url, server_note),
    ):
        notes.insert(0, f"server: {server_note}")
        if any(w.name == "g" for w in selected):
            notes.append(f"g: HDF5 files written in {tmp}")
        print(f"server {url}; {ref_note}", file=sys.stderr)
        workers: dict[str, Worker] = {}
        try:
            workers["project"] = Worker("project", sys.executable, Path(tmp))
            workers["raw"] = Worker("raw", sys.executable, Path(tmp))
            if ref_python:
                try:
                    workers["reference"] = Worker("reference", ref_python, Path(tmp))
                except (WorkerError, OSError) as exc:
                    notes.append(f"reference skipped: {exc}: {_tail(Path(tmp), 'reference')}")
            rows: list[dict[str, Any]] = []
            for workload in selected:
                rows += measure(workload, workers, url, repeats, notes, Path(tmp))
        finally:
            for worker in workers.values():
                worker.close()

    elapsed = time.monotonic() - started
    results = {
        "meta": {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "quick": args.quick,
            "repeats": repeats,
            "seconds": round(elapsed, 1),
            "load_average_at_end": os.getloadavg(),
        },
        "notes": notes,
        "figures": rows,
    }
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(rows))
    for note in notes:
        print(f"note: {note}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{len(rows)} figures in {elapsed:.0f} s (load average {load}); results in {args.output}")
    return 0


def _chosen(name: str, only: list[str]) -> bool:
    """``a`` chooses every batch size of (a); ``a/100`` just one."""
    return name in only or name.split("/")[0] in only


def _tail(log_dir: Path, impl: str, lines: int = 5) -> str:
    path = log_dir / f"worker-{impl}.log"
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
