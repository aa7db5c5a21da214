"""The lima plugin: status events in Redis, frames read from the detector's HDF5 files."""

import threading

import h5py
import numpy as np
import pytest

from blissdata_core import EndOfStream, IndexNotYetThereError, IndexWontBeThereError, Stream
from blissdata_core.errors import (
    ExternalDataError,
    FrameNoMoreThereError,
    IndexNoMoreThereError,
    LimaServerError,
)
from blissdata_core.streams.plugins._lima_format import FrameReference, LimaLayout
from blissdata_core.streams.plugins.lima import LimaStream, LimaView

DATA_PATH = "/entry_0000/measurement/data"
SHAPE = (4, 5)


def frame(i):
    return np.full(SHAPE, i, dtype=np.uint16) + np.arange(5, dtype=np.uint16)


def saving(tmp_path, frames_per_file, offset=0):
    return {
        "file_path": str(tmp_path / "lima_%04d.h5"),
        "data_path": DATA_PATH,
        "file_format": "HDF5",
        "file_offset": offset,
        "frames_per_file": frames_per_file,
    }


def write_files(layout, nframes):
    """Save frames 0..nframes-1 where the layout says, one file at a time."""
    by_file = {}
    for i in range(nframes):
        ref = layout.reference(i)
        by_file.setdefault(ref.file_path, []).append((ref.index, frame(i)))
    for path, frames in by_file.items():
        with h5py.File(path, "w") as f:
            dset = f.create_dataset(DATA_PATH, shape=(len(frames), *SHAPE), dtype="uint16")
            for index, data in frames:
                dset[index] = data


@pytest.fixture
def lima_scan(data_store, tmp_path):
    """Factory: (writer scan, writer stream, reader stream) of a running scan with a lima stream."""

    def make(frames_per_file=3, frames_per_acquisition=10, saved=True, offset=0):
        scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
        definition = LimaStream.make_definition(
            "lima:image", "uint16", SHAPE, "id00/limaccds/sim", 0, frames_per_acquisition, 0,
            saving=saving(tmp_path, frames_per_file, offset) if saved else None,
        )  # fmt: skip
        stream = scan.create_stream(definition)
        scan.prepare()
        scan.start()
        reader = data_store.load_scan(scan.key).streams["lima:image"]
        return scan, stream, reader

    return make


def test_make_definition_matches_the_reference_layout(tmp_path):
    d = LimaStream.make_definition(
        "im", "uint16", (4, 5), "id00/lima/x", 16, 10, 2, saving(tmp_path, 3, 1), {"a": 1}
    )
    assert d.encoder.info() == {"type": "json"}
    assert d.info == {
        "a": 1, "format": "lima_v1", "plugin": "lima", "dtype": "uint16", "shape": [4, 5],
        "lima_info": {
            "protocol_version": 1, "server_url": "id00/lima/x", "buffer_max_number": 16,
            "frame_per_acquisition": 10, "acquisition_offset": 2,
            "file_path": str(tmp_path / "lima_%04d.h5"), "data_path": DATA_PATH, "file_format": "HDF5",
            "file_offset": 1, "frame_per_file": 3,
        },
    }  # fmt: skip
    bad = saving(tmp_path, 3)
    del bad["file_offset"]
    with pytest.raises(ValueError, match="file_offset"):
        LimaStream.make_definition("im", "uint16", (4, 5), "x", 0, 10, 0, bad)
    with pytest.raises(ValueError, match="pattern"):
        LimaStream.make_definition(
            "im", "uint16", (4, 5), "x", 0, 10, 0, {**saving(tmp_path, 3), "file_path": "a.h5"}
        )


def test_frame_layout_across_acquisitions():
    """7 frames per acquisition, 3 per file: 3 files per acquisition, the last one short."""
    layout = LimaLayout.from_info(LimaLayout.make_info("x", 0, 7, 0, {
        "file_path": "f%d", "data_path": "/d", "file_format": "HDF5", "file_offset": 10, "frames_per_file": 3,
    }))  # fmt: skip
    expected = {
        0: (10, 0),
        2: (10, 2),
        3: (11, 0),
        6: (12, 0),
        7: (13, 0),
        9: (13, 2),
        13: (15, 0),
        14: (16, 0),
    }
    for frame_id, (number, index) in expected.items():
        assert layout.reference(frame_id) == FrameReference("HDF5", f"f{number}", "/d", index)
    # a file is finished once a frame of the next file is saved
    assert layout.last_closed_frame(-1, False) == -1
    assert layout.last_closed_frame(2, False) == -1
    assert layout.last_closed_frame(3, False) == 2
    assert layout.last_closed_frame(6, False) == 5
    assert layout.last_closed_frame(7, False) == 6
    assert layout.last_closed_frame(8, True) == 8


def test_frames_read_from_files(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=3, frames_per_acquisition=8)
    assert isinstance(reader, LimaStream)
    assert (reader.kind, reader.plugin, reader.dtype, reader.shape) == (
        "array",
        "lima",
        np.uint16,
        SHAPE,
    )
    assert len(reader) == 0
    write_files(writer.layout, 8)
    writer.send_status(7, 7)
    scan.stop()
    assert len(reader) == 8
    np.testing.assert_array_equal(reader[0], frame(0))
    np.testing.assert_array_equal(reader[7], frame(7))
    np.testing.assert_array_equal(reader[-1], frame(7))
    all_frames = np.stack([frame(i) for i in range(8)])
    np.testing.assert_array_equal(reader[:], all_frames)
    np.testing.assert_array_equal(reader[1:8:2], all_frames[1:8:2])
    np.testing.assert_array_equal(reader[2:5], all_frames[2:5])
    assert reader[5:5].shape == (0, *SHAPE)
    assert reader.get_references(4) == FrameReference(
        "HDF5", writer.layout.reference(4).file_path, DATA_PATH, 1
    )
    assert len(reader.get_references(slice(None))) == 8
    with pytest.raises(IndexWontBeThereError):
        reader[8]
    # the raw stream is the reference's status protocol
    assert Stream(reader.event_stream)[:] == [{"last_index": 7, "last_index_saved": 7}]


