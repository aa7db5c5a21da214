"""Links, live waiting, default trees, bad input, the CLI."""

from __future__ import annotations

import base64
import io
import os
import threading
import time

import h5py
import numpy as np
import pytest
from helpers import entry_map, make_scan, send

import blissdata_h5
from blissdata_core import Stream
from blissdata_core.errors import BlissdataError
from blissdata_h5 import cli, values


def open_redis(path, data_store, **kwargs):
    return blissdata_h5.File(path, data_store=data_store, source="redis", **kwargs)


# --- bad input -------------------------------------------------------------------


def test_bad_items_raise_errors_naming_the_path(data_store, tmp_path):
    path = str(tmp_path / "bad.h5")
    h5map = entry_map(
        1,
        {
            "weird": {"type": "bogus", "value": 1},
            "dangling": {"type": "soft_link", "target_path": "/1.1/nowhere"},
            "lost": {"type": "stream", "stream": "not_a_stream"},
            "nulls": [None, 1],
            "badb64": {"type": "inline_b64", "dtype": "<f8", "value": "!!"},
            "good": 1,
        },
        attributes={
            "NX_class": "NXentry",
            "broken": {"type": "inline", "dtype": "int8", "value": 1000},
        },
    )
    make_scan(data_store, path, h5maps=h5map)
    with open_redis(path, data_store) as f:
        entry = f["1.1"]
        assert sorted(entry) == ["badb64", "dangling", "good", "lost", "nulls", "weird"]
        with pytest.raises(
            blissdata_h5.H5MapError, match=r"/1\.1/weird.*unknown item type 'bogus'"
        ):
            entry["weird"]
        with pytest.raises(blissdata_h5.DanglingLinkError, match=r"/1\.1/dangling") as exc:
            entry["dangling"]
        assert isinstance(exc.value, KeyError) and isinstance(exc.value, BlissdataError)
        assert "dangling" in entry and entry.get("dangling") is None  # as h5py does
        assert isinstance(entry.get("weird", getlink=True), h5py.HardLink)
        assert isinstance(entry.get("dangling", getlink=True), h5py.SoftLink)
        with pytest.raises(blissdata_h5.MissingStreamError, match=r"/1\.1/lost.*not_a_stream"):
            entry["lost"]
        with pytest.raises(blissdata_h5.H5MapError, match=r"/1\.1/nulls"):
            entry["nulls"]
        with pytest.raises(blissdata_h5.H5MapError, match=r"/1\.1/badb64"):
            entry["badb64"]
        with pytest.raises(blissdata_h5.H5MapError, match=r"/1\.1@broken"):
            entry.attrs["broken"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry["good"][()] == 1
        with pytest.raises(KeyError, match="missing"):
            f["1.1/missing"]
        with pytest.raises(KeyError):
            f["1.1/good/below"]
        # the CLI keeps going over broken items
        out = io.StringIO()
        cli.tree(f, out)
        assert "unknown item type" in out.getvalue() and "/1.1/good" in out.getvalue()


@pytest.mark.parametrize(
    ("dtype", "value"),
    [("int8", 1000), ("uint8", -1), ("int8", [1, 128]), ("uint16", "70000"), ("int8", 1000.0)],
)
def test_inline_integers_out_of_range_are_refused(dtype, value):
    # numpy < 2 wraps them silently (-24 for 1000 in int8): the map is wrong, say so
    with pytest.raises(blissdata_h5.H5MapError, match=r"/x.*does not fit"):
        values.decode({"type": "inline", "dtype": dtype, "value": value}, "/x")


def test_inline_integers_at_the_limits_are_kept():
    item = {"type": "inline", "dtype": "uint64", "value": [0, 2**64 - 1]}
    assert values.decode(item, "/x").tolist() == [0, 2**64 - 1]
    item = {"type": "inline", "dtype": "int8", "value": ["-128", 127.0, True]}
    assert values.decode(item, "/x").tolist() == [-128, 127, 1]


def test_soft_link_cycle_is_an_error(data_store, tmp_path):
    path = str(tmp_path / "cycle.h5")
    h5map = entry_map(
        1,
        {
            "a": {"type": "soft_link", "target_path": "b"},
            "b": {"type": "soft_link", "target_path": "/1.1/a"},
        },
    )
    make_scan(data_store, path, h5maps=h5map)
    with open_redis(path, data_store) as f, pytest.raises(KeyError, match="links"):
        f["1.1/a"]


# --- links -------------------------------------------------------------------------


def test_external_links_and_binary_datasets(data_store, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["group/data"] = np.arange(4)
    raw = tmp_path / "frames.bin"
    frames = np.arange(12, dtype="<u2").reshape(3, 4)
    raw.write_bytes(b"HEAD" + frames.tobytes())
    path = str(tmp_path / "main.h5")
    h5map = entry_map(
        1,
        {
            "ext": {"type": "external_link", "target_file": "other.h5", "target_path": "/group"},
            "raw": {
                "type": "external_binary_dataset",
                "dtype": "<u2",
                "shape": [3, 4],
                "files": [{"name": str(raw), "offset": 4, "size": frames.nbytes}],
            },
            "b64": {
                "type": "inline_b64",
                "dtype": ">f4",
                "shape": [2],
                "value": base64.b64encode(np.array([1.5, 2.5], ">f4").tobytes()).decode(),
            },
        },
    )
    make_scan(data_store, path, h5maps=h5map)
    with open_redis(path, data_store) as f:
        np.testing.assert_array_equal(f["1.1/ext/data"][1:], [1, 2, 3])
        assert f["1.1/ext"].file.filename == str(other)
        assert f["1.1/ext/data"].name == "/group/data"
        assert isinstance(f["1.1"].get("ext", getlink=True), h5py.ExternalLink)
        np.testing.assert_array_equal(f["1.1/raw"][1], frames[1])
        assert f["1.1/b64"].dtype == np.dtype(">f4")
        assert f["1.1/b64"][-1] == 2.5


# --- live semantics ----------------------------------------------------------------


def test_live_lengths_and_waiting(data_store, tmp_path):
    path = str(tmp_path / "live.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, {"x": {"type": "stream", "stream": "x"}}),
        streams={"x": ("int64", ())},
    )
    with open_redis(path, data_store) as f:
        x = f["1.1/x"]
        assert x.shape == (0,) and x.live
        with pytest.raises(IndexError):
            x[0]
        assert x.wait(1, timeout=0.05) is False
        send(scan, "x", np.arange(3))
        assert len(x) == 3 and list(x) == [0, 1, 2]

        def later():
            send(scan, "x", np.arange(3, 6))
            scan.stop()
            scan.close()

        thread = threading.Thread(target=later)
        with open_redis(path, data_store, wait_timeout=30) as waiting:
            thread.start()
            assert waiting["1.1/x"][5] == 5  # blocks until published
        thread.join()
        assert x.wait() is True and not x.live
        assert x[-1] == 5 and x.shape == (6,)


def test_iterating_a_live_dataset_follows_it_to_the_end(data_store, tmp_path):
    """With wait_timeout, ``for point in dataset`` goes on until the stream ends."""
    path = str(tmp_path / "follow.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, {"x": {"type": "stream", "stream": "x"}}),
        streams={"x": ("int64", ())},
    )
    send(scan, "x", np.arange(2))

    def later():
        for i in range(2, 6):
            time.sleep(0.02)
            send(scan, "x", np.array([i]))
        scan.stop()
        scan.close()

    thread = threading.Thread(target=later)
    with open_redis(path, data_store, wait_timeout=30) as f:
        x = f["1.1/x"]
        thread.start()
        assert list(x) == [0, 1, 2, 3, 4, 5]
    thread.join()
    with open_redis(path, data_store) as f:  # without wait_timeout: what is there now
        assert list(f["1.1/x"]) == [0, 1, 2, 3, 4, 5]


def test_empty_stream_dataset_vanishes_at_close_like_in_the_file(data_store, tmp_path):
    path = str(tmp_path / "empty.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, {"x": {"type": "stream", "stream": "x"}}),
        streams={"x": ("float32", (2,))},
    )
    with open_redis(path, data_store) as f:
        assert f["1.1/x"].shape == (0, 2)
        scan.stop()
        scan.close()
        assert "x" not in f["1.1"] and list(f["1.1"]) == []


# --- scans without h5maps -------------------------------------------------------------


def test_plain_scan_gets_a_default_tree(data_store, tmp_path):
    path = str(tmp_path / "plain.h5")
    scan = data_store.create_scan(
        {"name": "ct", "number": 7, "data_policy": "no_policy", "path": path},
        info={"title": "ct 0.1", "start_time": "2026-11-26T10:00:00+01:00"},
    )
    scan.create_stream(Stream.make_definition("axis:sx", "float64", ()))
    scan.create_stream(Stream.make_definition("timer:sx", "float64", ()))
    scan.create_stream(Stream.make_definition("diode", "int32", ()))
    scan.create_stream(Stream.make_definition("events", "json"))
    scan.prepare()
    scan.start()
    send(scan, "diode", np.arange(4, dtype=np.int32))
    with open_redis(path, data_store) as f:
        entry = f["7.1"]
        assert entry.attrs["NX_class"] == "NXentry"
        assert entry["title"][()] == b"ct 0.1"
        assert entry["start_time"][()] == b"2026-11-26T10:00:00+01:00"
        assert sorted(entry["measurement"]) == ["axis_sx", "diode", "timer_sx"]
        assert entry["measurement/diode"][-1] == 3
        assert entry["instrument/diode/data"].shape == (4,)
        out = io.StringIO()
        cli.tree(f, out)
        assert "/7.1/measurement/diode" in out.getvalue() and "{4} int32 (live)" in out.getvalue()


def test_cli_tree(data_store, redis_url, tmp_path, capsys):
    path = str(tmp_path / "cli.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(2, {"x": {"type": "stream", "stream": "x"}, "n": 3}),
        streams={"x": ("float64", (5,))},
    )
    send(scan, "x", np.zeros((2, 5)))
    assert cli.main(["tree", path, "--redis", redis_url, "--source", "redis", "--attrs"]) == 0
    out = capsys.readouterr().out
    assert "/2.1/x" in out and "{2, 5} float64 (live)" in out and "@NX_class = 'NXentry'" in out
    assert cli.main(["tree", str(tmp_path / "none.h5"), "--source", "file"]) == 1


def test_source_selection(data_store, tmp_path, monkeypatch):
    path = str(tmp_path / "sel.h5")
    with pytest.raises(ValueError, match="read-only"):
        blissdata_h5.File(path, "w", data_store=data_store)
    with pytest.raises(ValueError, match="source"):
        blissdata_h5.File(path, data_store=data_store, source="nope")
    monkeypatch.delenv("BLISSDATA_REDIS_URL", raising=False)
    with pytest.raises(ValueError, match="BLISSDATA_REDIS_URL"):
        blissdata_h5.File(path, source="redis")
    monkeypatch.setenv("BLISSDATA_REDIS_URL", data_store.url)
    with blissdata_h5.File(path, source="redis") as f:
        assert list(f) == [] and f.source == "redis"
    with pytest.raises(blissdata_h5.FileSourceError):
        blissdata_h5.File(path, source="file")["x"]


# --- free dimensions ---------------------------------------------------------------


def test_free_dimension_points_are_padded_like_the_writer(data_store, tmp_path):
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
    with open_redis(path, data_store) as f:
        assert f["1.1/f"].shape == (3, 3)
        np.testing.assert_array_equal(f["1.1/f"][0], [1.0, 2.0, np.nan])
        assert f["1.1/i"].shape == (2, 2, 3)
        np.testing.assert_array_equal(f["1.1/i"][0], [[1, 0, 0], [1, 0, 0]])
    scan.stop()
    scan.close()


# --- files being written -------------------------------------------------------------


def test_retry_timeout_waits_for_the_file(tmp_path):
    path = str(tmp_path / "later.h5")
    with pytest.raises(blissdata_h5.FileSourceError, match="later.h5"):
        blissdata_h5.File(path, source="file")["x"]
    ready = threading.Event()

    def write_later():
        ready.wait()
        with h5py.File(path + ".tmp", "w") as h5:
            h5["x"] = np.arange(3)
        os.rename(path + ".tmp", path)

    thread = threading.Thread(target=write_later)
    thread.start()
    with blissdata_h5.File(path, source="file", retry_timeout=60) as f:
        ready.set()
        assert f["x"][-1] == 2
    thread.join()


# --- several files per scan ------------------------------------------------------------


def test_master_file_named_by_scans_below_its_directory(data_store, tmp_path):
    master = str(tmp_path / "proposal.h5")
    dataset_file = str(tmp_path / "sample" / "sample_0001" / "sample_0001.h5")
    scan = data_store.create_scan(
        {"name": "ascan", "number": 4, "data_policy": "esrf", "path": dataset_file}
    )
    scan.create_stream(Stream.make_definition("diode", "float64", ()))
    info = scan.info
    info["h5maps"] = {
        dataset_file: entry_map(4, {"diode": {"type": "stream", "stream": "diode"}}),
        master: {
            "type": "group",
            "children": {
                "sample_0001_4.1": {
                    "type": "external_link",
                    "target_file": dataset_file,
                    "target_path": "/4.1",
                },
                "other": {
                    "type": "group",
                    "children": {"copy": {"type": "stream", "stream": "diode"}},
                },
            },
        },
    }
    scan.info = info
    scan.prepare()
    scan.start()
    send(scan, "diode", np.arange(3.0))
    with open_redis(master, data_store) as f:
        assert list(f) == ["sample_0001_4.1", "other"]
        assert f["sample_0001_4.1/diode"][2] == 2.0
        assert f["other/copy"].shape == (3,)
    with open_redis(dataset_file, data_store) as f:
        assert list(f) == ["4.1"]
    with open_redis(str(tmp_path / "unrelated.h5"), data_store) as f:
        assert list(f) == []


def test_auto_without_a_reachable_redis_reads_the_file(tmp_path):
    path = str(tmp_path / "offline.h5")
    with h5py.File(path, "w") as h5:
        h5["1.1/x"] = np.arange(3)
    unreachable = "redis://127.0.0.1:16799"  # our port range; nothing listens there
    with blissdata_h5.File(path, data_store=unreachable, source="auto") as f:
        assert f.source == "file" and f["1.1/x"][-1] == 2
    with pytest.raises(BlissdataError):
        blissdata_h5.File(path, data_store=unreachable, source="redis")


def test_a_scan_with_a_broken_root_does_not_hide_the_others(data_store, tmp_path, caplog):
    path = str(tmp_path / "mixed.h5")
    make_scan(data_store, path, 1, h5maps={"type": "soft_link", "target_path": "/x"})
    make_scan(data_store, path, 2, h5maps=entry_map(2, {"v": 1}))
    with open_redis(path, data_store) as f:
        assert list(f) == ["2.1"] and f["2.1/v"][()] == 1
    assert "root item must be a group" in caplog.text


def test_new_scans_appear_in_an_open_file(data_store, tmp_path):
    path = str(tmp_path / "growing.h5")
    make_scan(data_store, path, 1, h5maps=entry_map(1, {"v": 1}))
    with open_redis(path, data_store) as f:
        assert list(f) == ["1.1"]
        scan = make_scan(
            data_store,
            path,
            2,
            h5maps=entry_map(2, {"events": {"type": "stream", "stream": "events"}}),
            streams={"events": ("json", ())},
        )
        assert "2.1" in f and list(f) == ["1.1", "2.1"] and len(f) == 2
        # a JSON stream cannot back a dataset: a clear error naming the path
        with pytest.raises(blissdata_h5.H5MapError, match=r"/2\.1/events.*JSON"):
            f["2.1/events"]
        scan.stop()
        scan.close()


def test_a_symlinked_path_finds_the_same_scans(data_store, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (tmp_path / "alias").symlink_to(real_dir)
    make_scan(data_store, str(real_dir / "s.h5"), 1, h5maps=entry_map(1, {"v": 1}))
    with open_redis(str(tmp_path / "alias" / "s.h5"), data_store) as f:
        assert list(f) == ["1.1"]


@pytest.mark.parametrize(
    "item",
    [
        {"type": "inline", "dtype": "float64", "value": [1.0, None]},
        {"type": "inline", "dtype": "int8", "value": [[1], [None]]},
    ],
)
def test_null_inside_an_inline_value_is_refused(item):
    # it read as NaN here while the writer refused the map: both refuse it now
    with pytest.raises(blissdata_h5.H5MapError, match=r"/x: inline value holds null"):
        values.decode(item, "/x")
