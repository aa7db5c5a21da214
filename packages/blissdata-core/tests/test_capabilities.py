"""The FileBacked capability: streams whose points live in files say where (runs)."""

import h5py
import numpy as np
import pytest

from blissdata_core import Stream
from blissdata_core.errors import ExternalDataError
from blissdata_core.streams.capabilities import EDF, HDF5, FileBacked, FileRun
from blissdata_core.streams.file_formats import edf_frames, external_storage, read_points
from blissdata_core.streams.plugins._lima_format import LimaLayout
from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackStream
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.testing import write_edf

DATA_PATH = "/entry_0000/measurement/data"
SHAPE = (3, 4)


def frame(i):
    return np.arange(12, dtype=np.uint16).reshape(SHAPE) + 100 * i


def saving(tmp_path, frames_per_file, file_format="HDF5", ext="h5"):
    return {
        "file_path": str(tmp_path / f"lima_%04d.{ext}"),
        "data_path": DATA_PATH,
        "file_format": file_format,
        "file_offset": 0,
        "frames_per_file": frames_per_file,
    }


def save_frames(stream, nframes):
    """Save frames 0..nframes-1 where the stream's runs say, in the run's format."""
    for run in stream.file_runs(0, nframes):
        frames = [frame(i) for i in range(run.start, run.stop)]
        if run.file_format == HDF5:
            with h5py.File(run.file_path, "a") as f:
                f.require_dataset(DATA_PATH, (run.file_index + run.count, *SHAPE), "uint16")
                f[DATA_PATH][run.file_index :] = np.stack(frames)
        else:
            assert run.file_index == 0
            write_edf(run.file_path, frames)


@pytest.fixture
def lima_stream(data_store, tmp_path):
    """Factory: (scan, writer stream, reader stream) of a running scan with a lima stream."""

    def make(frames_per_file, frames_per_acquisition, **options):
        scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
        stream = scan.create_stream(
            LimaStream.make_definition(
                "lima:image", "uint16", SHAPE, "id00/limaccds/sim", 0, frames_per_acquisition, 0,
                saving=saving(tmp_path, frames_per_file, **options),
            )
        )  # fmt: skip
        scan.prepare()
        scan.start()
        return scan, stream, data_store.load_scan(scan.key).streams["lima:image"]

    return make


def test_layout_runs_span_files_and_acquisitions():
    """7 frames per acquisition, 3 per file: each acquisition has 3 files, the last short."""
    layout = LimaLayout.from_info(LimaLayout.make_info("x", 0, 7, 0, {
        "file_path": "f%02d.h5", "data_path": "/d", "file_format": "HDF5BS", "file_offset": 5,
        "frames_per_file": 3,
    }))  # fmt: skip
    assert layout.runs(1, 16) == [
        FileRun(1, 2, "f05.h5", HDF5, "/d", 1),
        FileRun(3, 3, "f06.h5", HDF5, "/d", 0),
        FileRun(6, 1, "f07.h5", HDF5, "/d", 0),
        FileRun(7, 3, "f08.h5", HDF5, "/d", 0),
        FileRun(10, 3, "f09.h5", HDF5, "/d", 0),
        FileRun(13, 1, "f10.h5", HDF5, "/d", 0),
        FileRun(14, 2, "f11.h5", HDF5, "/d", 0),
    ]
    assert layout.runs(4, 5) == [FileRun(4, 1, "f06.h5", HDF5, "/d", 1)]
    assert layout.runs(4, 4) == []
    # the runs say what the per-frame references say
    for run in layout.runs(0, 30):
        for k in range(run.count):
            ref = layout.reference(run.start + k)
            assert (ref.file_path, ref.data_path, ref.index) == (
                run.file_path,
                run.data_path,
                run.file_index + k,
            )


def test_lima_stream_is_file_backed(lima_stream, tmp_path):
    scan, writer, reader = lima_stream(frames_per_file=3, frames_per_acquisition=8)
    assert isinstance(reader, FileBacked) and isinstance(writer, FileBacked)
    assert reader.file_runs() == []
    writer.send_status(7, 7)
    writer.join()
    runs = reader.file_runs()
    assert [(r.start, r.count, r.file_index) for r in runs] == [(0, 3, 0), (3, 3, 0), (6, 2, 0)]
    assert [r.file_path for r in runs] == [str(tmp_path / f"lima_{n:04d}.h5") for n in range(3)]
    assert {(r.file_format, r.data_path) for r in runs} == {(HDF5, DATA_PATH)}
    assert reader.file_runs(4, 7) == [
        FileRun(4, 2, runs[1].file_path, HDF5, DATA_PATH, 1),
        FileRun(6, 1, runs[2].file_path, HDF5, DATA_PATH, 0),
    ]
    save_frames(writer, 8)
    scan.stop()
    assert reader.wait_saved(8, timeout=5)
    stack = np.stack([frame(i) for i in range(8)])
    np.testing.assert_array_equal(read_points(runs, range(8), "uint16", SHAPE, "x"), stack)
    np.testing.assert_array_equal(
        read_points(runs, range(1, 8, 3), "uint16", SHAPE, "x"), stack[1:8:3]
    )


