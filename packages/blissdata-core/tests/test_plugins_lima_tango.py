"""Live lima frames, read from a Lima-like Tango device (PyTango's DeviceTestContext,
no Tango database) that serves what the blissdata 2.x client reads: the
attributes ``acq_mode``, ``lima_version``, ``acq_trigger_mode``,
``last_image_ready`` and the command ``readImage``."""

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from blissdata_core.errors import (
    FrameNoMoreThereError,
    IndexNoMoreThereError,
    LimaServerError,
    NoImageAvailable,
)
from blissdata_core.streams.plugins._lima_tango import ImageData, decode_data_array
from blissdata_core.streams.plugins.lima import (
    LimaStream,
    acquisition_on_server,
    prepare_next_lima_acquisition,
)

tango = pytest.importorskip("tango")
from fake_lima_device import BUFFER, SHAPE, encode, lima_frame  # noqa: E402


@pytest.fixture(scope="module")
def lima_device():
    """(proxy, device URL) of a FakeLima server running in its own process."""
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "tango.test_context", "fake_lima_device.FakeLima",
         "--host", "127.0.0.1", "--port", "0"],
        cwd=Path(__file__).parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in server.stdout], daemon=True
    ).start()
    url, seen, deadline = None, [], time.monotonic() + 120
    try:
        while url is None:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"the fake Lima server never started: {seen}") from None
            seen.append(line.rstrip())
            if line.startswith("Device access:"):
                url = line.split(":", 1)[1].strip()
            elif server.poll() is not None:
                raise AssertionError(f"the fake Lima server exited: {seen}")
        yield tango.DeviceProxy(url), url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def device(lima_device):
    proxy, url = lima_device
    proxy.init()  # back to no frame, acquisition 0, defaults
    return proxy, url


@pytest.fixture
def live_scan(data_store, tmp_path, device):
    """Factory: (device proxy, writer stream, reader stream) of a running scan."""
    proxy, url = device

    def make(saved=False, frames_per_acquisition=6, buffer=BUFFER):
        acquisition = prepare_next_lima_acquisition(data_store, url)
        proxy.acquisition = acquisition
        scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
        saving = None
        if saved:
            saving = {"file_path": str(tmp_path / "lima_%04d.h5"), "data_path": "/data",
                      "file_format": "HDF5", "file_offset": 0, "frames_per_file": 2}  # fmt: skip
        definition = LimaStream.make_definition(
            "lima:image", "uint16", SHAPE, url, buffer, frames_per_acquisition, acquisition,
            saving=saving,
        )  # fmt: skip
        stream = scan.create_stream(definition)
        scan.prepare()
        scan.start()
        reader = data_store.load_scan(scan.key).streams["lima:image"]
        return scan, stream, reader, acquisition

    return make


def test_decode_data_array_versions():
    frame = lima_frame(0, 3)
    for version, frame_id, tag in ((4, 3, 7), (3, 3, None), (1, None, None), (2, None, None)):
        image = decode_data_array(("DATA_ARRAY", encode(frame, 3, version)))
        np.testing.assert_array_equal(image.array, frame)
        assert (image.frame_id, image.acq_tag) == (frame_id, tag)
        assert image.array.flags.writeable
    with pytest.raises(LimaServerError, match="VIDEO_IMAGE"):
        decode_data_array(("VIDEO_IMAGE", b""))
    with pytest.raises(LimaServerError, match="magic"):
        decode_data_array(b"X" * 100)
    with pytest.raises(LimaServerError, match="data bytes"):
        decode_data_array(encode(frame, 3)[:-2])


def test_acquisition_counter(data_store):
    assert acquisition_on_server(data_store, "id00/limaccds/other") is None
    assert prepare_next_lima_acquisition(data_store, "id00/limaccds/other") == 0
    assert prepare_next_lima_acquisition(data_store, "id00/limaccds/other") == 1
    assert acquisition_on_server(data_store, "id00/limaccds/other") == 1


