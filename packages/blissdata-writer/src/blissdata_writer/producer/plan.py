"""What a simulated scan does: its motors, its points, its channels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SCAN_KINDS = ("ct", "ascan", "timescan", "mesh")
#: Every simulated detector; ``lima2`` and ``mosca`` need their plugins to be read.
DETECTORS = ("diode", "mca", "lima", "lima2", "mosca")
#: Those of a scan that does not name its detectors.
DEFAULT_DETECTORS = ("diode", "mca", "lima")

MCA_CHANNELS = 1024
IMAGE_SHAPE = (96, 128)
LIMA2_SHAPE = (48, 64)


@dataclass(frozen=True)
class Channel:
    """One stream of the scan, with what BLISS tells about it."""

    stream: str  # stream name "<device>:<name>"
    dtype: str
    shape: tuple[int, ...]
    unit: str | None
    kind: str  # "axis", "scalar", "spectrum", "image"
    source: str = "redis"  # where points go: "redis", or the files of "lima", "lima2", "mosca"

    @property
    def device(self) -> str:
        return self.stream.split(":", 1)[0]

    @property
    def display_name(self) -> str:
        return self.stream.split(":", 1)[1]


@dataclass
class ScanPlan:
    kind: str
    npoints: int
    count_time: float
    detectors: tuple[str, ...]
    motors: dict[str, np.ndarray] = field(default_factory=dict)
    motor_units: dict[str, str] = field(default_factory=dict)
    title: str = ""

    @property
    def channels(self) -> list[Channel]:
        out = [
            Channel(f"axis:{m}", "float64", (), self.motor_units[m], "axis") for m in self.motors
        ]
        out += [
            Channel(
                "timer:elapsed_time", "float64", (), "s", "axis" if not self.motors else "scalar"
            ),
            Channel("timer:epoch", "float64", (), "s", "scalar"),
        ]
        if "diode" in self.detectors:
            out.append(Channel("diode:diode1", "float64", (), "mV", "scalar"))
        if "mca" in self.detectors:
            out.append(Channel("mca1:realtime_det0", "float64", (), "s", "scalar"))
            out.append(
                Channel("mca1:spectrum_det0", "uint32", (MCA_CHANNELS,), "counts", "spectrum")
            )
        if "lima" in self.detectors:
            out.append(
                Channel("lima_simulator:image", "uint16", IMAGE_SHAPE, None, "image", "lima")
            )
        if "lima2" in self.detectors:
            out.append(
                Channel("lima2_simulator:raw_frame", "uint16", LIMA2_SHAPE, None, "image", "lima2")
            )
        if "mosca" in self.detectors:
            out.append(
                Channel(
                    "mosca_simulator:spectrum_det00",
                    "uint32",
                    (MCA_CHANNELS,),
                    "counts",
                    "spectrum",
                    "mosca",
                )  # fmt: skip
            )
        return out

    @property
    def axes(self) -> list[str]:
        """Display names of the plot axes (``elapsed_time`` when nothing moves)."""
        return list(self.motors) or ["elapsed_time"]

    @property
    def signal(self) -> str:
        return "diode1" if "diode" in self.detectors else "epoch"


def make_plan(
    kind: str, npoints: int, count_time: float, detectors: tuple[str, ...] = DEFAULT_DETECTORS
) -> ScanPlan:
    """``npoints`` is the number of points, except for ``mesh`` (points per motor: N x N)."""
    if kind not in SCAN_KINDS:
        raise ValueError(f"unknown scan kind {kind!r} (choose from {', '.join(SCAN_KINDS)})")
    unknown = set(detectors) - set(DETECTORS)
    if unknown:
        raise ValueError(
            f"unknown detector(s) {sorted(unknown)} (choose from {', '.join(DETECTORS)})"
        )
    if npoints < 1:
        raise ValueError("npoints must be at least 1")
    if count_time < 0:
        raise ValueError("count_time cannot be negative")
    plan = ScanPlan(kind, npoints, count_time, tuple(d for d in DETECTORS if d in detectors))
    if kind == "ct":
        plan.npoints = 1
        plan.title = f"ct {count_time:g}"
    elif kind == "timescan":
        plan.title = f"timescan {count_time:g} {npoints}"
    elif kind == "ascan":
        plan.motors = {"sx": np.linspace(0.0, 1.0, npoints)}
        plan.title = f"ascan sx 0 1 {npoints - 1} {count_time:g}"
    else:
        fast, slow = np.meshgrid(np.linspace(0.0, 1.0, npoints), np.linspace(-1.0, 1.0, npoints))
        plan.motors = {"sx": fast.ravel(), "sy": slow.ravel()}
        plan.npoints = npoints * npoints
        plan.title = f"amesh sx 0 1 {npoints - 1} sy -1 1 {npoints - 1} {count_time:g}"
    plan.motor_units = {m: "mm" for m in plan.motors}
    return plan
