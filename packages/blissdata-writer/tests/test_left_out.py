"""Mapped datasets the writer cannot write: the scan ends ``incomplete``, naming each and why."""

from __future__ import annotations

import logging
import subprocess
import types

import h5py
import numpy as np
from writer_helpers import wait_status, write_scan, writer_command

from blissdata_core import DataStore, Stream
from blissdata_core.streams import plugins
from blissdata_writer.status import TERMINAL_STATES, read_status

#: A plugin the producer has and the writer lacks.
PLUGIN = "plugin_the_writer_lacks"


def _publish(redis_url: str, path: str) -> str:
    """diode (written), image (plugin missing) and events (JSON), all three mapped."""
    measurement = {
        "diode": {"type": "stream", "stream": "diode:diode1"},
        "image": {"type": "stream", "stream": "det:image"},
        "events": {"type": "stream", "stream": "det:events"},
    }
    h5maps = {
        path: {
            "type": "group",
            "children": {
                "1.1": {
                    "type": "group",
                    "children": {"measurement": {"type": "group", "children": measurement}},
                }
            },
        }
    }
    ds = DataStore(redis_url)
    scan = ds.create_scan(
        {"name": "ascan", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": h5maps},
    )
    diode = scan.create_stream(Stream.make_definition("diode:diode1", "float64"))
    with plugins.served(PLUGIN, types.SimpleNamespace(stream_cls=Stream)):
        image = scan.create_stream(
            Stream.make_definition("det:image", "uint16", (2, 3), info={"plugin": PLUGIN})
        )
    events = scan.create_stream(Stream.make_definition("det:events", "json"))
    scan.prepare()
    scan.start()
    diode.send(np.arange(4.0))
    image.send(np.zeros((4, 2, 3), dtype=np.uint16))
    events.send({"n": 1})
    scan.stop()
    scan.close()
    return scan.key


def test_left_out_datasets_make_the_scan_incomplete(redis_url, tmp_path, caplog):
    path = str(tmp_path / "s.h5")
    key = _publish(redis_url, path)
    with caplog.at_level(logging.ERROR, logger="blissdata_writer"):
        status = write_scan(redis_url, key)
    assert status.state == "incomplete" and status.done
    image, events = f"{path}::/1.1/measurement/image", f"{path}::/1.1/measurement/events"
    assert sorted(status.missing) == sorted([image, events])
    assert status.missing[image] == (
        f"stream 'det:image' needs plugin {PLUGIN!r}, which is not installed"
    )
    assert "JSON" in status.missing[events]
    assert "2 mapped dataset(s) not written" in status.message
    assert image in status.message and PLUGIN in status.message
    published = read_status(redis_url, key)
    assert published["state"] == "incomplete" and published["missing"] == status.missing
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(image in m and PLUGIN in m and "not installed" in m for m in errors), errors
    assert any(events in m and "JSON" in m for m in errors), errors
    assert not any("complete" in m and "incomplete" not in m for m in caplog.messages)
    with h5py.File(path, "r") as f:  # what could be written was
        np.testing.assert_array_equal(f["1.1/measurement/diode"][()], np.arange(4.0))
        assert sorted(f["1.1/measurement"]) == ["diode"]


def test_incomplete_is_final(redis_url, tmp_path, writer_service):
    """A restarted service does not take an incomplete scan back (the plugin is still missing)."""
    assert "incomplete" in TERMINAL_STATES
    path = str(tmp_path / "s.h5")
    writer_service()
    key = _publish(redis_url, path)
    status = wait_status(redis_url, key, states=TERMINAL_STATES)
    assert status["state"] == "incomplete", status


def test_write_command_exits_non_zero_and_names_the_datasets(redis_url, tmp_path):
    path = str(tmp_path / "s.h5")
    key = _publish(redis_url, path)
    done = subprocess.run(writer_command("write", redis_url, key), capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "incomplete" in done.stdout and "saving complete" not in done.stdout
    assert f"{path}::/1.1/measurement/image" in done.stdout + done.stderr
    assert f"needs plugin {PLUGIN!r}, which is not installed" in done.stderr


def test_a_streamed_dataset_mapped_only_at_closed_is_left_out(redis_url, tmp_path, writer_service):
    """Streams are followed from PREPARED: one mapped later is named, not silently dropped."""
    path = str(tmp_path / "s.h5")
    entry = {"type": "group", "children": {"x": {"type": "stream", "stream": "x"}}}
    writer_service()  # listening before the scan exists
    ds = DataStore(redis_url)
    scan = ds.create_scan(
        {"name": "ascan", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: {"type": "group", "children": {"1.1": entry}}}},
    )
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    y = scan.create_stream(Stream.make_definition("y", "float64"))
    scan.prepare()
    wait_status(redis_url, scan.key, states=("writing",))  # the writer follows the PREPARED maps
    scan.start()
    x.send(np.arange(3.0))
    y.send(np.arange(3.0))
    scan.stop()
    entry["children"]["y"] = {"type": "stream", "stream": "y"}
    scan.info["h5maps"] = {path: {"type": "group", "children": {"1.1": entry}}}
    scan.close()
    status = wait_status(redis_url, scan.key)
    assert status["state"] == "incomplete", status
    assert list(status["missing"]) == [f"{path}::/1.1/y"]
    assert "after PREPARED" in status["missing"][f"{path}::/1.1/y"]


def test_points_lost_by_the_producer_make_the_scan_incomplete(redis_url, tmp_path):
    """A stream whose publication failed is sealed and the scan closed all the same
    (issue #20): the writer writes what reached Redis and says points were lost."""
    import pytest
    import redis

    from blissdata_core import PublishError

    path = str(tmp_path / "lossy.h5")
    measurement = {"diode": {"type": "stream", "stream": "diode"}}
    h5maps = {
        path: {
            "type": "group",
            "children": {
                "1.1": {
                    "type": "group",
                    "children": {"measurement": {"type": "group", "children": measurement}},
                }
            },
        }
    }
    ds = DataStore(redis_url)
    scan = ds.create_scan(
        {"name": "lossy", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": h5maps},
    )
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    scan.prepare()
    scan.start()
    diode.send(np.arange(3.0))
    diode.join()
    raw = redis.Redis.from_url(redis_url)
    raw.rename(diode.key, "held")
    raw.set(diode.key, "not a stream")  # the next XADD fails
    diode.send(np.arange(3.0, 5.0))
    with pytest.raises(PublishError):
        diode.join()
    raw.delete(diode.key)
    raw.rename("held", diode.key)
    scan.stop()
    scan.close()
    ds.close()

    status = write_scan(redis_url, scan.key)
    assert status.state == "incomplete", status
    assert "1 stream(s) published with points lost" in status.message
    assert "'diode' (2 point(s) lost" in status.message
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["1.1/measurement/diode"][()], np.arange(3.0))