def test_unsaved_frames_from_the_server(live_scan):
    scan, writer, reader, acq = live_scan()
    device_proxy = reader.server.proxy
    device_proxy.last_image_ready = 3
    writer.send_status(3)
    writer.join()
    np.testing.assert_array_equal(reader[2], lima_frame(acq, 2))
    np.testing.assert_array_equal(reader[:], np.stack([lima_frame(acq, i) for i in range(4)]))
    # two more frames: the buffer of 4 no longer holds frames 0 and 1
    device_proxy.last_image_ready = 5
    writer.send_status(5)
    writer.join()
    np.testing.assert_array_equal(reader[2:6], np.stack([lima_frame(acq, i) for i in range(2, 6)]))
    with pytest.raises(FrameNoMoreThereError, match="keeps the last 4"):
        reader[1]
    with pytest.raises(IndexNoMoreThereError):
        reader[0:3]
    scan.stop()


def test_frames_of_another_acquisition_are_not_taken(live_scan, data_store):
    scan, writer, reader, acq = live_scan()
    reader.server.proxy.last_image_ready = 2
    writer.send_status(2)
    writer.join()
    np.testing.assert_array_equal(reader[2], lima_frame(acq, 2))
    prepare_next_lima_acquisition(data_store, reader.layout.server_url)  # the next scan started
    with pytest.raises(FrameNoMoreThereError, match=f"no longer runs acquisition {acq}"):
        reader[1]
    scan.stop()


def test_frames_without_an_acquisition_counter_are_not_taken(data_store, device):
    """A producer that does not count acquisitions: nothing says which one the device runs."""
    proxy, url = device
    data_store.runtime.conn.call("DEL", url)
    scan = data_store.create_scan({"name": "ct", "number": 1, "data_policy": "no_policy"})
    writer = scan.create_stream(
        LimaStream.make_definition("lima:image", "uint16", SHAPE, url, 4, 3, 0)
    )
    scan.prepare()
    scan.start()
    proxy.last_image_ready = 1
    writer.send_status(1)
    writer.join()
    reader = data_store.load_scan(scan.key).streams["lima:image"]
    with pytest.raises(FrameNoMoreThereError, match="no producer counts its acquisitions"):
        reader[1]
    scan.stop()


def test_frames_without_a_number_are_not_taken(live_scan):
    """An old Lima (header version 1) does not number frames: nothing proves which one it sent."""
    scan, writer, reader, _ = live_scan()
    proxy = reader.server.proxy
    proxy.last_image_ready, proxy.header_version = 1, 1
    writer.send_status(1)
    writer.join()
    with pytest.raises(FrameNoMoreThereError, match="gave frame None"):
        reader[1]
    scan.stop()


def test_saved_frames_come_from_the_server_until_the_files_are_finished(live_scan, tmp_path):
    scan, writer, reader, acq = live_scan(saved=True)
    reader.server.proxy.last_image_ready = 2
    writer.send_status(2)  # acquired, nothing saved: no file exists yet
    writer.join()
    np.testing.assert_array_equal(reader[0:3], np.stack([lima_frame(acq, i) for i in range(3)]))
    # the first file is finished (frame 2 saved into the second): file frames come from it
    with h5py.File(tmp_path / "lima_0000.h5", "w") as f:
        f["data"] = np.stack([lima_frame(acq, i) + 1 for i in range(2)])  # tell them apart
    writer.send_status(2, 2)
    writer.join()
    np.testing.assert_array_equal(
        reader[0:3], np.stack([lima_frame(acq, 0) + 1, lima_frame(acq, 1) + 1, lima_frame(acq, 2)])
    )
    scan.stop()


def test_last_live_image(live_scan):
    scan, writer, reader, acq = live_scan()
    proxy = reader.server.proxy
    with pytest.raises(NoImageAvailable):
        reader.get_last_live_image()
    proxy.last_image_ready = 3
    image = reader.get_last_live_image()
    assert isinstance(image, ImageData)
    np.testing.assert_array_equal(image.array, lima_frame(acq, 3))
    assert (image.frame_id, image.acq_tag) == (3, None)
    assert json.loads(proxy.asked)[-1] == -1
    # frame 0 of an internally triggered multi-frame scan: its number is unknown
    proxy.last_image_ready = 0
    writer.send_status(2)
    writer.join()
    assert reader.get_last_live_image().frame_id is None
    scan.stop()


def test_last_live_image_of_an_old_lima_accumulating(live_scan):
    """Before Lima 1.10, readImage(-1) fails in accumulation: the client asks last_image_ready."""
    scan, _, reader, acq = live_scan()
    proxy = reader.server.proxy
    proxy.acq_mode, proxy.lima_version, proxy.last_image_ready = "ACCUMULATION", "1.9.18", 4
    image = reader.get_last_live_image()
    np.testing.assert_array_equal(image.array, lima_frame(acq, 4))
    assert json.loads(proxy.asked)[-1] == 4
    scan.stop()


