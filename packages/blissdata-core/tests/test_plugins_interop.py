"""Plugin streams published by the reference client (blissdata 2.4.5) are read here, and back."""

import json

import h5py
import numpy as np
import pytest

from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackStream
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.streams.plugins.scan_sequence import ScanSequenceStream
from blissdata_core.testing import run_reference

pytestmark = pytest.mark.interop

DIODE_PATH = "/1.1/measurement/diode"
LIMA_PATH = "/entry_0000/measurement/data"
NPOINTS, NFRAMES, PER_FILE, SHAPE = 10, 5, 2, (3, 4)

PRODUCE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from blissdata.redis_engine.store import DataStore
from blissdata.streams.hdf5_fallback import Hdf5BackedStream
from blissdata.streams.lima.stream import LimaStream
from blissdata.streams.scan_sequence import ScanStream

url, h5file, pattern, lima_path = sys.argv[1:5]
cfg = json.loads(sys.argv[5])
ds = DataStore(url)
def new(number, name="ascan"):
    ident = {"name": name, "number": number, "data_policy": "no_policy", "path": h5file}
    return ds.create_scan(ident, info={"save": True})
scan = new(1, "sequence")
diode = scan.create_stream(Hdf5BackedStream.make_definition("diode", h5file, cfg["diode"], "float64"))
seq = scan.create_stream(ScanStream.make_definition("scans"))
saving = {"file_path": pattern, "data_path": lima_path, "file_format": "HDF5", "file_offset": 0,
          "frames_per_file": cfg["per_file"]}
lima = scan.create_stream(LimaStream.make_definition(
    "lima:image", "uint16", cfg["shape"], "id00/limaccds/sim", 0, cfg["nframes"], 0, saving=saving))
scan.prepare()
scan.start()
children = []
for number in (2, 3):
    child = new(number)
    children.append(child.key)
    seq.send({"key": child.key})
for i in range(cfg["npoints"]):
    diode.send(float(i))
lima.send({"last_index": 2, "last_index_saved": 1})
lima.send({"last_index": cfg["nframes"] - 1, "last_index_saved": cfg["nframes"] - 1})
scan.stop()
scan.close()
print(json.dumps({"key": scan.key, "children": children}))
"""
CONFIG = json.dumps(
    {
        "diode": DIODE_PATH,
        "per_file": PER_FILE,
        "shape": list(SHAPE),
        "nframes": NFRAMES,
        "npoints": NPOINTS,
    }
)

READ = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from blissdata.redis_engine.store import DataStore

ds = DataStore(sys.argv[1])
scan = ds.load_scan(sys.argv[2])
streams = scan.streams
lima = streams["lima:image"]
view = lima.cursor().read(block=False)
print(json.dumps({
    "classes": {name: type(s).__name__ for name, s in streams.items()},
    "diode": streams["diode"][:].tolist(),
    "scans": [s.key for s in streams["scans"][:]],
    "lima_len": len(lima),
    "lima": lima[0:len(lima)].tolist(),
    "lima_view": [view.index, len(view)],
}))
"""


def frame(i):
    return (np.arange(np.prod(SHAPE), dtype=np.uint16).reshape(SHAPE) + 100 * i).astype(np.uint16)


def write_files(tmp_path):
    h5file = str(tmp_path / "scan.h5")
    with h5py.File(h5file, "w") as f:
        f[DIODE_PATH] = np.arange(float(NPOINTS))
    pattern = str(tmp_path / "lima_%04d.h5")
    for number in range((NFRAMES + PER_FILE - 1) // PER_FILE):
        frames = [frame(i) for i in range(number * PER_FILE, min(NFRAMES, (number + 1) * PER_FILE))]
        with h5py.File(pattern % number, "w") as f:
            f[LIMA_PATH] = np.stack(frames)
    return h5file, pattern


def trim(data_store, stream, first_kept):
    data_store.redis.xtrim(stream.key, minid=first_kept, approximate=False)


def check_reader_here(data_store, key, children):
    scan = data_store.load_scan(key)
    diode, seq, lima = (scan.streams[n] for n in ("diode", "scans", "lima:image"))
    assert isinstance(diode, Hdf5FallbackStream)
    assert isinstance(seq, ScanSequenceStream)
    assert isinstance(lima, LimaStream)
    trim(data_store, diode, 6)
    np.testing.assert_array_equal(diode[:], np.arange(float(NPOINTS)))
    np.testing.assert_array_equal(diode.cursor().read().get_data(), np.arange(float(NPOINTS)))
    assert [s.key for s in seq[:]] == children
    assert len(lima) == NFRAMES
    np.testing.assert_array_equal(lima[:], np.stack([frame(i) for i in range(NFRAMES)]))
    view = lima.cursor().read()
    assert (view.index, len(view)) == (0, NFRAMES)


def test_reference_plugin_streams_are_read_here(data_store, redis_url, tmp_path):
    h5file, pattern = write_files(tmp_path)
    out = json.loads(run_reference(PRODUCE, redis_url, h5file, pattern, LIMA_PATH, CONFIG))
    check_reader_here(data_store, out["key"], out["children"])


def test_our_plugin_streams_are_read_by_the_reference(data_store, redis_url, tmp_path):
    h5file, pattern = write_files(tmp_path)

    def new(number, name="ascan"):
        ident = {"name": name, "number": number, "data_policy": "no_policy", "path": h5file}
        return data_store.create_scan(ident, info={"save": True})

    scan = new(1, "sequence")
    diode = scan.create_stream(
        Hdf5FallbackStream.make_definition("diode", h5file, DIODE_PATH, "float64")
    )
    seq = scan.create_stream(ScanSequenceStream.make_definition("scans"))
    saving = {
        "file_path": pattern, "data_path": LIMA_PATH, "file_format": "HDF5", "file_offset": 0,
        "frames_per_file": PER_FILE,
    }  # fmt: skip
    lima = scan.create_stream(
        LimaStream.make_definition(
            "lima:image", "uint16", SHAPE, "id00/limaccds/sim", 0, NFRAMES, 0, saving
        )
    )
    scan.prepare()
    scan.start()
    children = [new(n).key for n in (2, 3)]
    seq.send(children)
    for i in range(NPOINTS):
        diode.send(float(i))
        diode.join()
    lima.send_status(2, 1)
    lima.send_status(NFRAMES - 1, NFRAMES - 1)
    scan.stop()
    scan.close()
    trim(data_store, diode, 6)

    out = json.loads(run_reference(READ, redis_url, scan.key))
    assert out["classes"] == {
        "diode": "Hdf5BackedStream",
        "scans": "ScanStream",
        "lima:image": "LimaStream",
    }
    assert out["diode"] == list(np.arange(float(NPOINTS)))
    assert out["scans"] == children
    assert out["lima_len"] == NFRAMES
    np.testing.assert_array_equal(
        np.array(out["lima"]), np.stack([frame(i) for i in range(NFRAMES)])
    )
    assert out["lima_view"] == [0, NFRAMES]
    check_reader_here(data_store, scan.key, children)  # and we read what we wrote
