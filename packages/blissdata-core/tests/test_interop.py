"""Wire compatibility with the reference client (blissdata 2.4.5, in its own venv)."""

import json
import textwrap

import numpy as np
import pytest
import redis

from blissdata_core import CursorGroup, DataStore, EndOfStream, ScanState, Stream
from blissdata_core.testing import run_reference

pytestmark = pytest.mark.interop

DTYPES = [
    "?",
    "<i1",
    ">i2",
    "<i4",
    ">i8",
    "<u1",
    ">u2",
    "<u4",
    "<u8",
    "<f2",
    ">f4",
    "<f8",
    "<c8",
    ">c16",
]

REF_PUBLISH = textwrap.dedent(
    """
    import sys, json, numpy as np
    from blissdata.redis_engine.store import DataStore
    from blissdata.streams.base import Stream
    ds = DataStore(sys.argv[1])
    dtypes = json.loads(sys.argv[2])
    scan = ds.create_scan({"name": "refscan", "number": 11, "data_policy": "no_policy",
                           "path": "/tmp/ref.h5", "session": "s1"}, info={"title": "from reference"})
    streams = {}
    for i, dt in enumerate(dtypes):
        streams[f"n{i}"] = scan.create_stream(Stream.make_definition(f"n{i}", dt, (2,)))
    dyn = scan.create_stream(Stream.make_definition("dyn", "int16", (-1,)))
    js = scan.create_stream(Stream.make_definition("js", "json"))
    scan.prepare(); scan.start()
    for i, dt in enumerate(dtypes):
        data = (np.arange(10) % 2).astype(dt).reshape(5, 2) if dt == "?" else np.arange(10).astype(dt).reshape(5, 2)
        streams[f"n{i}"].send(data[:2])
        streams[f"n{i}"].send(data[2])
        streams[f"n{i}"].send(data[3:])
    dyn.send(np.arange(3, dtype="int16")); dyn.send(np.arange(6, dtype="int16").reshape(2, 3))
    js.send({"a": 1}); js.send([1, "x", None])
    scan.stop(); scan.info["end_reason"] = "SUCCESS"; scan.close()
    print(scan.key)
    """
)


def test_reference_scan_read_here(data_store, redis_url):
    key = run_reference(REF_PUBLISH, redis_url, json.dumps(DTYPES)).strip().splitlines()[-1]
    scan = data_store.load_scan(key)
    assert scan.state is ScanState.CLOSED
    assert (scan.name, scan.number, scan.path, scan.session) == ("refscan", 11, "/tmp/ref.h5", "s1")
    assert scan.info == {"title": "from reference", "end_reason": "SUCCESS"}
    for i, dt in enumerate(DTYPES):
        stream = scan.streams[f"n{i}"]
        expected = ((np.arange(10) % 2) if dt == "?" else np.arange(10)).astype(dt).reshape(5, 2)
        assert stream.dtype == np.dtype(dt)
        assert len(stream) == 5 and stream.is_sealed()
        np.testing.assert_array_equal(stream[:], expected)
        assert stream[:].dtype == np.dtype(dt)
        np.testing.assert_array_equal(stream[-1], expected[-1])
    assert [p.tolist() for p in scan.streams["dyn"][:]] == [[0, 1, 2], [0, 1, 2], [3, 4, 5]]
    assert scan.streams["js"][:] == [{"a": 1}, [1, "x", None]]
    assert data_store.search_existing_scans(session="s1")[1] == [key]
    assert data_store.get_last_scan()[1] == key


REF_READ = textwrap.dedent(
    """
    import sys, json, numpy as np
    from blissdata.redis_engine.store import DataStore
    ds = DataStore(sys.argv[1])
    scan = ds.load_scan(sys.argv[2])
    out = {"state": int(scan.state), "name": scan.name, "number": scan.number, "info": scan.info,
           "streams": {}}
    for name, stream in scan.streams.items():
        data = stream[:]
        if isinstance(data, np.ndarray):
            value = {"dtype": data.dtype.str, "shape": list(data.shape), "data": data.tolist()}
        elif data and isinstance(data[0], np.ndarray):
            value = {"ragged": [d.tolist() for d in data]}
        else:
            value = {"json": data}
        value["len"] = len(stream)
        value["sealed"] = stream.is_sealed()
        out["streams"][name] = value
    _, keys = ds.search_existing_scans(name="ourscan")
    out["search"] = keys
    print(json.dumps(out, default=str))
    """
)


