"""What viewers need beyond values: storage layout, stored attribute types, empty datasets."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from helpers import entry_map, make_scan, send

import blissdata_h5


@pytest.fixture
def stored(tmp_path):
    path = str(tmp_path / "stored.h5")
    with h5py.File(path, "w") as h5:
        h5.create_dataset("chunked", data=np.arange(40.0), chunks=(8,), compression="gzip")
        h5["plain"] = np.arange(3)
        h5["empty"] = h5py.Empty("f4")
        h5.attrs["ascii"] = np.array(b"xy", dtype=h5py.string_dtype("ascii"))
        h5.attrs["utf8"] = "xy"
    return path


def test_file_datasets_tell_their_chunks_and_filters(stored):
    with blissdata_h5.File(stored, source="file") as f, h5py.File(stored, "r") as h5:
        assert f["chunked"].chunks == h5["chunked"].chunks == (8,)
        assert f["chunked"].filters == [(h5py.h5z.FILTER_DEFLATE, "deflate")]
        assert f["plain"].chunks is None and f["plain"].filters == []


def test_empty_dataset_reads_as_h5py(stored):
    with blissdata_h5.File(stored, source="file") as f, h5py.File(stored, "r") as h5:
        ours, theirs = f["empty"], h5["empty"]
        assert (ours.shape, ours.ndim, ours.size) == (theirs.shape, theirs.ndim, theirs.size)
        assert ours.shape is None and ours.dtype == theirs.dtype
        assert isinstance(ours[()], h5py.Empty)


def test_stored_attribute_dtype_tells_ascii_from_utf8(stored):
    with blissdata_h5.File(stored, source="file") as f:
        assert f.attrs["ascii"] == f.attrs["utf8"] == "xy"  # h5py reads both as str
        assert h5py.check_string_dtype(f.attrs.stored_dtype("ascii")).encoding == "ascii"
        assert h5py.check_string_dtype(f.attrs.stored_dtype("utf8")).encoding == "utf-8"
        with pytest.raises(KeyError):
            f.attrs.stored_dtype("missing")


def test_live_data_has_no_storage(data_store, tmp_path):
    path = str(tmp_path / "live.h5")
    measurement = {"type": "group", "attributes": {"NX_class": "NXcollection"}}
    measurement["children"] = {"diode1": {"type": "stream", "stream": "diode1"}}
    h5map = entry_map(1, {"measurement": measurement})
    scan = make_scan(data_store, path, h5maps=h5map, streams={"diode1": ("float64", ())})
    send(scan, "diode1", np.arange(2.0))
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        diode = f["1.1/measurement/diode1"]
        assert diode.chunks is None and diode.filters == []
        assert f["1.1"].attrs.stored_dtype("NX_class") is None