def test_wait_saved(lima_stream):
    scan, writer, reader = lima_stream(frames_per_file=2, frames_per_acquisition=6)
    assert reader.wait_saved(0)
    writer.send_status(2, 1)  # frames 0, 1 saved, but their file may still be written
    writer.join()
    assert not reader.wait_saved(2, timeout=0.05)
    writer.send_status(3, 2)  # a frame of the next file: the first one is finished
    writer.join()
    assert reader.wait_saved(2, timeout=5)
    assert not reader.wait_saved(4, timeout=0.05)
    scan.stop()  # frame 3 will never be saved
    assert reader.wait_saved(3)
    assert not reader.wait_saved(4)


def test_unsaved_frames_have_no_runs(data_store):
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    stream = scan.create_stream(LimaStream.make_definition("im", "uint16", SHAPE, "x", 0, 3, 0))
    with pytest.raises(ExternalDataError, match="not saved in files"):
        stream.file_runs(0, 0)
    assert not stream.wait_saved(1)


def test_edf_frames_are_read_and_referenced(lima_stream):
    scan, writer, reader = lima_stream(2, 5, file_format="EDF", ext="edf")
    writer.send_status(4, 4)
    save_frames(writer, 5)
    scan.stop()
    runs = reader.file_runs()
    assert [(r.file_format, r.data_path, r.count) for r in runs] == [(EDF, None, 2)] * 2 + [
        (EDF, None, 1)
    ]
    stack = np.stack([frame(i) for i in range(5)])
    np.testing.assert_array_equal(reader[:], stack)
    np.testing.assert_array_equal(reader[3], frame(3))
    np.testing.assert_array_equal(reader[0:5:2], stack[0:5:2])
    storage = external_storage(runs, "uint16", SHAPE)
    assert (storage.dtype, storage.shape) == (np.dtype("<u2"), SHAPE)
    assert [(path, size) for path, _, size in storage.segments] == [
        (r.file_path, 24) for r in runs for _ in range(r.count)
    ]
    # the segments are the frames' raw bytes
    for i, (path, offset, size) in enumerate(storage.segments):
        with open(path, "rb") as f:
            f.seek(offset)
            raw = np.frombuffer(f.read(size), "<u2").reshape(SHAPE)
        np.testing.assert_array_equal(raw, frame(i))


def test_what_cannot_be_referenced_says_why(tmp_path):
    path = str(tmp_path / "x.edf")
    write_edf(path, [frame(0), frame(1)])
    assert [f.offset for f in edf_frames(path)] == [512, 1048]
    run = FileRun(0, 2, path, EDF, None, 0)
    with pytest.raises(ExternalDataError, match="holds uint16 frames, the stream declares float32"):
        external_storage([run], "float32", SHAPE)
    with pytest.raises(ExternalDataError, match=r"shape \(3, 4\), the stream declares \(4, 3\)"):
        external_storage([run], "uint16", (4, 3))
    assert external_storage([run], "uint16", (-1, -1)).shape == SHAPE
    with pytest.raises(ExternalDataError, match="holds 2 frame"):
        external_storage([FileRun(0, 2, path, EDF, None, 1)], "uint16", SHAPE)
    write_edf(tmp_path / "z.edf", [frame(0)], compression="GzipCompression")
    with pytest.raises(ExternalDataError, match="compressed"):
        external_storage([FileRun(0, 1, str(tmp_path / "z.edf"), EDF, None, 0)], "uint16", SHAPE)
    cbf = FileRun(0, 1, str(tmp_path / "a.cbf"), "cbf", None, 0)
    with pytest.raises(ExternalDataError, match="'cbf'"):
        external_storage([cbf], "uint16", SHAPE)
    with pytest.raises(ExternalDataError, match="a.cbf"):  # fabio reads cbf; no such file
        read_points([cbf], range(1), "uint16", SHAPE, "'x'")
    h5 = str(tmp_path / "not.edf")
    with h5py.File(h5, "w") as f:
        f["d"] = np.zeros((1, *SHAPE))
    with pytest.raises(ExternalDataError, match="not an uncompressed EDF"):
        edf_frames(h5)


def test_other_streams_are_not_file_backed(data_store, tmp_path):
    """Points in Redis, even with a copy in a file (hdf5_fallback), are not file-backed."""
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    plain = scan.create_stream(Stream.make_definition("a", "float64"))
    fallback = scan.create_stream(
        Hdf5FallbackStream.make_definition("b", str(tmp_path / "b.h5"), "/b", "float64")
    )
    assert not isinstance(plain, FileBacked)
    assert not isinstance(fallback, FileBacked)
