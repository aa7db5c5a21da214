"""Interop with the reference client (blissdata 2.4.5, run in its own venv).

A scan with ``h5maps`` published by the reference client is read here, and
the reference's own live reader (``blissdata.h5api.redis_hdf5.File``) must
describe the same tree as ours.
"""

from __future__ import annotations

import base64
import json

import h5py
import numpy as np
import pytest
from compare import assert_same_tree

import blissdata_h5
from blissdata_core import Stream
from blissdata_core.testing import run_reference

pytestmark = pytest.mark.interop

#: Run by both interpreters: a JSON-able description of an entry.
DESCRIBE = r"""
import numpy as np

def type_name(value):
    # numpy 2 renamed np.bool_ to np.bool: name numpy scalars by their dtype
    if isinstance(value, np.generic):
        return "numpy." + np.dtype(type(value)).name
    return type(value).__name__

def value_repr(value):
    array = np.asarray(value)
    def plain(x):
        if isinstance(x, bytes):
            return "b:" + x.decode()
        if isinstance(x, float):
            return repr(x)
        if isinstance(x, (list, tuple)):
            return [plain(i) for i in x]
        return x
    return {"type": type_name(value), "dtype": array.dtype.str, "value": plain(array.tolist())}

def describe(obj, name, out):
    attrs = {key: value_repr(obj.attrs[key]) for key in sorted(obj.attrs)}
    if hasattr(obj, "dtype"):
        out[name] = {"kind": "dataset", "dtype": obj.dtype.str, "shape": list(obj.shape),
                     "value": value_repr(obj[()]), "attrs": attrs}
        return
    children = sorted(obj)
    out[name] = {"kind": "group", "attrs": attrs, "children": children}
    for child in children:
        describe(obj[child], name + "/" + child, out)
"""

PUBLISH = r"""
import json, sys
import numpy as np
from blissdata.redis_engine.store import DataStore
from blissdata.streams.default import Stream

url, path, h5map = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ds = DataStore(url)
scan = ds.create_scan({"name": "ref", "number": 1, "data_policy": "no_policy", "path": path},
                      info={"title": "published by the reference"})
counter = scan.create_stream(Stream.make_definition("diode", "float64", ()))
mca = scan.create_stream(Stream.make_definition("mca", "int32", (4,)))
scan.info["h5maps"] = {path: h5map}
scan.prepare()
scan.start()
counter.send(np.arange(5) * 0.5)
mca.send(np.arange(20, dtype=np.int32).reshape(5, 4))
scan.stop()
scan.close()
print(scan.key)
"""

READ = (
    DESCRIBE
    + r"""
import json, sys
from blissdata.redis_engine.store import DataStore
from blissdata.h5api.redis_hdf5 import File

url, path = sys.argv[1], sys.argv[2]
out = {}
f = File(path, data_store=DataStore(url))
describe(f["1.1"], "/1.1", out)
print(json.dumps(out))
"""
)

BLISSWRITER = r"""
import sys
from blissdata.redis_engine.store import DataStore
from blisswriter.scan_writer import ScanWriter, ScanWritingStatus

url, path = sys.argv[1], sys.argv[2]
ds = DataStore(url)
_, keys = ds.search_existing_scans(path=path)
for key in keys:
    status = ScanWritingStatus()
    ScanWriter(ds.load_scan(key), status).run()
    print(key, status.state.name, status.state_msg)
    assert status.state.name == "COMPLETE", status
"""

H5MAP = {
    "type": "group",
    "attributes": {"NX_class": "NXroot"},
    "children": {
        "1.1": {
            "type": "group",
            "attributes": {"NX_class": "NXentry", "default": "measurement"},
            "children": {
                "title": "published by the reference",
                "numbers": [1, 2.5, True],
                "names": ["a", "bc"],
                "flag": True,
                "small": {
                    "type": "dataset",
                    "value": {"type": "inline", "dtype": "int8", "value": [1, -2]},
                    "attributes": {
                        "units": "mm",
                        "scale": {"type": "inline", "dtype": "float32", "value": "nan"},
                    },
                },
                "bin": {
                    "type": "inline_b64",
                    "dtype": ">u2",
                    "shape": [2, 2],
                    "value": base64.b64encode(np.arange(4, dtype=">u2").tobytes()).decode(),
                },
                "table": {"type": "compound", "columns": [["x", [1, 2]], ["name", ["p", "q"]]]},
                "measurement": {
                    "type": "group",
                    "attributes": {"NX_class": "NXcollection"},
                    "children": {
                        "diode": {"type": "stream", "stream": "diode"},
                        "mca": {
                            "type": "dataset",
                            "value": {"type": "stream", "stream": "mca"},
                            "attributes": {"interpretation": "spectrum"},
                        },
                        "title": {"type": "soft_link", "target_path": "/1.1/title"},
                    },
                },
            },
        }
    },
}


def publish_here(data_store, path: str) -> None:
    scan = data_store.create_scan(
        {"name": "ours", "number": 1, "data_policy": "no_policy", "path": path},
        info={"title": "published by the reference", "h5maps": {path: H5MAP}},
    )
    diode = scan.create_stream(Stream.make_definition("diode", "float64", ()))
    mca = scan.create_stream(Stream.make_definition("mca", "int32", (4,)))
    scan.prepare()
    scan.start()
    diode.send(np.arange(5) * 0.5)
    mca.send(np.arange(20, dtype=np.int32).reshape(5, 4))
    scan.stop()
    scan.close()


@pytest.mark.parametrize("publisher", ["reference", "blissdata_core"])
def test_published_scan_reads_the_same_here_and_in_the_reference(
    reference_python, redis_url, data_store, tmp_path, publisher
):
    path = str(tmp_path / "ref.h5")
    if publisher == "reference":
        run_reference(PUBLISH, redis_url, path, json.dumps(H5MAP))
    else:
        publish_here(data_store, path)
    theirs = json.loads(run_reference(READ, redis_url, path))
    namespace: dict = {}
    exec(DESCRIBE, namespace)
    ours: dict = {}
    with blissdata_h5.File(path, data_store=redis_url, source="redis") as f:
        assert list(f) == ["1.1"]
        namespace["describe"](f["1.1"], "/1.1", ours)
        assert f["1.1/measurement/mca"][-1, 1:3].tolist() == [17, 18]
        assert f["1.1/title"][()] == b"published by the reference"
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name] == theirs[name], name


@pytest.mark.parametrize("publisher", ["reference", "blissdata_core"])
def test_live_view_equals_the_file_blisswriter_writes(
    reference_python, redis_url, data_store, tmp_path, publisher
):
    path = str(tmp_path / "bw.h5")
    if publisher == "reference":
        run_reference(PUBLISH, redis_url, path, json.dumps(H5MAP))
    else:
        publish_here(data_store, path)
    run_reference(BLISSWRITER, redis_url, path)
    with h5py.File(path, "r") as theirs:
        for source in ("redis", "file", "auto"):
            with blissdata_h5.File(path, data_store=data_store, source=source) as ours:
                assert_same_tree(ours, theirs)
