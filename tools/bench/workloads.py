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
            "slices": {"points": 200_000, "chunk": 10_000},
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


#: Points per ``send()`` of every publish and read workload (the issue: counters
#: are often published a point at a time, or in batches of 10 to 100).
BATCHES = (1, 100, 10_000)
#: 10,000 frames of 512x512 uint16 would be 5 GB in one send, beyond Redis's
#: 512 MB limit on one value: frames are measured with the smaller batches.
FRAME_BATCHES = (1, 100)


def batch_label(batch: int) -> str:
    return f"{batch // 1000}k" if batch >= 1000 and batch % 1000 == 0 else str(batch)


def workloads(quick: bool) -> list[Workload]:
    """Every workload; those of (a)-(e) once per batch size, named ``a/1``, ``a/100``...

    Targets: every figure at least the reference's (``vs_ref=1.0``) unless a
    figure's own target is higher; slice and whole reads at least 0.8x raw.
    The higher targets of (a), (c), (e_c) and (f) are the project's earlier
    performance goals, kept at the batch sizes they were set for.
    """
    s = _sizes(quick)
    out: list[Workload] = []
    add = out.append
    million = f"{s['slices']['points'] / 1e6:g}M"
    for batch in BATCHES:
        b = batch_label(batch)
        tag = f" [{b}/send]"
        frames_ok = batch in FRAME_BATCHES
        add(
            Workload(
                f"a/{b}",
                "publish_scalars",
                {**s["scalars"], "batch": batch},
                (
                    Figure(
                        f"a_publish/{b}",
                        "(a) publish 10 scalar counters" + tag,
                        "points/s",
                        rate(),
                        vs_ref=3.0 if batch == 1 else 1.0,
                    ),
                ),
            )
        )
        add(
            Workload(
                f"b/{b}",
                "publish_spectra",
                {**s["spectra"], "batch": batch},
                (
                    Figure(
                        f"b_publish/{b}", "(b) publish 4096-float32 spectra" + tag, "MB/s", mb_rate
                    ),
                ),
            )
        )
        if frames_ok:
            add(
                Workload(
                    f"c/{b}",
                    "publish_frames",
                    {**s["frames"], "batch": batch},
                    (
                        Figure(
                            f"c_publish/{b}",
                            "(c) publish 512x512 uint16 frames" + tag,
                            "MB/s",
                            mb_rate,
                            vs_ref=1.5 if batch == 1 else 1.0,
                            vs_raw=0.8 if batch == 1 else None,
                        ),
                    ),
                )
            )
        add(
            Workload(
                f"d/{b}",
                "read_slices",
                {**s["slices"], "batch": batch},
                (
                    Figure(
                        f"d_slices/{b}",
                        f"(d) read {million} float64 by 10k slices" + tag,
                        "points/s",
                        lambda r: r["points"] / r["slices_seconds"],
                        vs_raw=0.8,
                    ),
                    Figure(
                        f"d_whole/{b}",
                        f"(d) read {million} float64 whole" + tag,
                        "points/s",
                        lambda r: r["points"] / r["whole_seconds"],
                        vs_raw=0.8,
                    ),
                ),
            )
        )
        add(
            Workload(
                f"e_a/{b}",
                "cursor_read",
                {"kind": "scalars", "params": {**s["scalars"], "batch": batch}},
                (
                    Figure(
                        f"e_scalars/{b}", "(e) CursorGroup read of (a)" + tag, "points/s", rate()
                    ),
                ),
            )
        )
        add(
            Workload(
                f"e_b/{b}",
                "cursor_read",
                {"kind": "spectra", "params": {**s["spectra"], "batch": batch}},
                (Figure(f"e_spectra/{b}", "(e) CursorGroup read of (b)" + tag, "MB/s", mb_rate),),
            )
        )
        if frames_ok:
            add(
                Workload(
                    f"e_c/{b}",
                    "cursor_read",
                    {"kind": "frames", "params": {**s["frames"], "batch": batch}},
                    (
                        Figure(
                            f"e_frames/{b}",
                            "(e) CursorGroup read of (c)" + tag,
                            "MB/s",
                            mb_rate,
                            vs_ref=1.1 if batch == 1 else 1.0,
                            vs_raw=0.8 if batch == 1 else None,
                        ),
                    ),
                )
            )
    kinds = ("a", "b", "c", "d", "e_a", "e_b", "e_c")
    out.sort(key=lambda w: kinds.index(w.name.split("/")[0]))  # stable: batches stay in order
    return out + [
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
