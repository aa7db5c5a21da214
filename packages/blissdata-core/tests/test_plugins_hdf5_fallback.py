"""The hdf5_fallback plugin: points trimmed from Redis are read from the HDF5 file."""

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_core import IndexNoMoreThereError, Stream
from blissdata_core.errors import ExternalDataError
from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackStream, Hdf5FallbackView

DATA_PATH = "/1.1/measurement/diode"


def _scan(data_store, path=None, info=None):
    ident = {"name": "loopscan", "number": 1, "data_policy": "no_policy", "path": path}
    return data_store.create_scan(ident, info=info or {})


def _publish(data_store, tmp_path, data, trim=0, definition=None, scan_info=None, path=None):
    """A closed scan with one stream holding ``data``, saved to a file, first ``trim`` points trimmed."""
    file_path = str(tmp_path / "data.h5")
    with h5py.File(file_path, "w") as f:
        f[DATA_PATH] = data
    scan = _scan(data_store, path=path or file_path, info=scan_info)
    if definition is None:
        definition = Hdf5FallbackStream.make_definition(
            "diode", file_path, DATA_PATH, data.dtype, data.shape[1:]
        )
    stream = scan.create_stream(definition)
    scan.prepare()
    scan.start()
    for point in data:  # one entry per point, so trimming can cut anywhere
        stream.send(point)
        stream.join()
    scan.stop()
    scan.close()
    if trim:
        data_store.redis.xtrim(stream.key, minid=trim, approximate=False)
    return data_store.load_scan(scan.key), file_path


def test_make_definition_marks_the_plugin(tmp_path):
    d = Hdf5FallbackStream.make_definition(
        "x", "/a.h5", "/1.1/x", "float32", (2,), info={"unit": "mm"}
    )
    assert d.info == {
        "unit": "mm", "file_path": "/a.h5", "data_path": "/1.1/x", "save": True,
        "plugin": "hdf5_fallback", "dtype": "float32", "shape": [2],
    }  # fmt: skip
    with pytest.raises(ValueError):
        Hdf5FallbackStream.make_definition("x", "/a.h5", "/1.1/x", "json")
    with pytest.raises(ValueError):
        Hdf5FallbackStream.make_definition("x", "", "/1.1/x", "float32")


def test_untrimmed_stream_reads_from_redis_only(data_store, tmp_path):
    data = np.arange(10.0)
    scan, file_path = _publish(data_store, tmp_path, data)
    stream = scan.streams["diode"]
    assert isinstance(stream, Hdf5FallbackStream)
    assert (stream.plugin, stream.kind, stream.file_path, stream.data_path) == (
        "hdf5_fallback",
        "array",
        file_path,
        DATA_PATH,
    )
    (tmp_path / "data.h5").unlink()  # proves nothing is read from the file
    np.testing.assert_array_equal(stream[:], data)
    assert stream[3] == 3.0


def test_trimmed_points_come_from_the_file(data_store, tmp_path):
    data = np.arange(20, dtype=np.int32).reshape(10, 2)
    scan, _ = _publish(data_store, tmp_path, data, trim=6)
    stream = scan.streams["diode"]
    assert len(stream) == 10
    # the default stream class would fail; the plugin reads the file
    with pytest.raises(IndexNoMoreThereError):
        Stream(stream.event_stream)[2]
    np.testing.assert_array_equal(stream[2], data[2])
    np.testing.assert_array_equal(stream[-10], data[0])
    np.testing.assert_array_equal(stream[7], data[7])
    np.testing.assert_array_equal(stream[:], data)
    np.testing.assert_array_equal(stream[1:9:3], data[1:9:3])
    np.testing.assert_array_equal(stream[-8:-1], data[-8:-1])
    assert stream[:].dtype == np.int32
    assert list(map(list, stream)) == data.tolist()


def test_cursor_views_read_expired_points_from_the_file(data_store, tmp_path):
    data = np.linspace(0, 1, 12)
    scan, _ = _publish(data_store, tmp_path, data, trim=5)
    view = scan.streams["diode"].cursor().read()
    assert isinstance(view, Hdf5FallbackView)
    assert (view.index, len(view)) == (0, 12)
    np.testing.assert_array_equal(view.get_data(), data)
    np.testing.assert_array_equal(view.get_data(3, 8), data[3:8])  # across the boundary
    np.testing.assert_array_equal(view.get_data(0, 2), data[0:2])  # file only
    np.testing.assert_array_equal(view.get_data(6, None), data[6:])  # redis only
    np.testing.assert_array_equal(view.get_data(-3), data[-3:])
    assert len(view.get_data(4, 4)) == 0


