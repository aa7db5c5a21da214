"""Streams whose points live in files (FileBacked): referenced as the files' format allows.

HDF5 frames become a virtual dataset, uncompressed EDF frames a dataset with
HDF5 external storage over their raw data (never a virtual dataset over EDF
files), other formats are left out, naming the format.
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
from writer_helpers import write_scan

from blissdata_core import DataStore, Stream
from blissdata_core.streams.capabilities import HDF5
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.testing import write_edf

SHAPE = (3, 4)
IMAGE = "/1.1/instrument/det/image"


def frame(i: int) -> np.ndarray:
    return np.arange(12, dtype=np.uint16).reshape(SHAPE) + 100 * i


def publish(redis_url: str, path: str, file_format: str | None, nframes: int = 5) -> str:
    """A closed scan: a diode and a lima detector saving 2 frames per file in ``file_format``
    (None: frames not saved), both mapped into ``path``."""
    children = {
        "instrument": {
            "type": "group",
            "children": {
                "det": {"type": "group", "children": {"image": {"type": "stream", "stream": "det:image"}}}
            },
        },
        "measurement": {
            "type": "group",
            "children": {"diode": {"type": "stream", "stream": "diode"}},
        },
    }  # fmt: skip
    h5maps = {path: {"type": "group", "children": {"1.1": {"type": "group", "children": children}}}}
    scan = DataStore(redis_url).create_scan(
        {"name": "ct", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": h5maps},
    )
    saving = None
    if file_format is not None:
        ext = {"HDF5": "h5", "EDF": "edf"}.get(file_format, file_format.lower())
        saving = {
            "file_path": os.path.join(os.path.dirname(path), "scan0001", f"det_%04d.{ext}"),
            "data_path": "/entry_0000/measurement/data",
            "file_format": file_format,
            "file_offset": 0,
            "frames_per_file": 2,
        }
    image = scan.create_stream(
        LimaStream.make_definition("det:image", "uint16", SHAPE, "id00/limaccds/det", 0, nframes,
                                   0, saving)
    )  # fmt: skip
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    scan.prepare()
    scan.start()
    if saving is not None:
        os.makedirs(os.path.dirname(saving["file_path"]))
        for run in image.file_runs(0, nframes):
            frames = np.stack([frame(i) for i in range(run.start, run.stop)])
            if run.file_format == HDF5:
                with h5py.File(run.file_path, "w") as f:
                    f[run.data_path] = frames
            elif run.file_format == "edf":
                write_edf(run.file_path, frames)
            else:
                with open(run.file_path, "wb") as f:
                    f.write(b"###CBF: not read by anyone here\n")
    image.send_status(nframes - 1, nframes - 1)
    diode.send(np.arange(float(nframes)))
    scan.stop()
    scan.close()
    return scan.key


def test_hdf5_frames_make_a_virtual_dataset(redis_url, tmp_path):
    path = str(tmp_path / "s.h5")
    status = write_scan(redis_url, publish(redis_url, path, "HDF5"))
    assert status.state == "complete", status.message
    with h5py.File(path, "r") as f:
        image = f[IMAGE]
        assert image.is_virtual and image.maxshape == (None, *SHAPE)
        sources = [(s.file_name, s.dset_name) for s in image.virtual_sources()]
        assert sources == [
            (f"scan0001/det_{n:04d}.h5", "/entry_0000/measurement/data") for n in range(3)
        ]
        np.testing.assert_array_equal(image[()], np.stack([frame(i) for i in range(5)]))


def test_edf_frames_make_external_storage_not_a_virtual_dataset(redis_url, tmp_path):
    path = str(tmp_path / "s.h5")
    status = write_scan(redis_url, publish(redis_url, path, "EDF"))
    assert status.state == "complete", status.message
    assert status.datasets[f"{path}::{IMAGE}"] == 5
    with h5py.File(path, "r") as f:
        image = f[IMAGE]
        assert not image.is_virtual
        assert (image.shape, image.dtype) == ((5, *SHAPE), np.dtype("<u2"))
        names = [os.fsdecode(name) for name, _, _ in image.external]
        edf = [str(tmp_path / "scan0001" / f"det_{n:04d}.edf") for n in (0, 0, 1, 1, 2)]
        assert names == edf
        # each frame's data, after its 512-byte header
        assert [(offset, size) for _, offset, size in image.external] == [
            (512, 24), (1048, 24), (512, 24), (1048, 24), (512, 24)
        ]  # fmt: skip
        np.testing.assert_array_equal(image[()], np.stack([frame(i) for i in range(5)]))
        np.testing.assert_array_equal(f["1.1/measurement/diode"][()], np.arange(5.0))


@pytest.mark.parametrize(
    ("file_format", "reason"),
    [("CBF", "'cbf' files"), (None, "not saved in files")],
)
def test_frames_that_cannot_be_referenced_are_left_out(redis_url, tmp_path, file_format, reason):
    path = str(tmp_path / "s.h5")
    status = write_scan(redis_url, publish(redis_url, path, file_format))
    assert status.state == "incomplete"
    assert list(status.missing) == [f"{path}::{IMAGE}"]
    assert reason in status.missing[f"{path}::{IMAGE}"]
    with h5py.File(path, "r") as f:
        assert "image" not in f["1.1/instrument/det"]
        np.testing.assert_array_equal(f["1.1/measurement/diode"][()], np.arange(5.0))
