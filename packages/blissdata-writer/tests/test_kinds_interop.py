"""lima2 and mosca scans: our writer against blisswriter 3.0.0 (the other writer
interop cases are cells of the conformance matrix, tests/integration)."""

from __future__ import annotations

import os
import time

import h5py
import numpy as np
import pytest
from writer_helpers import BlissWriter, write_scan

from blissdata_core import DataStore
from blissdata_core.testing import FakeLima2Conductor
from blissdata_writer.producer import simulate_scan
from blissdata_writer.testing import describe, differences

pytestmark = pytest.mark.interop


@pytest.fixture
def blisswriter(reference_python, redis_url, tmp_path):
    """blisswriter 3.0.0's service, in the reference venv, following the database."""
    writer = BlissWriter(reference_python, redis_url, tmp_path / "blisswriter.log")
    try:
        yield writer
    finally:
        writer.stop()


#: blisswriter loads a scan non-atomically (document, then state): loaded during
#: prepare(), it sees PREPARED with the document of CREATED (no streams yet) and
#: fails. Giving it time to load the scan before prepare() avoids that race of
#: the reference (ours reloads the scan once PREPARED).
REFERENCE_LOAD_DELAY = 0.5


def let_reference_load(_scan=None) -> None:
    time.sleep(REFERENCE_LOAD_DELAY)


def compare_with_reference(blisswriter, redis_url: str, scan_key: str, files: list[str]) -> None:
    blisswriter.wait_scan(scan_key, files)
    for path in files:
        os.rename(path, path + ".ref.h5")
    status = write_scan(redis_url, scan_key)
    assert status.state == "complete", status
    for path in files:
        problems = differences(describe(path + ".ref.h5"), describe(path))
        assert not problems, "\n".join(problems)


# -- lima2 and mosca detectors ------------------------------------------------------------------


def test_lima2_scan_matches_blisswriter(blisswriter, redis_url, tmp_path, monkeypatch):
    """blisswriter writes a lima2 source as an external link to its master file: so do we.
    blisswriter's lima2 plugin shakes hands with the conductor: a fake one answers."""
    from blissdata_writer.producer import detectors

    path = str(tmp_path / "data" / "sample.h5")
    with FakeLima2Conductor() as conductor:
        monkeypatch.setattr(detectors, "CONDUCTOR", ("127.0.0.1", conductor.port))
        scan = simulate_scan(
            DataStore(redis_url), "ascan", npoints=5, count_time=0, path=path,
            detectors=("diode", "lima2"), on_created=let_reference_load,
            on_prepared=lambda scan: blisswriter.wait_started(scan.key),
        )  # fmt: skip
        compare_with_reference(blisswriter, redis_url, scan.key, [path])
    with h5py.File(path, "r") as f:
        link = f.get("/1.1/instrument/lima2_simulator/data", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert f["/1.1/measurement/lima2_simulator"].shape == (5, 48, 64)


def test_mosca_scan_is_written_where_blisswriter_fails(blisswriter, redis_url, tmp_path):
    """blisswriter 3.0.0 has no writer for mosca streams (its stream_writer_factory raises
    "Unknown stream type"; without the mosca plugin the stream is broken): the scan fails
    there.  We reference the spectra the detector saved (a virtual dataset)."""
    path = str(tmp_path / "data" / "sample.h5")
    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=5, count_time=0, path=path,
        detectors=("diode", "mosca"), frames_per_file=2, on_created=let_reference_load,
        on_prepared=lambda scan: blisswriter.wait_started(scan.key),
    )  # fmt: skip
    with pytest.raises(AssertionError, match="blisswriter failed"):
        blisswriter.wait_scan(scan.key, [path])
    os.rename(path, path + ".ref.h5")
    status = write_scan(redis_url, scan.key)
    assert status.state == "complete" and not status.missing, status
    stream = DataStore(redis_url).load_scan(scan.key).streams["mosca_simulator:spectrum_det00"]
    spectra = stream[:]
    with h5py.File(path, "r") as f:
        dset = f["/1.1/instrument/mosca_simulator/spectrum_det00"]
        assert dset.is_virtual and dset.shape == (5, 1024)
        assert np.array_equal(dset[()], spectra)
    with h5py.File(path + ".ref.h5", "r") as f:  # blisswriter wrote the static part only
        assert "spectrum_det00" not in f["/1.1/instrument/mosca_simulator"]