def test_missing_file_is_a_clear_error(data_store, tmp_path):
    scan, _ = _publish(data_store, tmp_path, np.arange(5.0), trim=3)
    (tmp_path / "data.h5").unlink()
    stream = scan.streams["diode"]
    assert stream[4] == 4.0
    with pytest.raises(ExternalDataError, match="data.h5"):
        stream[0]


def test_file_shorter_than_the_trimmed_part(data_store, tmp_path):
    scan, file_path = _publish(data_store, tmp_path, np.arange(8.0), trim=6)
    with h5py.File(file_path, "w") as f:
        f[DATA_PATH] = np.arange(3.0)
    with pytest.raises(ExternalDataError, match="holds only 3"):
        scan.streams["diode"][0:8]


def test_legacy_stream_uses_the_scan_path(data_store, tmp_path):
    """Older producers: no plugin, no file_path; the scan's info says save and its path is the file."""
    data = np.arange(6.0)
    definition = Stream.make_definition("diode", "float64", (), info={"data_path": DATA_PATH})
    scan, file_path = _publish(
        data_store, tmp_path, data, trim=4, definition=definition, scan_info={"save": True}
    )
    stream = scan.streams["diode"]
    assert isinstance(stream, Hdf5FallbackStream)
    assert stream.file_path == file_path == scan.path
    np.testing.assert_array_equal(stream[:], data)


def test_legacy_stream_without_save_is_a_plain_stream(data_store, tmp_path):
    definition = Stream.make_definition("diode", "float64", (), info={"data_path": DATA_PATH})
    scan, _ = _publish(
        data_store, tmp_path, np.arange(3.0), definition=definition, scan_info={"save": False}
    )
    assert type(scan.streams["diode"]) is Stream


def test_legacy_stream_without_any_file_is_a_plain_stream(data_store):
    scan = data_store.create_scan(
        {"name": "a", "number": 1, "data_policy": "no_policy"}, info={"save": True}
    )
    scan.create_stream(
        Stream.make_definition("diode", "float64", (), info={"data_path": DATA_PATH})
    )
    scan.prepare()
    assert type(data_store.load_scan(scan.key).streams["diode"]) is Stream


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    npoints=st.integers(1, 12),
    data=st.data(),
    start=st.one_of(st.none(), st.integers(-14, 14)),
    stop=st.one_of(st.none(), st.integers(-14, 14)),
    step=st.one_of(st.none(), st.integers(1, 3)),
)
def test_any_slice_of_a_trimmed_stream(
    data_store, tmp_path_factory, npoints, data, start, stop, step
):
    trim = data.draw(st.integers(0, npoints))
    values = np.arange(npoints, dtype=np.float32) * 1.5
    scan, _ = _publish(data_store, tmp_path_factory.mktemp("h5"), values, trim=trim)
    stream = scan.streams["diode"]
    np.testing.assert_array_equal(stream[start:stop:step], values[start:stop:step])
    index = data.draw(st.integers(-npoints, npoints - 1))
    assert stream[index] == values[index]
    view = stream.cursor().read()
    np.testing.assert_array_equal(view.get_data(start, stop), values[start:stop])


def test_a_file_this_process_holds_with_locking_is_read_all_the_same(tmp_path, monkeypatch):
    """User code opened the file with h5py's default locking (say, through a
    virtual dataset); our readers open it without. HDF5 before 1.14 refuses a
    second open with other flags: the file is then read with the process's own."""
    from blissdata_core.streams.file_formats import open_hdf5_file

    monkeypatch.delenv("HDF5_USE_FILE_LOCKING", raising=False)
    path = str(tmp_path / "frames.h5")
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(12).reshape(3, 4)
    with h5py.File(path, "r", locking=True) as held:
        with open_hdf5_file(path) as ours:
            assert np.array_equal(ours["data"][()], held["data"][()])
