"""Lima2 and mosca detectors of the simulator, written by our writer.

Lima2 frames become an external link to the acquisition's master file (what
blisswriter 3.0.0 writes); mosca spectra a virtual dataset over the files the
detector saved.
"""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
from writer_helpers import write_scan

from blissdata_core import DataStore
from blissdata_writer.producer import simulate_scan

LIMA2 = "/1.1/instrument/lima2_simulator/data"
MOSCA = "/1.1/instrument/mosca_simulator/spectrum_det00"


def test_lima2_is_linked_and_mosca_referenced(redis_url, tmp_path):
    path = str(tmp_path / "data" / "sample.h5")
    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=7, count_time=0, path=path,
        detectors=("diode", "lima2", "mosca"), frames_per_file=3,
    )  # fmt: skip
    status = write_scan(redis_url, scan.key)
    assert status.state == "complete", status
    assert not status.missing
    loaded = DataStore(redis_url).load_scan(scan.key)
    frames = loaded.streams["lima2_simulator:raw_frame"][:]
    spectra = loaded.streams["mosca_simulator:spectrum_det00"][:]
    assert frames.shape == (7, 48, 64) and spectra.shape == (7, 1024)
    with h5py.File(path, "r") as f:
        link = f.get(LIMA2, getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert (link.filename, link.path) == (
            "scan0001/lima2_simulator_master.h5",
            "/entry_0000/processing/raw_frame/data",
        )
        assert np.array_equal(f[LIMA2][()], frames)
        assert dict(f[LIMA2].attrs) == {}  # a link: blisswriter writes no attributes either
        assert f[MOSCA].is_virtual
        assert np.array_equal(f[MOSCA][()], spectra)
        assert f[MOSCA].attrs["interpretation"] == "spectrum"
        assert np.array_equal(f["/1.1/measurement/mosca_simulator_spectrum_det00"][()], spectra)
    files = sorted(p.name for p in (tmp_path / "data" / "scan0001").iterdir())
    assert files == [
        "lima2_simulator_master.h5",
        "mosca_simulator_spectra_0000.h5",
        "mosca_simulator_spectra_0001.h5",
        "mosca_simulator_spectra_0002.h5",
    ]


def test_simulate_cli_takes_the_new_detectors(redis_url, tmp_path):
    path = str(tmp_path / "cli.h5")
    out = subprocess.run(
        [sys.executable, "-m", "blissdata_writer.cli", "simulate", redis_url, "--scan", "ct",
         "--path", path, "--count-time", "0", "--detectors", "lima2", "mosca"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    scan = DataStore(redis_url).load_scan(out.stdout.split()[0])
    assert sorted(scan.streams) == [
        "lima2_simulator:raw_frame", "mosca_simulator:spectrum_det00",
        "timer:elapsed_time", "timer:epoch",
    ]  # fmt: skip
    assert len(scan.streams["lima2_simulator:raw_frame"]) == 1
    assert scan.streams["mosca_simulator:spectrum_det00"][0].shape == (1024,)
    json.dumps(scan.info["plots"])


def test_lima2_without_master_file_is_left_out(redis_url, tmp_path):
    """blisswriter 3.0.0 fails the whole scan ("provides no master file"); we leave the
    dataset out, saying why, and write the rest."""
    from blissdata_core import Stream
    from blissdata_core.streams.plugins.lima2 import Lima2Stream

    path = str(tmp_path / "s.h5")
    children = {"det": {"type": "stream", "stream": "det:frame"},
                "diode": {"type": "stream", "stream": "diode"}}  # fmt: skip
    h5maps = {path: {"type": "group", "children": {"1.1": {"type": "group", "children": children}}}}
    scan = DataStore(redis_url).create_scan(
        {"name": "ct", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": h5maps},
    )
    frames = scan.create_stream(
        Lima2Stream.make_definition("det:frame", "raw", "cond", 1, "u", None, "uint16", (2, 2))
    )
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    scan.prepare()
    scan.start()
    frames.send(3)
    diode.send(np.arange(3.0))
    scan.stop()
    scan.close()
    status = write_scan(redis_url, scan.key)
    assert status.state == "incomplete"
    (reason,) = status.missing.values()
    assert "no master file" in reason and "Lima2 conductor cond:1" in reason
    with h5py.File(path, "r") as f:
        assert "det" not in f["1.1"] and f["1.1/diode"].shape == (3,)