def test_unreachable_server(data_store):
    scan = data_store.create_scan({"name": "ct", "number": 1, "data_policy": "no_policy"})
    url = "tango://127.0.0.1:1/id00/limaccds/nowhere#dbase=no"
    definition = LimaStream.make_definition("lima:image", "uint16", SHAPE, url, 4, 1, 0)
    writer = scan.create_stream(definition)
    scan.prepare()
    scan.start()
    prepare_next_lima_acquisition(data_store, url)
    writer.send_status(0)
    writer.join()
    reader = data_store.load_scan(scan.key).streams["lima:image"]
    with pytest.raises(LimaServerError, match="nowhere"):
        reader.get_last_live_image()
    with pytest.raises(FrameNoMoreThereError, match="nowhere"):
        reader[0]
    scan.stop()


def test_without_pytango(live_scan, monkeypatch):
    scan, writer, reader, _ = live_scan()
    monkeypatch.setitem(sys.modules, "tango", None)
    with pytest.raises(LimaServerError, match=r"needs pytango .*blissdata-core\[tango\]"):
        reader.get_last_live_image()
    writer.send_status(0)
    writer.join()
    with pytest.raises(FrameNoMoreThereError, match="needs pytango"):
        reader[0]
    scan.stop()


REFERENCE_READ = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
from blissdata.redis_engine.store import DataStore
from blissdata.lima.client import prepare_next_lima_acquisition

ds = DataStore(sys.argv[1])
lima = ds.load_scan(sys.argv[2]).streams["lima:image"]
frames = np.asarray(lima[0:4])
image = lima.get_last_live_image()
after = prepare_next_lima_acquisition(ds, lima.info["lima_info"]["server_url"])
print(json.dumps({"frames": frames.tolist(), "last": image.array.tolist(),
                  "frame_id": image.frame_id, "next_acquisition": after}))
"""


@pytest.mark.interop
def test_the_reference_reads_the_same_live_frames(live_scan, data_store, redis_url):
    """The reference client, in its own process, reads the same frames from the same
    device; acquisition counters are shared both ways."""
    from blissdata_core.testing import run_reference

    scan, writer, reader, acq = live_scan()
    reader.server.proxy.last_image_ready = 3
    writer.send_status(3)
    writer.join()
    expected = np.stack([lima_frame(acq, i) for i in range(4)])
    np.testing.assert_array_equal(reader[0:4], expected)
    assert reader.get_last_live_image().frame_id == 3
    out = json.loads(run_reference(REFERENCE_READ, redis_url, scan.key).strip().splitlines()[-1])
    np.testing.assert_array_equal(np.array(out["frames"]), expected)
    np.testing.assert_array_equal(np.array(out["last"]), lima_frame(acq, 3))
    assert out["frame_id"] == 3
    assert out["next_acquisition"] == acq + 1
    assert acquisition_on_server(data_store, reader.layout.server_url) == acq + 1
    scan.stop()


def test_live_frames_through_the_h5_facade(data_store, device, tmp_path):
    """A detector that saves nothing: the h5 facade shows its frames from the device."""
    blissdata_h5 = pytest.importorskip("blissdata_h5")
    proxy, url = device
    path = str(tmp_path / "s.h5")
    h5map = {"type": "group", "children": {"1.1": {"type": "group", "children": {
        "instrument": {"type": "group", "children": {"det": {"type": "group", "children": {
            "data": {"type": "stream", "stream": "det:image"}}}}}}}}}  # fmt: skip
    acquisition = prepare_next_lima_acquisition(data_store, url)
    proxy.acquisition = acquisition
    scan = data_store.create_scan(
        {"name": "ct", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: h5map}},
    )
    definition = LimaStream.make_definition(
        "det:image", "uint16", SHAPE, url, BUFFER, 3, acquisition
    )
    writer = scan.create_stream(definition)
    scan.prepare()
    scan.start()
    proxy.last_image_ready = 2
    writer.send_status(2)
    writer.join()
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        data = f["1.1/instrument/det/data"]
        assert data.shape == (3, *SHAPE)
        np.testing.assert_array_equal(data[1], lima_frame(acquisition, 1))
        np.testing.assert_array_equal(
            data[()], np.stack([lima_frame(acquisition, i) for i in range(3)])
        )
    scan.stop()