def test_our_scan_read_by_reference(data_store, redis_url):
    scan = data_store.create_scan(
        {"name": "ourscan", "number": 5, "data_policy": "no_policy", "path": "/tmp/ours.h5"},
        info={"title": "from core", "nan": float("nan")},
    )
    numeric = {}
    for i, dt in enumerate(DTYPES):
        numeric[f"n{i}"] = scan.create_stream(Stream.make_definition(f"n{i}", dt, (3,)))
    dyn = scan.create_stream(Stream.make_definition("dyn", "float32", (-1,)))
    js = scan.create_stream(Stream.make_definition("js", "json"))
    scan.prepare()
    scan.start()
    for i, dt in enumerate(DTYPES):
        data = ((np.arange(12) % 2) if dt == "?" else np.arange(12)).astype(dt).reshape(4, 3)
        for row in data:
            numeric[f"n{i}"].send(row)
    dyn.send(np.arange(2, dtype="float32"))
    dyn.send(np.arange(5, dtype="float32"))
    js.send({"k": [1, 2]})
    scan.stop()
    scan.close()
    out = json.loads(run_reference(REF_READ, redis_url, scan.key).strip().splitlines()[-1])
    assert out["state"] == 4 and out["name"] == "ourscan" and out["number"] == 5
    assert out["info"] == {"title": "from core", "nan": None}
    assert out["search"] == [scan.key]
    for i, dt in enumerate(DTYPES):
        got = out["streams"][f"n{i}"]
        assert got["dtype"] == np.dtype(dt).str and got["shape"] == [4, 3]
        assert got["len"] == 4 and got["sealed"]
        expected = ((np.arange(12) % 2) if dt == "?" else np.arange(12)).astype(dt).reshape(4, 3)
        if np.dtype(dt).kind == "c":
            continue  # complex values do not survive tolist()/JSON; dtype and shape checked
        assert got["data"] == expected.tolist()
    assert out["streams"]["dyn"]["ragged"] == [[0.0, 1.0], [0.0, 1.0, 2.0, 3.0, 4.0]]
    assert out["streams"]["js"]["json"] == [{"k": [1, 2]}]


