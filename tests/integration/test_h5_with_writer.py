"""blissdata_h5 over Redis against the files blissdata_writer writes for the same scans.

The facade's own semantics are tested in the h5 package (against its careful
mapping h5maps -> HDF5); here its views equal the real writer's files.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from h5_scans import entry_map, make_scan, open_redis, send

from blissdata_core import Stream
from blissdata_writer.scan_writer import ScanWriter
from tools.conformance.h5files import tree_problems


def test_free_dimension_points_are_padded_like_the_writers_file(data_store, tmp_path):
    path = str(tmp_path / "ragged.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(
            1, {"f": {"type": "stream", "stream": "f"}, "i": {"type": "stream", "stream": "i"}}
        ),
        streams={"f": ("float64", (-1,)), "i": ("int16", (2, -1))},
    )
    send(scan, "f", np.array([[1.0, 2.0]]))
    send(scan, "f", np.array([[3.0, 4.0, 5.0]]))
    send(scan, "f", np.array([[6.0]]))
    send(scan, "i", np.ones((1, 2, 1), dtype=np.int16))
    send(scan, "i", np.full((1, 2, 3), 2, dtype=np.int16))
    scan.stop()
    scan.close()
    assert ScanWriter(data_store, scan.key).run().state == "complete"
    with h5py.File(path, "r") as theirs:
        with open_redis(path, data_store) as ours:
            for name in ("1.1/f", "1.1/i"):
                assert ours[name].shape == theirs[name].shape
                np.testing.assert_array_equal(ours[name][()], theirs[name][()])


def test_virtual_and_external_binary_datasets_equal_the_writers_file(data_store, tmp_path):
    frames = tmp_path / "frames.h5"
    with h5py.File(frames, "w") as h5:
        h5["data"] = np.arange(60, dtype=np.uint16).reshape(6, 10)
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.arange(8, dtype="<i4").tobytes())
    path = str(tmp_path / "vds.h5")
    h5map = entry_map(
        1,
        {
            "stack": {
                "type": "virtual_dataset",
                "dtype": "<u2",
                "shape": [4, 10],
                "attributes": {"interpretation": "image"},
                "virtual_sources": [
                    {
                        "vspace": {"start": [0, 0], "count": [3, 10]},
                        "src_file": str(frames),
                        "src_dataset": "/data",
                        "src_space": {"start": [0, 0], "stride": [2, 1], "count": [3, 10]},
                    }
                ],
            },
            "raw": {
                "type": "external_binary_dataset",
                "dtype": "<i4",
                "shape": [2, 3],
                "files": [{"name": str(raw), "offset": 8, "size": 24}],
            },
        },
    )
    scan = make_scan(data_store, path, h5maps=h5map)
    scan.stop()
    scan.close()
    assert ScanWriter(data_store, scan.key).run().state == "complete"
    with h5py.File(path, "r") as theirs, open_redis(path, data_store) as ours:
        for name in ("1.1/stack", "1.1/raw"):
            assert ours[name].dtype == theirs[name].dtype
            assert ours[name].shape == theirs[name].shape
            np.testing.assert_array_equal(ours[name][()], theirs[name][()])
        assert (
            ours["1.1/stack"].attrs["interpretation"] == theirs["1.1/stack"].attrs["interpretation"]
        )


def test_relative_soft_links_resolve_as_in_hdf5(data_store, tmp_path):
    path = str(tmp_path / "rel.h5")
    h5map = entry_map(
        1,
        {
            "g": {
                "type": "group",
                "children": {
                    "value": 5,
                    "same": {"type": "soft_link", "target_path": "value"},
                    "dot": {"type": "soft_link", "target_path": "./value"},
                    "up": {"type": "soft_link", "target_path": "../top"},
                },
            },
            "top": 1,
        },
    )
    scan = make_scan(data_store, path, h5maps=h5map)
    scan.stop()
    scan.close()
    assert ScanWriter(data_store, scan.key).run().state == "complete"
    with h5py.File(path, "r") as theirs, open_redis(path, data_store) as ours:
        for name in ("1.1/g/same", "1.1/g/dot", "1.1/g/up", "1.1/g/none"):
            assert (name in ours) == (name in theirs), name
            if theirs.get(name) is not None:
                assert ours[name][()] == theirs[name][()]
        # '..' is a plain name in HDF5: the link exists but dangles
        assert ours.get("1.1/g/up") is None and theirs.get("1.1/g/up") is None
        with pytest.raises(KeyError):
            ours["1.1/g/up"]


def test_writer_writes_the_default_tree_the_facade_shows(data_store, tmp_path):
    # a scan without h5maps (a Bluesky run, say) that names a file gets that file
    path = str(tmp_path / "plain.h5")
    scan = data_store.create_scan(
        {"name": "ct", "number": 3, "data_policy": "no_policy", "path": path},
        info={"title": "ct 0.1", "start_time": "2026-11-26T10:00:00+01:00"},
    )
    scan.create_stream(Stream.make_definition("axis:sx", "float64", ()))
    scan.create_stream(Stream.make_definition("diode", "int32", ()))
    scan.prepare()
    scan.start()
    send(scan, "diode", np.arange(4, dtype=np.int32))
    send(scan, "axis:sx", np.linspace(0, 1, 4))
    scan.stop()
    scan.close()
    status = ScanWriter(data_store, scan.key).run()
    assert status.state == "complete", status
    with h5py.File(path, "r") as theirs:
        assert theirs["3.1/measurement/diode"][()].tolist() == [0, 1, 2, 3]
        with open_redis(path, data_store) as ours:
            assert not tree_problems(ours, theirs)
