"""A BLISS-like scan (the reference producer's streams and NeXus map) published point by point.

The tests decide when each point is published, so "while the scan runs" is
a state the test holds, not a race against a timer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from blissdata_writer import producer, scan_writer

#: Scalar channels only, so that every stream gets one number per point.
DETECTORS = ("diode",)


def counter_values(name: str, start: int, stop: int) -> np.ndarray:
    """Point values of a stream, different for each stream and each point."""
    return np.arange(start, stop, dtype=float) * (1 + len(name)) + 0.5


class LiveScan:
    """A running ``ascan`` whose points are published when the test says so."""

    def __init__(self, data_store: Any, path: str, npoints: int = 10):
        self.path = path
        self.npoints = npoints
        self.published = 0
        self.scan, _plan, _sender = producer.create_scan(
            data_store, "ascan", npoints=npoints, count_time=0, path=path, detectors=DETECTORS
        )
        self.entry = f"{self.scan.number}.1"
        self.scan.prepare()
        self.scan.start()

    def publish(self, count: int) -> None:
        """The next ``count`` points on every stream, acknowledged by Redis."""
        start, stop = self.published, self.published + count
        for name, stream in self.scan.streams.items():
            stream.send(counter_values(name, start, stop))
        for stream in self.scan.streams.values():
            stream.join()
        self.published = stop

    def values(self, stream: str) -> np.ndarray:
        return counter_values(stream, 0, self.published)

    def finish(self, data_store: Any) -> None:
        """Publish the remaining points, close the scan and write its file."""
        self.publish(self.npoints - self.published)
        self.scan.stop()
        self.scan.close()
        assert scan_writer.ScanWriter(data_store, self.scan.key).run().state == "complete"
