"""The lima2 and mosca plugins: progress events in Redis, frames/spectra read from saved files."""

import os

import h5py
import numpy as np
import pytest

from blissdata_core import CursorGroup, EndOfStream, IndexNotYetThereError, IndexWontBeThereError
from blissdata_core.errors import BlissdataError, ExternalDataError
from blissdata_core.streams.capabilities import FileBacked, FileRun, LinkedDataset
from blissdata_core.streams.plugins.lima2 import Lima2FrameReference, Lima2Stream, Lima2View
from blissdata_core.streams.plugins.mosca import MoscaStream, MoscaView, SpectrumReference

SHAPE = (3, 4)
NSPEC = 6


def frames(n):
    return np.arange(n * 12, dtype=np.uint16).reshape(n, *SHAPE)


def spectra(n):
    return (np.arange(n * NSPEC, dtype=np.uint32) * 7).reshape(n, NSPEC)


def mosca_saving(tmp_path, ppf=4, enabled=True):
    return {
        "file_path": str(tmp_path), "data_path": "/entry_0000/data", "file_format": "hdf5",
        "file_prefix": "mca_", "points_per_file": ppf, "saving_enabled": enabled,
        "enabled_detectors": [0, 2],
    }  # fmt: skip


def write_mosca_files(tmp_path, n, ppf=4, detector=2):
    data = spectra(n)
    for number in range(-(-n // ppf)):
        with h5py.File(tmp_path / f"mca_spectra_{number:04d}.h5", "w") as f:
            f[f"/entry_0000/data/spectra_{detector:02d}"] = data[number * ppf : (number + 1) * ppf]
    return data


@pytest.fixture
def kinds_scan(data_store, tmp_path):
    """(writer scan, writer stream, reader stream) of a running scan with one new-kind stream."""

    def make(definition):
        scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
        stream = scan.create_stream(definition)
        scan.prepare()
        scan.start()
        reader = data_store.load_scan(scan.key).streams[definition.name]
        return scan, stream, reader

    return make


def lima2_definition(tmp_path, master=True):
    return Lima2Stream.make_definition(
        "lima2:frame", "raw_frame", "conductor.esrf.fr", 18000, "uuid-1",
        (str(tmp_path / "master.h5"), "/entry_0000/frames") if master else None, "uint16", SHAPE,
    )  # fmt: skip


def test_lima2_definition_is_the_reference_layout(tmp_path):
    d = lima2_definition(tmp_path)
    assert d.encoder.info() == {"type": "numeric", "dtype_str": "<u4", "shape": []}
    assert d.info == {
        "plugin": "lima2", "dtype": "uint16", "shape": [3, 4], "protocol_version": 2,
        "acq_uuid": "uuid-1", "source_name": "raw_frame", "conductor_hostname": "conductor.esrf.fr",
        "conductor_port": 18000, "master_file": [str(tmp_path / "master.h5"), "/entry_0000/frames"],
    }  # fmt: skip


def test_lima2_frames_come_from_the_master_file(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(lima2_definition(tmp_path))
    assert isinstance(reader, Lima2Stream)
    assert isinstance(reader, FileBacked) and isinstance(reader, LinkedDataset)
    assert (reader.kind, reader.dtype, reader.shape) == ("array", np.uint16, SHAPE)
    stream.send(2)
    stream.join()
    assert len(reader) == 2
    # not sealed, no master file yet: the frames are only at the conductor
    with pytest.raises(ExternalDataError, match="Lima2 conductor conductor.esrf.fr:18000"):
        reader[0]
    assert not reader.wait_saved(2, timeout=0.05)
    data = frames(5)
    with h5py.File(tmp_path / "master.h5", "w") as f:
        f["/entry_0000/frames"] = data
    assert np.array_equal(reader[1], data[1])  # already in the master file
    stream.send(5)
    stream.seal()
    assert len(reader) == 5
    assert reader.wait_saved(5, timeout=1)
    assert np.array_equal(reader[:], data)
    assert np.array_equal(reader[-1], data[4])
    assert np.array_equal(reader[1:5:2], data[1:5:2])
    assert reader[4:2].shape == (0, *SHAPE)
    with pytest.raises(IndexWontBeThereError):
        reader[5]
    assert reader.file_runs() == [
        FileRun(0, 5, str(tmp_path / "master.h5"), "hdf5", "/entry_0000/frames", 0)
    ]
    assert reader.file_runs(2, 4) == [
        FileRun(2, 2, str(tmp_path / "master.h5"), "hdf5", "/entry_0000/frames", 2)
    ]
    assert reader.linked_dataset() == (str(tmp_path / "master.h5"), "/entry_0000/frames")
    assert reader.get_references(1) == Lima2FrameReference(
        str(tmp_path / "master.h5"), "/entry_0000/frames", 1
    )


def test_lima2_without_master_file_is_conductor_only(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(lima2_definition(tmp_path, master=False))
    stream.send(3)
    stream.seal()
    assert len(reader) == 3
    with pytest.raises(ExternalDataError, match="no master file.*only available from the Lima2"):
        reader[0]
    with pytest.raises(BlissdataError):
        reader.file_runs()
    with pytest.raises(ExternalDataError):
        reader.get_last_live_image()
    assert not reader.wait_saved(1)
    assert reader.linked_dataset() is None


def test_lima2_cursor_views(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(lima2_definition(tmp_path))
    with h5py.File(tmp_path / "master.h5", "w") as f:
        f["/entry_0000/frames"] = frames(6)
    cursor = reader.cursor()
    assert cursor.read(block=False) is None
    stream.send(2)
    stream.send(4)
    stream.join()
    view = cursor.read(timeout=5)
    assert isinstance(view, Lima2View) and (view.index, len(view)) == (0, 4)
    assert np.array_equal(view.get_data(), frames(4))
    stream.send(6)
    stream.seal()
    last = reader.cursor().read(timeout=5, last_only=True)
    assert (last.index, len(last)) == (5, 1)
    view = cursor.read(timeout=5)
    assert (view.index, len(view)) == (4, 2)
    assert [r.index for r in view.get_references()] == [4, 5]
    with pytest.raises(EndOfStream):
        cursor.read(timeout=5)


def test_mosca_definition_is_the_reference_layout(tmp_path):
    d = MoscaStream.make_definition("mca:det02", 2, 1, "uint32", [NSPEC], "tango://h:1/mosca/x", 7,
                                    saving=mosca_saving(tmp_path))  # fmt: skip
    assert d.encoder.info() == {"type": "json"}
    assert d.info == {
        "plugin": "mosca", "detector": 2, "data_index": 1, "dtype": "uint32", "shape": [NSPEC],
        "mosca_info": {"server_url": "tango://h:1/mosca/x", "acq_id": 7, "protocol_version": 1,
                       **mosca_saving(tmp_path)},
    }  # fmt: skip
    bad = mosca_saving(tmp_path)
    del bad["file_prefix"]
    with pytest.raises(ValueError, match="file_prefix"):
        MoscaStream.make_definition("m", 0, 0, "uint32", [4], "u", 1, saving=bad)


def mosca_definition(tmp_path, **kw):
    return MoscaStream.make_definition(
        "mca:det02", 2, 1, "uint32", [NSPEC], "tango://h:1/mosca/x", 7,
        saving=mosca_saving(tmp_path, **kw),
    )  # fmt: skip


def test_mosca_spectra_come_from_the_saved_files(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(mosca_definition(tmp_path))
    assert isinstance(reader, MoscaStream) and isinstance(reader, FileBacked)
    assert not isinstance(reader, LinkedDataset)
    data = write_mosca_files(tmp_path, 10)
    assert len(reader) == 0
    stream.send({"last_read_index": 6, "last_saved_index": 4})
    stream.join()
    assert len(reader) == 7 and reader.last_saved_index == 4
    assert np.array_equal(reader[:5], data[:5])
    assert np.array_equal(reader[4], data[4])
    with pytest.raises(
        ExternalDataError, match="not saved yet.*mosca server 'tango://h:1/mosca/x'"
    ):
        reader[5]
    with pytest.raises(IndexNotYetThereError):
        reader[7]
    assert not reader.wait_saved(6, timeout=0.05)
    stream.send({"last_read_index": 9, "last_saved_index": 8})
    stream.seal()
    assert reader.wait_saved(9) and not reader.wait_saved(10)
    assert np.array_equal(reader[1:9:3], data[1:9:3])
    with pytest.raises(ExternalDataError, match="was never saved"):
        reader[-1]
    f = str(tmp_path / "mca_spectra_{:04d}.h5")
    dset = "/entry_0000/data/spectra_02"
    assert reader.file_runs(3, 9) == [
        FileRun(3, 1, f.format(0), "hdf5", dset, 3),
        FileRun(4, 4, f.format(1), "hdf5", dset, 0),
        FileRun(8, 1, f.format(2), "hdf5", dset, 0),
    ]
    assert reader.get_references(slice(2, 6, 2)) == [
        SpectrumReference(f.format(0), dset, 2), SpectrumReference(f.format(1), dset, 0)
    ]  # fmt: skip
    assert reader.get_references(3, 5) == reader.get_references(slice(3, 5))
    with pytest.raises(IndexWontBeThereError):
        reader[10]


def test_mosca_without_saving_is_server_only(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(mosca_definition(tmp_path, enabled=False))
    stream.send({"last_read_index": 2, "last_saved_index": -1})
    stream.seal()
    assert len(reader) == 3
    with pytest.raises(ExternalDataError, match="saving is off.*memory of the mosca server"):
        reader[0]
    with pytest.raises(ExternalDataError):
        reader.file_runs()
    assert not reader.wait_saved(1)


def test_cursor_group_over_both(kinds_scan, data_store, tmp_path):
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    l2 = scan.create_stream(lima2_definition(tmp_path))
    mca = scan.create_stream(mosca_definition(tmp_path))
    scan.prepare()
    scan.start()
    l2.send(2)
    l2.send(4)
    mca.send({"last_read_index": 2, "last_saved_index": 1})
    mca.send({"last_read_index": 5, "last_saved_index": 5})
    scan.stop()
    scan.close()
    loaded = data_store.load_scan(scan.key)
    streams = [loaded.streams["lima2:frame"], loaded.streams["mca:det02"]]
    views = CursorGroup(streams).read(timeout=5)
    assert sorted((s.name, v.index, len(v)) for s, v in views.items()) == [
        ("lima2:frame", 0, 4), ("mca:det02", 0, 6)
    ]  # fmt: skip
    assert isinstance(views[streams[1]], MoscaView)
    group = CursorGroup(streams)
    last = group.read(timeout=5, last_only=True)
    assert sorted((s.name, v.index, len(v)) for s, v in last.items()) == [
        ("lima2:frame", 3, 1), ("mca:det02", 5, 1)
    ]  # fmt: skip
    with pytest.raises(EndOfStream):
        group.read(timeout=5)


def test_malformed_status_is_reported(kinds_scan, tmp_path):
    from blissdata_core.errors import MalformedEntryError

    scan, stream, reader = kinds_scan(mosca_definition(tmp_path))
    stream._event_stream.send({"last_read_index": "x", "last_saved_index": 0})
    stream.join()
    with pytest.raises(MalformedEntryError):
        len(reader)
    assert os.path.isdir(tmp_path)


def test_counting_from_the_end_needs_the_seal(kinds_scan, tmp_path):
    scan, stream, reader = kinds_scan(mosca_definition(tmp_path))
    data = write_mosca_files(tmp_path, 4)
    stream.send({"last_read_index": 3, "last_saved_index": 3})
    stream.join()
    for key in (-1, slice(-2, None), slice(0, -1)):
        with pytest.raises(IndexNotYetThereError, match="not sealed"):
            reader[key]
    stream.seal()
    assert np.array_equal(reader[-1], data[-1])
    assert np.array_equal(reader[-3:-1], data[-3:-1])
    with pytest.raises(IndexWontBeThereError):
        reader[-5]
