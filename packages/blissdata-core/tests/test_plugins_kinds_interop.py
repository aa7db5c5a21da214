"""lima2 and mosca streams between the reference client with the real plugins and this client.

The reference side runs blissdata 2.4.5 with blissdata-lima2 2.0.2 (which
blisswriter brings into the reference venv) and blissdata-mosca 2.0.5 (put on
its path).  There is no hardware: a fake Lima2 conductor answers the version
handshake the lima2 plugin makes when it opens a stream, and the data are in
the files the streams point to.
"""

import json

import h5py
import numpy as np
import pytest

from blissdata_core import CursorGroup, EndOfStream
from blissdata_core.errors import ExternalDataError
from blissdata_core.streams.plugins.lima2 import Lima2Stream
from blissdata_core.streams.plugins.mosca import MoscaStream
from blissdata_core.testing import FakeLima2Conductor, reference_mosca_path, run_reference

pytestmark = pytest.mark.interop

SHAPE = (3, 5)
NFRAMES, NSPECTRA, NCHANNELS, PER_FILE = 4, 7, 16, 3
MASTER_PATH = "/entry_0000/frames"
MOSCA_PATH = "/entry"


def frames():
    return np.arange(NFRAMES * 15, dtype=np.uint16).reshape(NFRAMES, *SHAPE)


def spectra():
    return (np.arange(NSPECTRA * NCHANNELS, dtype=np.uint32) * 3).reshape(NSPECTRA, NCHANNELS)


def saving(tmp_path):
    return {
        "file_path": str(tmp_path), "data_path": MOSCA_PATH, "file_format": "hdf5",
        "file_prefix": "mca_", "points_per_file": PER_FILE, "saving_enabled": True,
        "enabled_detectors": [0, 1],
    }  # fmt: skip


