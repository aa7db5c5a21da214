"""Our writer and blisswriter 3.0.0 write the same files for the same scans.

blisswriter (reference venv) follows the database and writes each scan first;
its file is renamed aside, then our writer writes the same scan from Redis and
the two files are compared as a reader sees them (see h5compare.py).
"""

from __future__ import annotations

import json
import os
import shutil
import time

import h5py
import numpy as np
import pytest
from h5compare import describe, differences
from hypothesis import HealthCheck, given, settings
from writer_helpers import lima_plugin_available, write_scan
from writer_strategies import random_scan

from blissdata_core import DataStore, Stream
from blissdata_core.testing import FakeLima2Conductor, run_reference
from blissdata_writer.producer import simulate_scan

pytestmark = pytest.mark.interop

#: blisswriter loads a scan non-atomically (document, then state): loaded during
#: prepare(), it sees PREPARED with the document of CREATED (no streams yet) and
#: fails. Giving it time to load the scan before prepare() avoids that race of
#: the reference (ours reloads the scan once PREPARED).
REFERENCE_LOAD_DELAY = 0.5


def let_reference_load(_scan=None) -> None:
    time.sleep(REFERENCE_LOAD_DELAY)


def compare_with_reference(blisswriter, redis_url: str, scan_key: str, files: list[str]) -> None:
    blisswriter.wait_scan(scan_key, files)
    for path in files:
        os.rename(path, path + ".ref.h5")
    status = write_scan(redis_url, scan_key)
    assert status.state == "complete", status
    for path in files:
        problems = differences(describe(path + ".ref.h5"), describe(path))
        assert not problems, "\n".join(problems)


DETECTOR_SETS = {
    "counters": ("diode",),
    "no-lima": ("diode", "mca"),
    "all": ("diode", "mca", "lima"),
}


@pytest.mark.parametrize("detectors", list(DETECTOR_SETS))
@pytest.mark.parametrize("kind", ["ct", "ascan", "timescan", "mesh"])
def test_simulated_scan_matches_blisswriter(blisswriter, redis_url, tmp_path, kind, detectors):
    if "lima" in DETECTOR_SETS[detectors] and not lima_plugin_available():
        pytest.skip("blissdata_core has no lima plugin yet")
    path = str(tmp_path / "data" / "sample.h5")
    scan = simulate_scan(
        DataStore(redis_url), kind, npoints=5, count_time=0, path=path,
        detectors=DETECTOR_SETS[detectors], frames_per_file=3,
        on_created=let_reference_load, on_prepared=lambda scan: blisswriter.wait_started(scan.key),
    )  # fmt: skip
    compare_with_reference(blisswriter, redis_url, scan.key, [path])


def test_two_scans_in_one_file_match_blisswriter(blisswriter, redis_url, tmp_path):
    path = str(tmp_path / "sample.h5")
    ds = DataStore(redis_url)
    started = {
        "on_created": let_reference_load,
        "on_prepared": lambda scan: blisswriter.wait_started(scan.key),
    }
    first = simulate_scan(
        ds, "ascan", npoints=4, count_time=0, path=path, detectors=("diode",), **started
    )
    blisswriter.wait_scan(first.key, [path])
    second = simulate_scan(
        ds, "timescan", npoints=3, count_time=0, path=path, detectors=("diode",), **started
    )
    blisswriter.wait_scan(second.key, [path])
    os.rename(path, path + ".ref.h5")
    for scan in (first, second):
        assert write_scan(redis_url, scan.key).state == "complete"
    assert not differences(describe(path + ".ref.h5"), describe(path))


