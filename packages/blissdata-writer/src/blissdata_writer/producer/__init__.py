"""The reference producer: publishes BLISS-like scans (the demo's and benchmarks' load generator).

>>> scan = simulate_scan(DataStore(url), "ascan", npoints=10, count_time=0.01, path="/tmp/d/s.h5")
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from blissdata_core import BaseStream, DataStore, Scan, Stream

from . import detectors as lima2_mosca
from . import lima
from .nxmap import build_h5map
from .plan import DEFAULT_DETECTORS, DETECTORS, SCAN_KINDS, ScanPlan, make_plan
from .scan_info import build_scan_info

__all__ = [
    "DEFAULT_DETECTORS",
    "DETECTORS",
    "SCAN_KINDS",
    "simulate_scan",
    "create_scan",
    "run_scan",
]

_logger = logging.getLogger(__name__)

START_POSITIONS = {"sx": 0.0, "sy": -1.0}


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat()


def _next_number(data_store: DataStore, path: str) -> int:
    """One more than the scans already published for that file."""
    try:
        _, keys = data_store.search_existing_scans(path=path)
    except Exception as exc:  # searching is a convenience, not a requirement
        _logger.debug("cannot search scans of %s: %s", path, exc)
        return 1
    return len(keys) + 1


def simulate_scan(
    data_store: DataStore,
    kind: str = "ascan",
    *,
    on_created: Callable[[Scan], None] | None = None,
    on_prepared: Callable[[Scan], None] | None = None,
    **options: Any,
) -> Scan:
    """Publish a whole scan (returns when it is CLOSED); ``options`` are those of :func:`create_scan`.

    ``on_created`` sees the scan right after its creation, ``on_prepared`` once
    it is PREPARED, before any data is sent.
    """
    scan, plan, sender = create_scan(data_store, kind, **options)
    if on_created is not None:
        on_created(scan)
    run_scan(scan, plan, sender, on_prepared)
    return scan


def create_scan(
    data_store: DataStore,
    kind: str = "ascan",
    npoints: int = 10,
    count_time: float = 0.1,
    path: str | None = None,
    detectors: tuple[str, ...] | list[str] = DEFAULT_DETECTORS,
    number: int | None = None,
    session: str = "demo",
    frames_per_file: int = 10,
) -> tuple[Scan, ScanPlan, _Sender]:
    """Create the scan, its streams and info (state CREATED); ``run_scan`` does the rest."""
    plan = make_plan(kind, npoints, count_time, tuple(detectors))
    path = os.path.abspath(path or os.path.join("/tmp", "blissdata", session, f"{session}.h5"))
    if number is None:
        number = _next_number(data_store, path)
    start_time = _now()
    entry = f"{number}.1"
    scan = data_store.create_scan(
        {
            "name": kind,
            "number": number,
            "data_policy": "no_policy",
            "session": session,
            "path": path,
        },
        info=build_scan_info(plan, number, session, path, start_time, START_POSITIONS),
    )
    streams: dict[str, BaseStream] = {}
    savers: dict[str, Any] = {}
    files_dir = os.path.join(os.path.dirname(path), f"scan{number:04d}")
    for channel in plan.channels:
        if channel.source == "lima":
            pattern = os.path.join(files_dir, f"{channel.device}_%04d.h5")
            definition = lima.definition(
                channel.stream, channel.dtype, channel.shape, pattern, plan.npoints,
                max(1, frames_per_file),
            )  # fmt: skip
        elif channel.source == "lima2":
            master = os.path.join(files_dir, f"{channel.device}_master.h5")
            definition = lima2_mosca.lima2_definition(
                channel.stream, channel.dtype, channel.shape, master, f"{session}-{number}"
            )
        elif channel.source == "mosca":
            definition = lima2_mosca.mosca_definition(
                channel.stream, channel.dtype, channel.shape, files_dir, f"{channel.device}_",
                max(1, frames_per_file), number,
            )  # fmt: skip
        else:
            definition = Stream.make_definition(
                channel.stream, channel.dtype, channel.shape, info={"unit": channel.unit}
            )
        streams[channel.stream] = stream = scan.create_stream(definition)
        if channel.source == "lima":
            assert isinstance(stream, lima.LimaStream)
            savers[channel.stream] = lima.FrameSaver(stream, plan.npoints)
        elif channel.source == "lima2":
            assert isinstance(stream, lima2_mosca.Lima2Stream)
            savers[channel.stream] = lima2_mosca.Lima2Saver(stream, plan.npoints)
        elif channel.source == "mosca":
            assert isinstance(stream, lima2_mosca.MoscaStream)
            savers[channel.stream] = lima2_mosca.MoscaSaver(stream, plan.npoints)
    scan.info["h5maps"] = {path: build_h5map(plan, entry, start_time, START_POSITIONS)}
    return scan, plan, _Sender(plan, streams, savers, entry, start_time)


def run_scan(
    scan: Scan, plan: ScanPlan, sender: _Sender, on_prepared: Callable[[Scan], None] | None = None
) -> None:
    """prepare, start, publish every point (paced by count time), stop, close with the final info."""
    scan.prepare()
    if on_prepared is not None:
        on_prepared(scan)
    scan.start()
    try:
        sender.send_all(scan)
    finally:
        for saver in sender.savers.values():
            saver.close()
    scan.stop()
    end_time = _now()
    path = scan.path
    scan.info["end_time"] = end_time
    scan.info["positioners"]["positioners_end"] = {m: float(v[-1]) for m, v in plan.motors.items()}
    scan.info["h5maps"] = {
        path: build_h5map(plan, sender.entry, sender.start_time, START_POSITIONS, end_time)
    }
    scan.close()


class _Sender:
    """Makes and publishes each point's data."""

    def __init__(
        self,
        plan: ScanPlan,
        streams: dict[str, BaseStream],
        savers: dict[str, Any],
        entry: str,
        start_time: str,
    ):
        self.plan = plan
        self.streams = streams
        self.savers = savers  # by stream name: what saves that stream's files
        self.entry = entry
        self.start_time = start_time
        self._rng = np.random.default_rng()
        bins = np.arange(1024)
        self._mca_shape = 200.0 * np.exp(-0.5 * ((bins - 400) / 30.0) ** 2) + 5.0
        yy, xx = np.mgrid[0:96, 0:128]
        self._spot = 3000.0 * np.exp(-0.5 * (((xx - 64) / 10.0) ** 2 + ((yy - 48) / 8.0) ** 2))

    def send_all(self, scan: Scan) -> None:
        plan = self.plan
        t0 = time.monotonic()
        for i in range(plan.npoints):
            if plan.count_time:
                delay = t0 + (i + 1) * plan.count_time - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            self._send_point(i, time.monotonic() - t0)

    def _send_point(self, i: int, elapsed: float) -> None:
        plan, streams = self.plan, self.streams
        for motor, positions in plan.motors.items():
            streams[f"axis:{motor}"].send(float(positions[i]))
        streams["timer:elapsed_time"].send(elapsed)
        streams["timer:epoch"].send(time.time())
        x = float(plan.motors["sx"][i]) if plan.motors else i / max(1, plan.npoints - 1)
        intensity = float(np.exp(-0.5 * ((x - 0.5) / 0.15) ** 2))
        if "diode:diode1" in streams:
            streams["diode:diode1"].send(1000.0 * intensity + self._rng.normal(0, 5.0))
        if "mca1:spectrum_det0" in streams:
            streams["mca1:realtime_det0"].send(plan.count_time)
            spectrum = self._rng.poisson(self._mca_shape * (0.2 + intensity)).astype(np.uint32)
            streams["mca1:spectrum_det0"].send(spectrum)
        if "lima_simulator:image" in self.savers:
            frame = (self._spot * intensity + self._rng.integers(0, 50, self._spot.shape)).astype(
                np.uint16
            )
            index = self.savers["lima_simulator:image"].save(frame)
            streams["lima_simulator:image"].send({"last_index": index, "last_index_saved": index})
        if "lima2_simulator:raw_frame" in self.savers:
            noise = self._rng.integers(0, 20, self._spot[::2, ::2].shape)
            frame = (self._spot[::2, ::2] * intensity + noise).astype(np.uint16)
            self.savers["lima2_simulator:raw_frame"].save(frame)
        if "mosca_simulator:spectrum_det00" in self.savers:
            spectrum = self._rng.poisson(self._mca_shape * (0.1 + intensity)).astype(np.uint32)
            self.savers["mosca_simulator:spectrum_det00"].save(spectrum)