def test_scan_closed_after_a_publish_failure_read_by_reference(data_store, redis_url,
                                                              fail_publication):  # fmt: skip
    """The document member publish_errors (spec revision 3) leaves the scan readable there."""
    from blissdata_core import PublishError

    scan = data_store.create_scan({"name": "ourscan", "number": 6, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    scan.start()
    x.send(1.0)
    x.join()
    repair = fail_publication(x)
    x.send(2.0)
    with pytest.raises(PublishError):
        x.join()
    repair()
    scan.stop()
    scan.close()
    assert scan.publish_errors["x"]["lost"] == 1
    out = json.loads(run_reference(REF_READ, redis_url, scan.key).strip().splitlines()[-1])
    assert out["state"] == 4
    assert out["streams"]["x"] == {
        "dtype": "<f8", "shape": [1], "data": [1.0], "len": 1, "sealed": True
    }  # fmt: skip


def test_database_initialised_by_reference(redis_url):
    redis.Redis.from_url(redis_url).flushall()
    run_reference(
        "import sys; from blissdata.redis_engine.store import DataStore; DataStore(sys.argv[1], init_db=True)",
        redis_url,
    )
    ds = DataStore(redis_url)
    scan = ds.create_scan({"name": "x", "number": 1, "data_policy": "p"})
    s = scan.create_stream(Stream.make_definition("v", "float64"))
    scan.prepare()
    s.send(1.5)
    assert s.seal() == 1
    assert ds.search_existing_scans(name="x")[1] == [scan.key]


def test_our_database_used_by_reference(data_store, redis_url):
    script = textwrap.dedent(
        """
        import sys
        from blissdata.redis_engine.store import DataStore
        from blissdata.streams.base import Stream
        ds = DataStore(sys.argv[1])
        scan = ds.create_scan({"name": "byref", "number": 2, "data_policy": "p"})
        s = scan.create_stream(Stream.make_definition("v", "float64"))
        scan.prepare(); scan.start(); s.send(2.5); scan.stop(); scan.close()
        print(ds.search_existing_scans(name="byref")[1][0])
        """
    )
    key = run_reference(script, redis_url).strip().splitlines()[-1]
    assert data_store.load_scan(key).streams["v"][0] == 2.5


def test_live_cursor_on_reference_publication(data_store, redis_url):
    import subprocess

    from blissdata_core.testing import reference_python_path

    script = textwrap.dedent(
        """
        import sys, time, numpy as np
        from blissdata.redis_engine.store import DataStore
        from blissdata.streams.base import Stream
        ds = DataStore(sys.argv[1])
        scan = ds.create_scan({"name": "live", "number": 1, "data_policy": "p"})
        a = scan.create_stream(Stream.make_definition("a", "int64"))
        b = scan.create_stream(Stream.make_definition("b", "float32", (4,)))
        scan.prepare(); scan.start()
        for i in range(200):
            a.send(i); b.send(np.full(4, i, "float32"))
            if i % 50 == 0: time.sleep(0.05)
        scan.stop(); scan.close()
        """
    )
    since = data_store.get_last_scan_timetag()
    try:
        python = reference_python_path()
    except Exception as exc:
        pytest.skip(str(exc))
    proc = subprocess.Popen([str(python), "-c", script, redis_url])
    try:
        _, key = data_store.get_next_scan(since=since, timeout=60)
        scan = data_store.load_scan(key)
        while scan.state < ScanState.PREPARED:
            scan.update(timeout=30)
        group = CursorGroup(scan.streams)
        got = {"a": [], "b": []}
        while True:
            try:
                views = group.read(timeout=30)
            except EndOfStream:
                break
            for stream, view in views.items():
                got[stream.name].extend(view.get_data().tolist())
        assert got["a"] == list(range(200))
        assert [row[0] for row in got["b"]] == list(range(200))
    finally:
        proc.wait(60)


def test_reference_live_cursor_on_our_publication(data_store, redis_url):
    import subprocess
    import sys  # noqa: F401

    from blissdata_core.testing import reference_python_path

    script = textwrap.dedent(
        """
        import sys, json
        from blissdata.redis_engine.store import DataStore
        from blissdata.redis_engine.scan import ScanState
        from blissdata.streams.base import CursorGroup
        from blissdata.exceptions import EndOfStream
        ds = DataStore(sys.argv[1])
        _, key = ds.get_next_scan(since=sys.argv[2], timeout=60)
        scan = ds.load_scan(key)
        while scan.state < ScanState.PREPARED:
            scan.update(timeout=30)
        group = CursorGroup(scan.streams)
        got = {}
        while True:
            try:
                views = group.read(timeout=30)
            except EndOfStream:
                break
            for stream, view in views.items():
                got.setdefault(stream.name, []).extend(
                    v if isinstance(v, (dict, list)) else float(v) for v in view.get_data())
        print(json.dumps(got))
        """
    )
    try:
        python = reference_python_path()
    except Exception as exc:
        pytest.skip(str(exc))
    since = data_store.get_last_scan_timetag()
    proc = subprocess.Popen(
        [str(python), "-c", script, redis_url, since], stdout=subprocess.PIPE, text=True
    )
    scan = data_store.create_scan({"name": "ours-live", "number": 1, "data_policy": "p"})
    a = scan.create_stream(Stream.make_definition("a", "int64"))
    e = scan.create_stream(Stream.make_definition("e", "json"))
    scan.prepare()
    scan.start()
    for i in range(500):
        a.send(i)
        if i % 100 == 0:
            e.send({"i": i})
    scan.stop()
    scan.close()
    out, _ = proc.communicate(timeout=120)
    got = json.loads(out.strip().splitlines()[-1])
    assert got["a"] == [float(i) for i in range(500)]
    assert got["e"] == [{"i": i} for i in range(0, 500, 100)]
