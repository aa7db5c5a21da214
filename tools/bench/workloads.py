"""What the benchmark measures: workloads, their figures, sizes and targets.

A :class:`Workload` is one request to the workers (``task`` + ``params``); it
yields one or more :class:`Figure` (a number extracted from the answer).  The
targets are the acceptance criteria of the performance issue: a figure's
project value against the reference (``vs_ref``) and against raw redis-py
(``vs_raw``), both as "times better" (for latencies: reference / project).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MB = 2**20


@dataclass(frozen=True)
class Figure:
    name: str
    label: str
    unit: str
    value: Callable[[dict[str, Any]], float]
    higher_is_better: bool = True
    vs_ref: float | None = 1.0  # minimum ratio to the reference (None: no target)
    vs_raw: float | None = None  # minimum ratio to the raw redis-py limit


@dataclass(frozen=True)
class Workload:
    name: str
    task: str
    params: dict[str, Any]
    figures: tuple[Figure, ...]
    impls: tuple[str, ...] = ("project", "reference", "raw")
    repeats: int | None = None  # None: the run's default
    extra: dict[str, Any] = field(default_factory=dict)


def rate(key: str = "points") -> Callable[[dict[str, Any]], float]:
    return lambda r: r[key] / r["seconds"]


def mb_rate(r: dict[str, Any]) -> float:
    return r["bytes"] / MB / r["seconds"]


def _sizes(quick: bool) -> dict[str, dict[str, Any]]:
    if quick:
        return {
            "scalars": {"counters": 10, "points": 5_000},
            "spectra": {"points": 2_000, "size": 4096},
            "frames": {"points": 200, "height": 512, "width": 512},
            "slices": {"points": 1_000_000, "chunk": 10_000},
            "latency": {"points": 200, "period": 0.005},
            "writer": {"scalars": 5_000, "spectra": 500, "frames": 100},
        }
    return {
        "scalars": {"counters": 10, "points": 20_000},
        "spectra": {"points": 10_000, "size": 4096},
        "frames": {"points": 1_000, "height": 512, "width": 512},
        "slices": {"points": 1_000_000, "chunk": 10_000},
        "latency": {"points": 1_000, "period": 0.005},
        "writer": {"scalars": 20_000, "spectra": 2_000, "frames": 500},
    }


def workloads(quick: bool) -> list[Workload]:
    s = _sizes(quick)
    return [
        Workload(
            "a",
            "publish_scalars",
            s["scalars"],
            (Figure("a_publish", "(a) publish 10 scalar counters", "points/s", rate(), vs_ref=3.0),),
        ),
        Workload(
            "b",
            "publish_spectra",
            s["spectra"],
            (Figure("b_publish", "(b) publish 4096-float32 spectra", "MB/s", mb_rate),),
        ),
        Workload(
            "c",
            "publish_frames",
            s["frames"],
            (
                Figure(
                    "c_publish", "(c) publish 512x512 uint16 frames", "MB/s", mb_rate,
                    vs_ref=1.5, vs_raw=0.8,
                ),
            ),
        ),
        Workload(
            "d",
            "read_slices",
            s["slices"],
            (
                Figure(
                    "d_slices", "(d) read 1M float64 by 10k slices", "points/s",
                    lambda r: r["points"] / r["slices_seconds"],
                ),
                Figure(
                    "d_whole", "(d) read 1M float64 whole", "points/s",
                    lambda r: r["points"] / r["whole_seconds"],
                ),
            ),
        ),
        Workload(
            "e_a",
            "cursor_read",
            {"kind": "scalars", "params": s["scalars"]},
            (Figure("e_scalars", "(e) CursorGroup read of (a)", "points/s", rate()),),
        ),
        Workload(
            "e_b",
            "cursor_read",
            {"kind": "spectra", "params": s["spectra"]},
            (Figure("e_spectra", "(e) CursorGroup read of (b)", "MB/s", mb_rate),),
        ),
        Workload(
            "e_c",
            "cursor_read",
            {"kind": "frames", "params": s["frames"]},
            (
                Figure(
                    "e_frames", "(e) CursorGroup read of (c)", "MB/s", mb_rate,
                    vs_ref=1.1, vs_raw=0.8,
                ),
            ),
        ),
        Workload(
            "f",
            "latency",
            s["latency"],
            (
                Figure(
                    "f_p50", "(f) latency p50 at 200 Hz", "ms", lambda r: r["p50"] * 1e3,
                    higher_is_better=False, vs_ref=5.0,
                ),
                Figure(
                    "f_p99", "(f) latency p99 at 200 Hz", "ms", lambda r: r["p99"] * 1e3,
                    higher_is_better=False, vs_ref=2.0,
                ),
            ),
            repeats=2 if not quick else 1,
        ),
        Workload(
            "g",
            "write_scan",
            {**s["writer"], "directory": None},  # run.py fills in its scratch directory
            (
                Figure(
                    "g_writer", "(g) writer (a)+(b)+(c) to HDF5 [raw: XREAD+h5py]", "MB/s",
                    mb_rate, vs_ref=1.0, vs_raw=0.8,
                ),
                Figure(
                    "g_writer_h5py", "(g) writer [raw: h5py alone, whole arrays from memory]",
                    "MB/s", lambda r: r["bytes"] / MB / r.get("h5py_seconds", r["seconds"]),
                    vs_ref=None, vs_raw=0.8,
                ),
                Figure(
                    "g_writer_h5py_append",
                    "(g) writer [raw: h5py alone, appending the batches]", "MB/s",
                    lambda r: r["bytes"] / MB / r.get("h5py_append_seconds", r["seconds"]),
                    vs_ref=None, vs_raw=0.8,
                ),
            ),
        ),
    ]  # fmt: skip
