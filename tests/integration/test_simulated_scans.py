"""BLISS-like scans from the project's reference producer: live view == written file."""

from __future__ import annotations

import h5py
import pytest

import blissdata_h5
from blissdata_writer import producer, scan_writer
from tools.conformance.h5files import tree_problems


@pytest.mark.parametrize("kind", ["ct", "ascan", "timescan", "mesh"])
def test_simulated_scan_reads_like_its_file(data_store, tmp_path, kind):
    path = str(tmp_path / "data" / "sample.h5")
    scans = [
        producer.simulate_scan(
            data_store, kind, npoints=3, count_time=0, path=path, detectors=["diode", "mca"]
        )
        for _ in range(2)
    ]
    for scan in scans:
        assert scan_writer.ScanWriter(data_store, scan.key).run().state == "complete"
    with h5py.File(path, "r") as theirs:
        for source in ("redis", "file", "auto"):
            with blissdata_h5.File(path, data_store=data_store, source=source) as ours:
                assert len(ours) == 2
                assert not tree_problems(ours, theirs)