def test_acquired_but_not_saved(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=3)
    write_files(writer.layout, 4)
    writer.send_status(4, 3)  # frame 3 starts the second file: the first one is finished
    writer.join()
    assert len(reader) == 5
    with pytest.raises(IndexNotYetThereError):
        reader[5]
    np.testing.assert_array_equal(reader[0:3], np.stack([frame(0), frame(1), frame(2)]))
    scan.stop()  # the second file is closed with frame 3 only; frame 4 will never be saved
    np.testing.assert_array_equal(reader[3], frame(3))
    with pytest.raises(ExternalDataError, match="never saved"):
        reader[4]


def test_unsaved_detector_frames_are_only_live(lima_scan):
    scan, writer, reader = lima_scan(saved=False)
    writer.send_status(2)
    scan.stop()
    assert len(reader) == 3 and not reader.is_saved
    with pytest.raises(FrameNoMoreThereError, match="Lima server .*keeps the last 0"):
        reader[0]
    with pytest.raises(IndexNoMoreThereError):  # what the blissdata 2.x client raises
        reader[0]
    with pytest.raises(LimaServerError, match="Lima server 'id00/limaccds/sim'"):
        reader.get_last_live_image()  # no such device (see test_plugins_lima_tango.py)
    with pytest.raises(ExternalDataError):
        reader.get_references(0)


def test_reader_waits_for_the_file_to_be_finished(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=2, frames_per_acquisition=4)
    writer.send_status(0, 0)  # frame 0 saved, but its file is still being written
    writer.join()
    assert len(reader) == 1
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("frame", reader[0]))
    thread.start()
    write_files(writer.layout, 3)
    writer.send_status(2, 2)  # a frame of the next file: the first file is finished
    thread.join()
    np.testing.assert_array_equal(result["frame"], frame(0))
    scan.stop()


def test_file_wait_timeout(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=2)
    writer.send_status(0, 0)
    writer.join()
    reader.file_wait_timeout = 0.05
    with pytest.raises(ExternalDataError, match="not saved within"):
        reader[0]
    scan.stop()


def test_cursor_follows_frames(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=2, frames_per_acquisition=6)
    cursor = reader.cursor()
    assert cursor.read(block=False) is None
    write_files(writer.layout, 6)
    writer.send_status(1, 1)
    writer.send_status(3, 3)  # a reader sees only the newest status
    writer.join()
    view = cursor.read()
    assert isinstance(view, LimaView)
    assert (view.index, len(view)) == (0, 4)
    # frames 2, 3 sit in a file not known to be finished yet (no frame of the next one)
    np.testing.assert_array_equal(view.get_data(0, 2), np.stack([frame(0), frame(1)]))
    assert [r.index for r in view.get_references()] == [0, 1, 0, 1]
    writer.send_status(3, 3)  # no new frame: no view
    writer.send_status(5, 5)
    scan.stop()
    view = cursor.read()
    assert (view.index, len(view)) == (4, 2)
    np.testing.assert_array_equal(view.get_data(1), frame(5)[None])
    np.testing.assert_array_equal(reader[:], np.stack([frame(i) for i in range(6)]))
    with pytest.raises(EndOfStream):
        cursor.read()


def test_cursor_last_only(lima_scan):
    scan, writer, reader = lima_scan(frames_per_file=10)
    writer.send_status(6, 6)
    scan.stop()
    view = reader.cursor().read(last_only=True)
    assert (view.index, len(view)) == (6, 1)


def test_bad_lima_info_makes_a_broken_stream(data_store, tmp_path):
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    scan.create_stream(Stream.make_definition("ok", "float64"))
    definition = LimaStream.make_definition("lima:image", "uint16", SHAPE, "x", 0, 10, 0)
    definition.info["lima_info"]["protocol_version"] = 99
    with pytest.raises(Exception, match="protocol 99"):
        scan.create_stream(definition)


def test_bad_status_is_refused():
    with pytest.raises(ValueError):
        from blissdata_core.streams.plugins._lima_format import make_status

        make_status(1, 2)


def test_free_frame_shape(data_store, tmp_path):
    """``shape: [-1, -1]``: the frame shape is only known from the files."""
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    stream = scan.create_stream(
        LimaStream.make_definition("im", "uint16", (-1, -1), "x", 0, 3, 0, saving(tmp_path, 2))
    )
    scan.prepare()
    scan.start()
    write_files(stream.layout, 3)
    stream.send_status(2, 2)
    scan.stop()
    reader = data_store.load_scan(scan.key).streams["im"]
    assert reader.shape == (-1, -1)
    np.testing.assert_array_equal(reader[:], np.stack([frame(i) for i in range(3)]))
    np.testing.assert_array_equal(reader[2], frame(2))
    assert reader[1:1].shape == (0, 0, 0)
