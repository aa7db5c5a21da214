"""Wire compatibility with the TypeScript client (packages/blissdata-js), both ways.

The TS client runs its conformance driver (``node dist/driver.js``, built with
``npm ci`` and ``tsc`` when needed); it follows a scan this client publishes
with a cursor group, and publishes a scan that this client follows.
"""

from __future__ import annotations

import base64
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from blissdata_core import CursorGroup, EndOfStream, ScanState, Stream

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                       reason="Node.js and npm are needed for the TypeScript client"),
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[3]
if not (ROOT / "tools" / "conformance").is_dir():  # an installed package, without the checkout
    pytest.skip(
        "tools/conformance is not available outside the source tree", allow_module_level=True
    )

# point shape, dtype, sends (each one point or a batch along the first axis)
NUMERIC = {
    "f8": ("<f8", (), [np.float64(1.5), np.array([np.nan, -0.0, np.inf], "<f8")]),
    "i8be": (">i8", (2,), [np.array([[-(2**63), 2**63 - 1]], ">i8"), np.array([1, 2], ">i8")]),
    "u8": ("<u8", (), [np.array([2**64 - 1, 0, 2**53 + 1], "<u8")]),
    "f2": ("<f2", (), [np.array([1.5, 65504, -np.inf], "<f2"), np.float16(-0.0)]),
    "c16be": (">c16", (2,), [np.array([[1 + 2j, np.nan - 1j]], ">c16"), np.array([0j, -3.5j], ">c16")]),
    "c8": ("<c8", (), [np.array([1 - 1j, 2.5 + 0j], "<c8")]),
    "b1": ("|b1", (3,), [np.array([[True, False, True], [False, False, True]])]),
    "ragged": ("<i2", (-1,), [np.arange(3, dtype="<i2"), np.arange(10, dtype="<i2").reshape(2, 5)]),
    "img": ("<u2", (2, -1), [np.arange(8, dtype="<u2").reshape(1, 2, 4), np.arange(4, dtype="<u2").reshape(2, 2)]),
}  # fmt: skip
JSON_SENDS = [{"a": 1, "b": [1.5, None]}, "h\u00e9llo \U0001f600", [], None, 3]


def _expected() -> dict[str, list]:
    out: dict[str, list] = {}
    for name, (dtype, shape, sends) in NUMERIC.items():
        pts: list[np.ndarray] = []
        for s in sends:
            a = np.asarray(s, dtype=dtype)
            pts.extend([a] if a.ndim == len(shape) else list(a))
        out[name] = pts
    out["events"] = list(JSON_SENDS)
    return out


def _array(r: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(r["base64"]), dtype=r["dtype"]).reshape(r["shape"])


def _same(want: np.ndarray, have: np.ndarray) -> bool:
    """Same kind, item size, shape and bits (in one byte order: NaN and -0.0 count)."""
    return (
        want.dtype.kind == have.dtype.kind
        and want.dtype.itemsize == have.dtype.itemsize
        and want.shape == have.shape
        and have.astype(want.dtype).tobytes() == want.tobytes()
    )


@pytest.fixture(scope="module")
def ts_driver():
    from tools.conformance.ts_adapter import TsAdapter, build

    build()
    adapter = TsAdapter()
    yield adapter.driver
    adapter.close()


