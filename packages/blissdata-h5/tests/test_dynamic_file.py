"""Following an HDF5 file as it is written (the reference's ``dynamic_hdf5``):
a writer thread appends with h5py while a reader follows to the end."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import blissdata_h5
from blissdata_h5.compat_dynamic_hdf5 import File as DynamicFile

NPOINTS = 12
FRAME = (3, 4)


def lima_frame(i):
    return np.arange(12, dtype=np.uint16).reshape(FRAME) + 100 * i


#: The writer: another process, as BLISS is (HDF5 will not open, in one process, a
#: file for writing that is open for reading).  argv: path, keep_open, end, lima_dir.
WRITER = """
import os, sys, time
import h5py, numpy as np

path, keep_open, end, lima_dir = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
NPOINTS, PERIOD = 12, 0.01


def lima_frame(i):
    return np.arange(12, dtype=np.uint16).reshape(3, 4) + 100 * i


def open_file():
    return h5py.File(path, "a", locking=False)


time.sleep(PERIOD * 5)  # the reader opens the file before it exists
f = open_file()
entry = f.create_group("1.1")
entry.attrs["NX_class"] = "NXentry"
entry.create_group("instrument")
f.flush()
for i in range(NPOINTS):
    if i == 2:
        x = entry.create_group("measurement").create_dataset(
            "x", shape=(3,), maxshape=(None,), dtype="f8"
        )
        x[:] = [0.0, 0.5, 1.0]
    elif i > 2:
        x = f["1.1/measurement/x"]
        x.resize((i + 1,))
        x[i] = i * 0.5
    if lima_dir and i % 4 == 3:  # a Lima file of 4 frames is finished
        os.makedirs(lima_dir, exist_ok=True)
        with h5py.File(os.path.join(lima_dir, f"pilatus_{i // 4:04d}.h5"), "w") as lima:
            lima["entry_0000/measurement/data"] = np.stack(
                [lima_frame(k) for k in range(i - 3, i + 1)]
            )
    f.flush()
    if not keep_open:
        f.close()
    time.sleep(PERIOD)
    if not keep_open:
        f = open_file()
        entry = f["1.1"]
if end == "end_time":
    entry["end_time"] = "2026-01-01T00:00:00"
else:
    entry.create_group("writer")["status"] = end