def write_files(tmp_path):
    """The master file of the lima2 source, and the mosca files (detector 1)."""
    with h5py.File(tmp_path / "master.h5", "w") as f:
        f[MASTER_PATH] = frames()
    data = spectra()
    for number in range(-(-NSPECTRA // PER_FILE)):
        with h5py.File(tmp_path / f"mca_spectra_{number:04d}.h5", "w") as f:
            f[f"{MOSCA_PATH}/spectra_01"] = data[number * PER_FILE : (number + 1) * PER_FILE]


def run_with_plugins(script, *args):
    path = str(reference_mosca_path())
    return run_reference(script, *args, timeout=120, env={"PYTHONPATH": path})


PRODUCE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from blissdata.redis_engine.store import DataStore
from blissdata_lima2 import Lima2Stream
from blissdata_mosca.stream import MoscaStream

url, port, master, cfg = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
ds = DataStore(url)
scan = ds.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
l2 = scan.create_stream(Lima2Stream.make_definition(
    "lima2:frame", "raw_frame", "127.0.0.1", port, "acq-1", (master, cfg["master_path"]),
    "uint16", cfg["shape"]))
mca = scan.create_stream(MoscaStream.make_definition(
    "mosca:spectrum_det01", 1, 0, "uint32", [cfg["nchannels"]], "tango://h:1/id00/mosca/x", 7,
    saving=cfg["saving"]))
scan.prepare(); scan.start()
l2.send(np.uint32(2)); l2.send(np.uint32(cfg["nframes"]))  # the reference wants uint32
mca.send({"last_read_index": 3, "last_saved_index": 2})
mca.send({"last_read_index": cfg["nspectra"] - 1, "last_saved_index": cfg["nspectra"] - 2})
scan.stop(); scan.close()
print(json.dumps([type(l2).__name__, type(mca).__name__, scan.key]))
"""


def config(tmp_path):
    return json.dumps(
        {
            "master_path": MASTER_PATH,
            "shape": list(SHAPE),
            "nchannels": NCHANNELS,
            "saving": saving(tmp_path),
            "nframes": NFRAMES,
            "nspectra": NSPECTRA,
        }
    )


def test_reference_plugin_streams_are_read_here(data_store, redis_url, tmp_path):
    write_files(tmp_path)
    master = str(tmp_path / "master.h5")
    with FakeLima2Conductor() as conductor:
        out = run_with_plugins(PRODUCE, redis_url, conductor.port, master, config(tmp_path))
    l2_type, mca_type, key = json.loads(out)
    assert (l2_type, mca_type) == ("Lima2Stream", "MoscaStream")  # the real plugins published
    scan = data_store.load_scan(key)
    l2, mca = scan.streams["lima2:frame"], scan.streams["mosca:spectrum_det01"]
    assert isinstance(l2, Lima2Stream) and isinstance(mca, MoscaStream)
    assert (len(l2), l2.dtype, l2.shape) == (NFRAMES, np.uint16, SHAPE)
    assert np.array_equal(l2[:], frames())
    assert np.array_equal(l2[2], frames()[2])
    assert (len(mca), mca.dtype, mca.shape, mca.detector) == (NSPECTRA, np.uint32, (NCHANNELS,), 1)
    assert np.array_equal(mca[: NSPECTRA - 1], spectra()[:-1])
    with pytest.raises(ExternalDataError, match="mosca server 'tango://h:1/id00/mosca/x'"):
        mca[NSPECTRA - 1]  # acquired, never saved
    views = CursorGroup([l2, mca]).read(timeout=10)
    assert sorted((s.name, v.index, len(v)) for s, v in views.items()) == [
        ("lima2:frame", 0, NFRAMES), ("mosca:spectrum_det01", 0, NSPECTRA)
    ]  # fmt: skip


READ = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from blissdata.redis_engine.store import DataStore
from blissdata.streams import CursorGroup
from blissdata.exceptions import EndOfStream

scan = DataStore(sys.argv[1]).load_scan(sys.argv[2])
l2, mca = scan.streams["lima2:frame"], scan.streams["mosca:spectrum_det01"]
out = {"types": [type(l2).__module__, type(mca).__module__]}
out["lima2"] = [len(l2), l2.dtype.name, list(l2.shape), l2[1].tolist(), l2[1:4].tolist()]
refs = mca.get_references(2, 5)
out["mosca_refs"] = [[r.file_path, r.data_path, int(r.index)] for r in refs]
out["mosca"] = [mca.dtype, list(mca.shape), mca.data_index]
group = CursorGroup([l2, mca])
views = group.read(timeout=10)
out["views"] = sorted([s.name, v.index, len(v)] for s, v in views.items())
last = CursorGroup([l2, mca]).read(timeout=10, last_only=True)
out["last"] = sorted([s.name, v.index, len(v)] for s, v in last.items())
try:
    group.read(timeout=10)
    out["end"] = "more"
except EndOfStream:
    out["end"] = "end"
print(json.dumps(out))
"""


def test_our_plugin_streams_are_read_by_the_reference(data_store, redis_url, tmp_path):
    write_files(tmp_path)
    master = str(tmp_path / "master.h5")
    with FakeLima2Conductor() as conductor:
        scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
        l2 = scan.create_stream(
            Lima2Stream.make_definition(
                "lima2:frame",
                "raw_frame",
                "127.0.0.1",
                conductor.port,
                "acq-1",
                (master, MASTER_PATH),
                "uint16",
                SHAPE,
            )  # fmt: skip
        )
        mca = scan.create_stream(
            MoscaStream.make_definition(
                "mosca:spectrum_det01",
                1,
                0,
                "uint32",
                [NCHANNELS],
                "tango://h:1/id00/mosca/x",
                7,
                saving=saving(tmp_path),
            )  # fmt: skip
        )
        scan.prepare()
        scan.start()
        l2.send(2)
        l2.send(NFRAMES)
        mca.send_status(3, 2)
        mca.send_status(NSPECTRA - 1, NSPECTRA - 1)
        scan.stop()
        scan.close()
        out = json.loads(run_with_plugins(READ, redis_url, scan.key))
    assert out["types"] == ["blissdata_lima2.stream", "blissdata_mosca.stream"]
    data = frames()
    assert out["lima2"] == [NFRAMES, "uint16", list(SHAPE), data[1].tolist(), data[1:4].tolist()]
    ours = data_store.load_scan(scan.key).streams["mosca:spectrum_det01"]
    expected = [[r.file_path, r.data_path, r.index] for r in ours.get_references(slice(2, 5))]
    assert out["mosca_refs"] == expected
    for (path, dset, index), point in zip(expected, range(2, 5), strict=True):
        with h5py.File(path, "r") as f:
            saved = f[dset][index]
        assert np.array_equal(saved, ours[point])
    assert out["mosca"] == ["uint32", [NCHANNELS], 0]
    assert out["views"] == [["lima2:frame", 0, NFRAMES], ["mosca:spectrum_det01", 0, NSPECTRA]]
    assert out["last"] == [
        ["lima2:frame", NFRAMES - 1, 1], ["mosca:spectrum_det01", NSPECTRA - 1, 1]
    ]  # fmt: skip
    assert out["end"] == "end"
    with pytest.raises(EndOfStream):
        group = CursorGroup(list(data_store.load_scan(scan.key).streams.values()))
        group.read(timeout=5)
        group.read(timeout=5)