def _repr(a: np.ndarray) -> dict:
    a = np.asarray(a)
    return {"array": {"dtype": a.dtype.str, "shape": list(a.shape),
                      "base64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()}}  # fmt: skip


def test_python_producer_ts_cursor_group(data_store, redis_url):
    """The TS cursor group follows a live Python scan to its end; every point is equal."""
    from tools.conformance.ts_adapter import TsAdapter, build

    build()
    adapter = TsAdapter()
    try:
        since = data_store.get_last_scan_timetag()
        adapter.driver.send({"op": "follow", "url": redis_url, "since": since, "timeout": 30})
        scan = data_store.create_scan({"name": "to-ts", "number": 1, "data_policy": "no_policy"})
        streams = {
            name: scan.create_stream(Stream.make_definition(name, dtype, shape))
            for name, (dtype, shape, _) in NUMERIC.items()
        }
        streams["events"] = scan.create_stream(Stream.make_definition("events", "json"))
        scan.prepare()
        scan.start()
        for i in range(max(len(s) for _, _, s in NUMERIC.values())):
            for name, (_, _, sends) in NUMERIC.items():
                if i < len(sends):
                    streams[name].send(sends[i])
            for name in NUMERIC:
                streams[name].join()
        for value in JSON_SENDS:
            streams["events"].send(value)
        scan.stop()
        scan.info["end_reason"] = "SUCCESS"
        scan.close()
        reply = adapter.driver.receive()
    finally:
        adapter.close()
    assert reply["key"] == scan.key
    assert reply["state"] == ScanState.CLOSED
    assert reply["info"]["end_reason"] == "SUCCESS"
    expected = _expected()
    assert set(reply["points"]) == set(expected)
    for name, pts in expected.items():
        got = reply["points"][name]
        assert len(got) == len(pts), name
        if name == "events":
            assert [g["json"] for g in got] == pts
            continue
        for k, (w, g) in enumerate(zip(pts, got)):
            assert _same(w, _array(g["array"])), (name, k, w, _array(g["array"]))


def test_ts_producer_python_cursor_group(data_store, redis_url):
    """A Python cursor group follows a live TS scan to its end; every point is equal."""
    from tools.conformance.ts_adapter import TsAdapter, build

    build()
    adapter = TsAdapter()
    since = data_store.get_last_scan_timetag()
    found: dict = {}

    def follow() -> None:
        timetag, key = data_store.get_next_scan(since=since, timeout=30)
        scan = data_store.load_scan(key)
        while scan.state < ScanState.PREPARED:
            scan.update(timeout=30)
        group = CursorGroup(scan.streams)
        points: dict[str, list] = {name: [] for name in scan.streams}
        while True:
            try:
                views = group.read(timeout=30)
            except EndOfStream:
                break
            for stream, view in views.items():
                points[stream.name].extend(view.get_data())
        while scan.state < ScanState.CLOSED:
            scan.update(timeout=30)
        found.update(key=key, points=points, info=scan.info, state=scan.state)

    thread = threading.Thread(target=follow)
    thread.start()
    try:
        reply = adapter.driver.request(
            {
                "op": "produce",
                "url": redis_url,
                "identity": {"name": "from-ts", "number": 7, "data_policy": "no_policy"},
                "info": {"title": "published by blissdata-js"},
                "info_at_close": {"end_reason": "SUCCESS"},
                "pause_ms": 20,
                "streams": [
                    {"name": name, "dtype": dtype, "shape": list(shape),
                     "sends": [_repr(np.asarray(s, dtype=dtype)) for s in sends]}
                    for name, (dtype, shape, sends) in NUMERIC.items()
                ] + [{"name": "events", "dtype": "json", "shape": None,
                      "sends": [{"json": v} for v in JSON_SENDS]}],
            }
        )  # fmt: skip
    finally:
        thread.join(60)
        adapter.close()
    assert found["key"] == reply["key"]
    assert found["state"] == ScanState.CLOSED
    assert found["info"] == {"title": "published by blissdata-js", "end_reason": "SUCCESS"}
    scan = data_store.load_scan(reply["key"])
    expected = _expected()
    for name, pts in expected.items():
        got = found["points"][name]
        assert len(got) == len(pts), name
        if name == "events":
            assert got == pts
            continue
        for k, (w, g) in enumerate(zip(pts, got)):
            assert _same(w, np.asarray(g)), (name, k, w, g)
        # what the TS producer declared: the same encoding and info a Python producer writes
        stream = scan.streams[name]
        dtype, shape, _ = NUMERIC[name]
        assert stream.event_stream.encoding == {
            "type": "numeric",
            "dtype_str": dtype,
            "shape": list(shape),
        }


PUBLISH_ERROR_JS = """
const { DataStore, makeDefinition, NDArray } = require(process.argv[2]);
(async () => {
  const ds = await DataStore.connect(process.argv[1]);
  const scan = await ds.createScan({ name: "perr", number: 1, data_policy: "no_policy" });
  const s = scan.createStream(makeDefinition("s", "<f8", []));
  await scan.prepare(); await scan.start();
  await ds.conn.call("XADD", s.key, "100-1", "payload", Buffer.alloc(8));  // another writer
  s.send(NDArray.from([1, 2], "<f8"));
  await scan.stop(); await scan.close();
  console.log(scan.key);
  await ds.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_ts_publish_errors_read_here(data_store, redis_url):
    """A TS scan whose stream lost points is still closed, its stream sealed and listed."""
    import subprocess

    from tools.conformance.ts_adapter import JS_PACKAGE, build

    build()
    dist = str(JS_PACKAGE / "dist" / "index.js")
    key = subprocess.run(
        ["node", "-e", PUBLISH_ERROR_JS, redis_url, dist],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    scan = data_store.load_scan(key)
    assert scan.state == ScanState.CLOSED
    assert scan.publish_errors["s"]["lost"] == 2
    assert scan.streams["s"].is_sealed() and len(scan.streams["s"]) == 101
