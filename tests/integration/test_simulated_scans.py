"""BLISS-like scans from the project's reference producer: live view == written file."""

from __future__ import annotations

import h5py
import numpy as np
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


LIMA2 = "1.1/instrument/lima2_simulator/data"
MOSCA = "1.1/instrument/mosca_simulator/spectrum_det00"


@pytest.mark.parametrize("kind", ["ct", "ascan"])
def test_simulated_lima2_and_mosca_read_like_the_file(data_store, tmp_path, kind):
    """Lima2 frames (an external link to the master file) and mosca spectra (a virtual
    dataset): the facade, live from Redis or on the file, shows what h5py shows."""
    path = str(tmp_path / "data" / "sample.h5")
    scan = producer.simulate_scan(
        data_store, kind, npoints=4, count_time=0, path=path,
        detectors=["diode", "lima2", "mosca"], frames_per_file=3,
    )  # fmt: skip
    assert scan_writer.ScanWriter(data_store, scan.key).run().state == "complete"
    with h5py.File(path, "r") as theirs:
        expected = {}
        for name in (LIMA2, MOSCA, "1.1/measurement/lima2_simulator"):
            dset = theirs[name]
            expected[name] = (dset.shape, dset.dtype, dset[()], dict(dset.attrs))
        del dset  # else HDF5 keeps the master file open (with locking) past the with block
        assert isinstance(theirs.get(LIMA2, getlink=True), h5py.ExternalLink)
    npoints = 1 if kind == "ct" else 4
    assert expected[MOSCA][0] == (npoints, 1024) and expected[LIMA2][0] == (npoints, 48, 64)
    for source in ("redis", "file", "auto"):
        with blissdata_h5.File(path, data_store=data_store, source=source) as ours:
            for name, (shape, dtype, values, attrs) in expected.items():
                mine = ours[name]
                assert (mine.shape, mine.dtype) == (shape, dtype), (source, name)
                assert np.array_equal(mine[()], values), (source, name)
                assert np.array_equal(mine[1:3, 2], values[1:3, 2]), (source, name)
                assert np.array_equal(mine[-1], values[-1]), (source, name)
                assert dict(mine.attrs) == attrs, (source, name, dict(mine.attrs), attrs)