@settings(
    max_examples=int(os.environ.get("WRITER_INTEROP_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(spec=random_scan())
def test_random_h5maps_match_blisswriter(blisswriter, redis_url, tmp_path, spec):
    """Random item trees (every value and item type blisswriter supports) and streams."""
    workdir = tmp_path / f"ex{len(os.listdir(tmp_path))}"
    workdir.mkdir()
    path = str(workdir / "random.h5")
    extra_path = str(workdir / "extra.h5")
    ds = DataStore(redis_url)
    number = len(os.listdir(tmp_path))
    entry = f"{number}.1"
    # h5maps at creation: blisswriter loads scans non-atomically (document, then
    # state) and skips a scan whose document it read before the map was set
    scan = ds.create_scan(
        {"name": "random", "number": number, "data_policy": "no_policy", "path": path},
        info={"h5maps": spec.maps(path, extra_path, entry, closing=False)},
    )
    streams = {}
    for name, (dtype, shape, _) in spec.streams.items():
        streams[name] = scan.create_stream(Stream.make_definition(name, dtype, shape))
    let_reference_load()
    scan.prepare()
    blisswriter.wait_started(scan.key)
    scan.start()
    for name, (_, _, batches) in spec.streams.items():
        for batch in batches:
            streams[name].send(batch)
    scan.stop()
    scan.info["h5maps"] = spec.maps(path, extra_path, entry, closing=True)
    scan.close()
    try:
        compare_with_reference(blisswriter, redis_url, scan.key, spec.files(path, extra_path))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_float_free_dimension_padding(blisswriter, redis_url, tmp_path):
    """Points of a stream with a free dimension are padded (NaN for floats) like blisswriter does."""
    path = str(tmp_path / "ragged.h5")
    ds = DataStore(redis_url)
    h5map = {
        "type": "group",
        "children": {
            "1.1": {"type": "group", "children": {"r": {"type": "stream", "stream": "ragged"}}}
        },
    }
    scan = ds.create_scan(
        {"name": "ragged", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: h5map}},
    )
    stream = scan.create_stream(Stream.make_definition("ragged", "float32", (-1,)))
    let_reference_load()
    scan.prepare()
    blisswriter.wait_started(scan.key)
    scan.start()
    for n in (2, 5, 1, 3):
        stream.send(np.arange(n, dtype=np.float32))
    scan.close()
    compare_with_reference(blisswriter, redis_url, scan.key, [path])


READ_FRAMES = """
import sys, json
import numpy as np
from blissdata import DataStore
scan = DataStore(sys.argv[1]).load_scan(sys.argv[2])
stream = scan.streams["lima_simulator:image"]
frames = [stream[i] for i in range(len(stream))]
print(json.dumps({"len": len(stream), "sums": [int(np.asarray(f, dtype=np.int64).sum()) for f in frames],
                  "shape": list(np.asarray(frames[0]).shape), "dtype": str(np.asarray(frames[0]).dtype)}))
"""


def test_reference_client_reads_the_lima_frames(reference_python, redis_url, tmp_path):
    """The producer's lima stream decodes in the blissdata 2.x client like in ours."""
    if not lima_plugin_available():
        pytest.skip("blissdata_core has no lima plugin yet")
    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=7, count_time=0, path=str(tmp_path / "l.h5"),
        detectors=("lima",), frames_per_file=3,
    )  # fmt: skip
    ours = DataStore(redis_url).load_scan(scan.key).streams["lima_simulator:image"]
    expected = [int(np.asarray(ours[i], dtype=np.int64).sum()) for i in range(len(ours))]
    theirs = json.loads(run_reference(READ_FRAMES, redis_url, scan.key))
    assert theirs == {"len": 7, "sums": expected, "shape": [96, 128], "dtype": "uint16"}


# -- lima2 and mosca detectors ------------------------------------------------------------------


def test_lima2_scan_matches_blisswriter(blisswriter, redis_url, tmp_path, monkeypatch):
    """blisswriter writes a lima2 source as an external link to its master file: so do we.
    blisswriter's lima2 plugin shakes hands with the conductor: a fake one answers."""
    from blissdata_writer.producer import detectors

    path = str(tmp_path / "data" / "sample.h5")
    with FakeLima2Conductor() as conductor:
        monkeypatch.setattr(detectors, "CONDUCTOR", ("127.0.0.1", conductor.port))
        scan = simulate_scan(
            DataStore(redis_url), "ascan", npoints=5, count_time=0, path=path,
            detectors=("diode", "lima2"), on_created=let_reference_load,
            on_prepared=lambda scan: blisswriter.wait_started(scan.key),
        )  # fmt: skip
        compare_with_reference(blisswriter, redis_url, scan.key, [path])
    with h5py.File(path, "r") as f:
        link = f.get("/1.1/instrument/lima2_simulator/data", getlink=True)
        assert isinstance(link, h5py.ExternalLink)
        assert f["/1.1/measurement/lima2_simulator"].shape == (5, 48, 64)


def test_mosca_scan_is_written_where_blisswriter_fails(blisswriter, redis_url, tmp_path):
    """blisswriter 3.0.0 has no writer for mosca streams (its stream_writer_factory raises
    "Unknown stream type"; without the mosca plugin the stream is broken): the scan fails
    there.  We reference the spectra the detector saved (a virtual dataset)."""
    path = str(tmp_path / "data" / "sample.h5")
    scan = simulate_scan(
        DataStore(redis_url), "ascan", npoints=5, count_time=0, path=path,
        detectors=("diode", "mosca"), frames_per_file=2, on_created=let_reference_load,
        on_prepared=lambda scan: blisswriter.wait_started(scan.key),
    )  # fmt: skip
    with pytest.raises(AssertionError, match="blisswriter failed"):
        blisswriter.wait_scan(scan.key, [path])
    os.rename(path, path + ".ref.h5")
    status = write_scan(redis_url, scan.key)
    assert status.state == "complete" and not status.missing, status
    stream = DataStore(redis_url).load_scan(scan.key).streams["mosca_simulator:spectrum_det00"]
    spectra = stream[:]
    with h5py.File(path, "r") as f:
        dset = f["/1.1/instrument/mosca_simulator/spectrum_det00"]
        assert dset.is_virtual and dset.shape == (5, 1024)
        assert np.array_equal(dset[()], spectra)
    with h5py.File(path + ".ref.h5", "r") as f:  # blisswriter wrote the static part only
        assert "spectrum_det00" not in f["/1.1/instrument/mosca_simulator"]