f.close()
"""


class ScanFileWriter:
    """Writes entry ``1.1`` point by point in another process; ends it with ``end_time``
    or a writer status."""

    def __init__(self, path, keep_open, end="end_time", lima_dir=None):
        self.args = [path, "1" if keep_open else "0", end, lima_dir or ""]

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-c", WRITER, *self.args])

    def join(self, timeout):
        assert self.process.wait(timeout) == 0


@pytest.mark.parametrize("keep_open", [False, True], ids=["reopened", "flushed"])
@pytest.mark.parametrize("end", ["end_time", "SUCCEEDED"])
def test_reader_follows_to_the_end(tmp_path, keep_open, end):
    path = str(tmp_path / "scan.h5")
    writer = ScanFileWriter(path, keep_open, end)
    writer.start()
    with blissdata_h5.File(path, source="file", retry_timeout=10, retry_period=0.01) as f:
        x = f["1.1/measurement/x"]  # waits for the file, then for the dataset
        assert x.live or len(x) == NPOINTS
        values = list(x)  # follows the dataset until the entry ends
        assert values == [i * 0.5 for i in range(NPOINTS)]
        assert not x.live
        np.testing.assert_array_equal(x[()], np.arange(NPOINTS) * 0.5)
        start = time.monotonic()
        with pytest.raises(KeyError):
            f["1.1/measurement/never"]  # the entry ended: no waiting
        assert time.monotonic() - start < 10  # under retry_timeout: no waiting
    writer.join(10)


def test_explicit_reads_wait_for_rows(tmp_path):
    path = str(tmp_path / "scan.h5")
    writer = ScanFileWriter(path, keep_open=False)
    writer.start()
    with blissdata_h5.File(path, source="file", retry_timeout=10, retry_period=0.01) as f:
        x = f["1.1/measurement/x"]
        assert x[NPOINTS - 1] == (NPOINTS - 1) * 0.5  # waits for the last row
        assert x.wait()  # until the end
    writer.join(10)


def test_missing_object_of_a_live_entry_times_out(tmp_path):
    path = str(tmp_path / "scan.h5")
    with h5py.File(path, "w") as f:
        f.create_group("1.1/measurement")
    with blissdata_h5.File(path, source="file", retry_timeout=0.3, retry_period=0.05) as f:
        start = time.monotonic()
        with pytest.raises(KeyError):
            f["1.1/measurement/x"]
        assert 0.3 <= time.monotonic() - start < 30  # waited its timeout, then gave up


def test_without_retry_timeout_nothing_is_waited_for(tmp_path):
    path = str(tmp_path / "scan.h5")
    with h5py.File(path, "w") as f:
        f.create_group("1.1/measurement")
    with blissdata_h5.File(path, source="file") as f:
        with pytest.raises(KeyError):
            f["1.1/measurement/x"]


def test_lima_frames_from_the_lima_files(tmp_path):
    """Before the writer references the frames (here: never), they come from the Lima files."""
    path = str(tmp_path / "scan.h5")
    writer = ScanFileWriter(path, keep_open=False, lima_dir=str(tmp_path / "scan0001"))
    writer.start()
    with blissdata_h5.File(
        path, source="file", retry_timeout=10, retry_period=0.01, lima_names=["pilatus"]
    ) as f:
        assert list(f["1.1/instrument/pilatus"]) == ["data"]
        data = f["1.1/instrument/pilatus/data"]
        frames = list(data)  # follows the Lima files until the entry ends
        assert len(frames) == NPOINTS
        for i, got in enumerate(frames):
            np.testing.assert_array_equal(got, lima_frame(i))
        assert data.shape == (NPOINTS, *FRAME) and data.dtype == np.uint16
        np.testing.assert_array_equal(
            data[5:11:3, 1], np.stack([lima_frame(5), lima_frame(8)])[:, 1]
        )
    writer.join(10)


def test_written_lima_dataset_is_preferred(tmp_path):
    path = str(tmp_path / "scan.h5")
    os.makedirs(tmp_path / "scan0001")
    with h5py.File(tmp_path / "scan0001" / "pilatus_0000.h5", "w") as lima:
        lima["entry_0000/measurement/data"] = np.stack([lima_frame(0)])
    with h5py.File(path, "w") as f:
        f["1.1/instrument/pilatus/data"] = np.stack([lima_frame(7)])
        f["1.1/end_time"] = "now"
    with DynamicFile(path, retry_timeout=1, lima_names=["pilatus"]) as f:
        np.testing.assert_array_equal(f["1.1/instrument/pilatus/data"][0], lima_frame(7))


def test_dynamic_hdf5_compat_options(tmp_path):
    """The reference's options: retry_period, lima_names, instrument_name, URL templates."""
    path = str(tmp_path / "scan.h5")
    lima_dir = tmp_path / "scan0001"
    os.makedirs(lima_dir)
    for number in range(2):
        with h5py.File(lima_dir / f"pilatus_{number}.h5", "w") as lima:
            frames = np.stack([lima_frame(2 * number), lima_frame(2 * number + 1)])
            lima["entry_0000/myinstr/pilatus/data"] = frames
    with h5py.File(path, "w") as f:
        f.create_group("1.1/instrument")
        f["1.1/end_time"] = "now"
    with DynamicFile(
        path, retry_timeout=1, retry_period=0.01, lima_names=["pilatus"], instrument_name="myinstr"
    ) as f:
        np.testing.assert_array_equal(f["1.1/instrument/pilatus/data"][3], lima_frame(3))
    template = os.path.join(
        "{dirname}", "scan{scan_number:04d}", "{bliss_detector_name}_{{file_index}}.h5"
    )
    with DynamicFile(
        path,
        retry_timeout=1,
        lima_names=["pilatus"],
        lima_url_template=template + "::/entry_0000/{instrument}/{bliss_detector_name}/data",
        lima_url_template_args={"instrument": "myinstr"},
    ) as f:
        assert f["1.1/instrument/pilatus/data"].shape == (4, *FRAME)
    with pytest.raises(TypeError, match="unexpected"):
        DynamicFile(path, retry_timeout=1, nonsense=True)
