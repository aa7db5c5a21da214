"""Streams whose points live in files (the FileBacked capability), shown by the facade.

Live from Redis, rows are read where the stream's runs say, as the writer's
virtual dataset (HDF5) or external storage (EDF) reads them once it wrote the
file: both sources show the same values.  A plugin defined here, unknown to
the writer and the facade, is written and shown through the capability alone.
"""

from __future__ import annotations

import os
import types

import h5py
import numpy as np
import pytest
from helpers import entry_map

import blissdata_h5
from blissdata_core import BaseStream, BaseView, DataStore, Stream
from blissdata_core.errors import EmptyViewException, ExternalDataError
from blissdata_core.streams import plugins
from blissdata_core.streams.capabilities import EDF, HDF5, FileBacked, FileRun
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.testing import write_edf

writer = pytest.importorskip("blissdata_writer.scan_writer")

SHAPE = (3, 4)
PLUGIN = "frame_files_test_plugin"


def frame(i: int) -> np.ndarray:
    return np.arange(12, dtype=np.uint16).reshape(SHAPE) + 100 * i


def save(path: str, file_format: str, frames: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if file_format == HDF5:
        with h5py.File(path, "w") as f:
            f["/data"] = frames
    else:
        write_edf(path, frames)


# -- a plugin the writer and the facade know nothing about -------------------------------------


class FrameFilesView(BaseView):
    def __init__(self, index: int, count: int):
        self._index, self._count = index, count

    @property
    def index(self) -> int:
        return self._index

    def __len__(self) -> int:
        return self._count

    def get_data(self, start=None, stop=None):
        raise ExternalDataError("this plugin's points are read from their files")


class FrameFilesStream(BaseStream):
    """Each JSON event says ``count`` more points were saved in ``file`` (``format``,
    rows of ``/data`` in HDF5).  The plugin does not read files itself: the
    FileBacked capability says where the points are."""

    @property
    def kind(self) -> str:
        return "array"

    @property
    def plugin(self) -> str:
        return PLUGIN

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.info["dtype"])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.info["shape"])

    def _events(self) -> list[dict]:
        return Stream(self.event_stream)[:]

    def __len__(self) -> int:
        return sum(e["count"] for e in self._events())

    def __getitem__(self, key):
        raise ExternalDataError("this plugin's points are read from their files")

    def file_runs(self, start: int = 0, stop: int | None = None) -> list[FileRun]:
        runs, first = [], 0
        for e in self._events():
            low, high = max(start, first), first + e["count"]
            high = high if stop is None else min(stop, high)
            if low < high:
                dataset = "/data" if e["format"] == HDF5 else None
                runs.append(FileRun(low, high - low, e["file"], e["format"], dataset, low - first))
            first += e["count"]
        return runs

    def wait_saved(self, stop: int, timeout: float | None = None) -> bool:
        return stop <= len(self)  # a file is complete before its event is sent

    def _build_view_from_events(self, hl_index, events, last_only):
        count = sum(e["count"] for e in events.data)
        if not count:
            raise EmptyViewException()
        return FrameFilesView(hl_index, count)


@pytest.fixture
def frame_files_plugin():
    with plugins.served(PLUGIN, types.SimpleNamespace(stream_cls=FrameFilesStream)):
        yield


def publish(data_store: DataStore, path: str, definition) -> tuple:
    h5maps = entry_map(1, {"det": {"type": "group", "children": {
        "image": {"type": "dataset", "value": {"type": "stream", "stream": "det:image"},
                  "attributes": {"interpretation": "image"}},
    }}})  # fmt: skip
    scan = data_store.create_scan(
        {"name": "ct", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: h5maps}},
    )
    stream = scan.create_stream(definition)
    scan.prepare()
    scan.start()
    return scan, stream


def write_and_compare(data_store: DataStore, scan, path: str, expected: np.ndarray) -> None:
    """The facade live from Redis, then the writer's file: the same dataset."""
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        image = f["1.1/det/image"]
        assert (image.shape, image.dtype) == (expected.shape, np.dtype("uint16"))
        np.testing.assert_array_equal(image[()], expected)
        np.testing.assert_array_equal(image[1], expected[1])
        np.testing.assert_array_equal(image[4:0:-2], expected[4:0:-2])
        np.testing.assert_array_equal(image[1:5:3, 2], expected[1:5:3, 2])
    status = writer.ScanWriter(data_store, scan.key).run()
    assert status.state == "complete", status.message
    for source in ("file", "auto"):
        with blissdata_h5.File(path, data_store=data_store, source=source) as f:
            image = f["1.1/det/image"]
            assert image.shape == expected.shape
            np.testing.assert_array_equal(image[()], expected)
            assert image.attrs["interpretation"] == "image"


