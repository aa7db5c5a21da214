"""The files written for simulated scans are sound NeXus, and follow the scan live."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest
from writer_helpers import lima_plugin_available, wait_status

from blissdata_core import DataStore
from blissdata_writer.producer import simulate_scan


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def check_nexus_entry(entry: h5py.Group, npoints: int) -> None:
    assert _text(entry.attrs["NX_class"]) == "NXentry"
    for name in ("title", "start_time", "end_time"):
        assert isinstance(entry[name][()], bytes), name
    assert _text(entry["instrument"].attrs["NX_class"]) == "NXinstrument"
    assert _text(entry["measurement"].attrs["NX_class"]) == "NXcollection"
    assert _text(entry["instrument/positioners"].attrs["NX_class"]) == "NXcollection"
    nxdata = entry[_text(entry.attrs["default"])]
    assert _text(nxdata.attrs["NX_class"]) == "NXdata"
    signal = nxdata[_text(nxdata.attrs["signal"])]
    assert isinstance(signal, h5py.Dataset)
    assert signal.shape[0] == npoints
    axes = [_text(a) for a in np.atleast_1d(nxdata.attrs["axes"])]
    assert axes
    for axis in axes:
        assert isinstance(nxdata[axis], h5py.Dataset)
        assert len(nxdata[axis]) == len(signal), axis
    for name, obj in entry["measurement"].items():
        assert isinstance(obj, h5py.Dataset), name
        assert len(obj) == npoints, name


@pytest.mark.parametrize("kind", ["ct", "ascan", "timescan", "mesh"])
def test_simulated_scans_are_nexus(redis_url, tmp_path, writer_service, kind):
    detectors = ("diode", "mca", "lima") if lima_plugin_available() else ("diode", "mca")
    writer_service()
    path = tmp_path / "nx.h5"
    scan = simulate_scan(
        DataStore(redis_url), kind, npoints=4, count_time=0, path=str(path), detectors=detectors
    )
    assert wait_status(redis_url, scan.key)["state"] == "complete"
    npoints = {"ct": 1, "mesh": 16}.get(kind, 4)
    if "lima" in detectors:  # read through the lima plugin before h5py opens the files
        last_frame = np.asarray(scan.streams["lima_simulator:image"][npoints - 1])
    with h5py.File(path, "r") as f:
        assert _text(f.attrs["NX_class"]) == "NXroot"
        check_nexus_entry(f[f"{scan.number}.1"], npoints)
        if "lima" in detectors:
            # where BLISS files (and ewoksdata) have a Lima detector's frames
            frames = f[f"{scan.number}.1/instrument/lima_simulator/data"]
            assert f[f"{scan.number}.1/measurement/lima_simulator"].is_virtual
            assert frames.is_virtual
            assert frames.shape == (npoints, 96, 128)
            assert frames.dtype == np.uint16
            # the VDS reads the producer's frame files
            assert np.array_equal(frames[npoints - 1], last_frame)


def test_simulated_lima_files_are_where_bliss_readers_look(redis_url, tmp_path):
    """Without the writer's dataset, a reader finds the simulator's Lima files where
    BLISS keeps them (the reference dynamic_hdf5's default Lima URL template)."""
    if not lima_plugin_available():
        pytest.skip("no lima plugin")
    blissdata_h5 = pytest.importorskip("blissdata_h5")
    path = tmp_path / "nx.h5"
    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=5, count_time=0, path=str(path), detectors=("lima",)
    )
    expected = np.asarray(scan.streams["lima_simulator:image"][0:5])
    with h5py.File(path, "w") as f:  # a scan file the writer has not filled (yet)
        f.create_group(f"{scan.number}.1/instrument")
        f[f"{scan.number}.1/end_time"] = "2026-01-01T00:00:00"
    with blissdata_h5.File(
        path, source="file", retry_timeout=2, lima_names=["lima_simulator"]
    ) as f:
        frames = f[f"{scan.number}.1/instrument/lima_simulator/data"]
        assert frames.shape == (5, 96, 128)
        np.testing.assert_array_equal(frames[()], expected)


WATCHER = """
import sys, h5py
path, dataset = sys.argv[1:]
while True:
    try:
        with h5py.File(path, "r", locking=False) as f:
            if dataset in f and len(f[dataset]) > 0:
                print(len(f[dataset]))
                break
    except (OSError, KeyError, RuntimeError):
        pass  # not there yet, or caught between two writes
"""


def test_file_grows_while_the_scan_runs(redis_url, tmp_path, writer_service):
    """Readers of the file (another process) see points before the scan ends."""
    writer_service()
    path = tmp_path / "live.h5"
    watcher = {}

    def watch(scan):
        dataset = f"/{scan.number}.1/instrument/diode/diode1"
        watcher["proc"] = subprocess.Popen(
            [sys.executable, "-c", WATCHER, str(path), dataset], stdout=subprocess.PIPE, text=True
        )

    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=100, count_time=0.05, path=str(path),
        detectors=("diode",), on_prepared=watch,
    )  # fmt: skip
    # the watcher saw data while the scan ran: it ended before the scan did
    ended_during_scan = watcher["proc"].poll() is not None
    out, _ = watcher["proc"].communicate(timeout=60)
    assert ended_during_scan
    assert 0 < int(out) < 100
    assert wait_status(redis_url, scan.key)["state"] == "complete"


def test_a_file_reader_follows_the_scan_as_it_is_written(redis_url, tmp_path):
    """The reference's dynamic_hdf5 use: a reader follows the file the writer writes,
    Lima frames from the Lima files until the writer references them, to the end."""
    if not lima_plugin_available():
        pytest.skip("no lima plugin")
    blissdata_h5 = pytest.importorskip("blissdata_h5")
    path = str(tmp_path / "nx.h5")
    created: queue.Queue = queue.Queue()
    writer = str(Path(sys.executable).parent / "blissdata-writer")

    def on_created(scan):
        proc = subprocess.Popen([writer, "write", redis_url, scan.key], stdout=subprocess.DEVNULL)
        created.put((scan, proc))

    def produce():
        simulate_scan(
            DataStore(redis_url), "ascan", npoints=8, count_time=0.4, path=path,
            detectors=("diode", "lima"), frames_per_file=2, on_created=on_created,
        )  # fmt: skip

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    scan, proc = created.get(timeout=60)
    try:
        with blissdata_h5.File(
            path, source="file", retry_timeout=60, retry_period=0.02, lima_names=["lima_simulator"]
        ) as f:
            entry = f[f"{scan.number}.1"]
            diode, frames = entry["measurement/diode1"], entry["instrument/lima_simulator/data"]
            rows = list(zip(diode, frames))
    finally:
        producer.join(60)
        assert proc.wait(60) == 0
    assert len(rows) == 8
    for i, (value, frame) in enumerate(rows):
        assert value == scan.streams["diode:diode1"][i]
        np.testing.assert_array_equal(frame, scan.streams["lima_simulator:image"][i])