@pytest.mark.parametrize("file_format", [HDF5, EDF])
def test_a_plugin_unknown_to_writer_and_facade(
    data_store, tmp_path, frame_files_plugin, file_format
):
    path = str(tmp_path / "s.h5")
    definition = Stream.make_definition(
        "det:image", "json", info={"plugin": PLUGIN, "dtype": "uint16", "shape": list(SHAPE)}
    )
    scan, stream = publish(data_store, path, definition)
    assert isinstance(stream, FrameFilesStream) and isinstance(stream, FileBacked)
    frames = np.stack([frame(i) for i in range(5)])
    for number, (a, b) in enumerate([(0, 3), (3, 4), (4, 5)]):
        name = str(tmp_path / "frames" / f"part{number}.{'h5' if file_format == HDF5 else 'edf'}")
        save(name, file_format, frames[a:b])
        stream.send({"file": name, "format": file_format, "count": b - a})
    scan.stop()
    scan.close()
    write_and_compare(data_store, scan, path, frames)
    with h5py.File(path, "r") as f:
        assert f["1.1/det/image"].is_virtual == (file_format == HDF5)


@pytest.mark.parametrize("file_format", ["HDF5", "EDF"])
def test_lima_frames_live_and_written(data_store, tmp_path, file_format):
    path = str(tmp_path / "s.h5")
    ext = "h5" if file_format == "HDF5" else "edf"
    saving = {
        "file_path": str(tmp_path / "scan0001" / f"det_%04d.{ext}"),
        "data_path": "/data",
        "file_format": file_format,
        "file_offset": 0,
        "frames_per_file": 2,
    }
    definition = LimaStream.make_definition(
        "det:image", "uint16", SHAPE, "id00/limaccds/det", 0, 5, 0, saving
    )
    scan, stream = publish(data_store, path, definition)
    frames = np.stack([frame(i) for i in range(5)])
    for run in stream.file_runs(0, 5):
        save(run.file_path, run.file_format, frames[run.start : run.stop])
    stream.send_status(4, 4)
    scan.stop()
    scan.close()
    write_and_compare(data_store, scan, path, frames)


def test_frames_never_saved_raise(data_store, tmp_path):
    """Acquired, not saved, and the stream ended: the facade says so, naming the dataset."""
    path = str(tmp_path / "s.h5")
    saving = {"file_path": str(tmp_path / "det_%04d.h5"), "data_path": "/data",
              "file_format": "HDF5", "file_offset": 0, "frames_per_file": 2}  # fmt: skip
    definition = LimaStream.make_definition("det:image", "uint16", SHAPE, "x", 0, 5, 0, saving)
    scan, stream = publish(data_store, path, definition)
    save(saving["file_path"] % 0, HDF5, np.stack([frame(0), frame(1)]))
    stream.send_status(2, 1)
    scan.stop()
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        image = f["1.1/det/image"]
        assert image.shape == (3, *SHAPE)
        np.testing.assert_array_equal(image[0:2], np.stack([frame(0), frame(1)]))
        with pytest.raises(ExternalDataError, match="/1.1/det/image.*up to 2"):
            image[2]


@pytest.mark.parametrize("file_format, ext", [("EDFGZ", "edf.gz"), ("EDF", "edf")])
def test_lima_frames_saved_by_fabio(data_store, tmp_path, file_format, ext):
    """Frames fabio saved (gzip'ed EDF too), shown live by the facade through fabio."""
    fabio_edf = pytest.importorskip("fabio.edfimage")
    path = str(tmp_path / "s.h5")
    saving = {"file_path": str(tmp_path / "scan0001" / f"det_%04d.{ext}"), "data_path": "/data",
              "file_format": file_format, "file_offset": 0, "frames_per_file": 2}  # fmt: skip
    definition = LimaStream.make_definition("det:image", "uint16", SHAPE, "x", 0, 5, 0, saving)
    scan, stream = publish(data_store, path, definition)
    frames = np.stack([frame(i) for i in range(5)])
    os.makedirs(tmp_path / "scan0001")
    for run in stream.file_runs(0, 5):
        image = fabio_edf.EdfImage(data=frames[run.start])
        for data in frames[run.start + 1 : run.stop]:
            image.append_frame(data=data)
        image.write(run.file_path)
    stream.send_status(4, 4)
    scan.stop()
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        image = f["1.1/det/image"]
        assert (image.shape, image.dtype) == (frames.shape, np.dtype("uint16"))
        np.testing.assert_array_equal(image[()], frames)
        np.testing.assert_array_equal(image[3], frames[3])
        np.testing.assert_array_equal(image[4:0:-2, 1], frames[4:0:-2, 1])
