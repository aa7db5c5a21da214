"""``blissdata-h5 serve``: h5grove's HTTP API over live scans and files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import h5py
import numpy as np
import pytest
from http_helpers import get, serving
from live_scan import LiveScan

pytest.importorskip("h5grove")
pytest.importorskip("tornado")

from h5grove.tornado_utils import get_handlers  # noqa: E402
from tornado.web import Application  # noqa: E402

from blissdata_h5.web.server import make_app  # noqa: E402

DIODE = "measurement/diode1"


def json_of(reply) -> object:
    assert reply.status == 200, reply
    return json.loads(reply.body)


@pytest.fixture
def written(data_store, tmp_path):
    """A closed scan, written to ``root/saved/done.h5``."""
    scan = LiveScan(data_store, str(tmp_path / "root" / "saved" / "done.h5"), npoints=6)
    scan.finish(data_store)
    return scan


@pytest.fixture
def running(data_store, tmp_path):
    """A scan still running, its file not written (Redis only): ``root/live/run.h5``."""
    scan = LiveScan(data_store, str(tmp_path / "root" / "live" / "run.h5"), npoints=20)
    scan.publish(4)
    return scan


def links_below(group: h5py.Group, prefix: str = "/") -> list[str]:
    """Every link name below ``group``, links not followed (h5py < 3.11 has no visit_links)."""
    names = []
    for key in group:
        name = f"{prefix}{key}"
        names.append(name)
        if isinstance(group.get(key, getlink=True), h5py.HardLink):
            child = group[key]
            if isinstance(child, h5py.Group):
                names += links_below(child, name + "/")
    return names


def every_request(path: str) -> list[tuple[str, dict]]:
    """Every endpoint with the arguments H5Web and users send, on every object of the file.

    Spelled as H5Web does (``/meta``; h5grove's tornado routes have no trailing slash).
    """
    requests: list[tuple[str, dict]] = [("/paths", {"path": "/"})]
    with h5py.File(path, "r") as h5:
        names = ["/", *links_below(h5)]
        for name in names:
            requests.append(("/meta", {"path": name}))
            requests.append(("/meta", {"path": name, "resolve_links": "none"}))
            link = h5.get(name, getlink=True) if name != "/" else None
            if isinstance(link, h5py.SoftLink | h5py.ExternalLink):
                continue
            obj = h5[name]
            requests.append(("/attr", {"path": name}))
            for key in list(obj.attrs)[:1]:
                requests.append(("/attr", {"path": name, "attr_keys": key}))
            if isinstance(obj, h5py.Group):
                requests.append(("/paths", {"path": name}))
                continue
            requests.append(("/data", {"path": name}))
            requests.append(("/data", {"path": name, "flatten": "true"}))
            if obj.dtype.kind in "iufb":
                requests.append(("/data", {"path": name, "format": "bin", "dtype": "safe"}))
                requests.append(("/data", {"path": name, "format": "npy"}))
                requests.append(("/stats", {"path": name}))
                if obj.ndim:
                    selection = "1:4" if obj.ndim == 1 else "1"
                    requests.append(("/data", {"path": name, "selection": selection}))
                    requests.append(("/data", {"path": name, "format": "csv"}))
                    requests.append(("/stats", {"path": name, "selection": "::2"}))
    return requests


def test_file_source_answers_exactly_as_h5grove(written, tmp_path):
    root = str(tmp_path / "root")
    relative = os.path.relpath(written.path, root)
    requests = every_request(written.path)
    assert len(requests) > 50
    ours_app = make_app([root])  # no Redis: the file source
    theirs_app = Application(get_handlers(root))
    with serving(ours_app) as ours, serving(theirs_app) as theirs:
        for endpoint, params in requests:
            mine = get(ours, endpoint, file=relative, **params)
            reference = get(theirs, endpoint, file=relative, **params)
            assert mine == reference, (endpoint, params)
            assert mine.status == 200, (endpoint, params, mine)
        for endpoint, params in [
            ("/meta", {"path": "/nothing/here"}),
            ("/data", {"path": f"/{written.entry}"}),
            ("/data", {"path": f"/{written.entry}/{DIODE}", "format": "nope"}),
            ("/meta", {"path": "/", "resolve_links": "sometimes"}),
            ("/attr", {"path": "/", "attr_keys": "missing"}),
        ]:
            mine = get(ours, endpoint, file=relative, **params)
            reference = get(theirs, endpoint, file=relative, **params)
            assert (mine.status, mine.body) == (reference.status, reference.body), params
        missing = get(ours, "/meta", file="saved/missing.h5", path="/")
        assert missing == get(theirs, "/meta", file="saved/missing.h5", path="/")
        assert missing.status == 404


def write_varied_file(path) -> None:
    """Types and layouts beyond the writer's: strings of every kind, compounds, enums, links."""
    with h5py.File(path, "w") as h5:
        h5.attrs["utf8"] = "é"
        h5.attrs["fixed"] = np.bytes_(b"abc")
        h5.attrs["vlen_ascii"] = np.array(b"xyz", dtype=h5py.string_dtype("ascii"))
        h5.attrs["strings"] = ["a", "bc"]
        h5.attrs["int"] = 3
        h5.attrs["floats"] = np.arange(3, dtype=">f4")
        h5.attrs["flag"] = True
        group = h5.create_group("group")
        group.attrs["NX_class"] = "NXcollection"
        group["image"] = np.arange(24, dtype="<u2").reshape(4, 6)
        group.create_dataset(
            "chunked", data=np.linspace(0, 1, 50), chunks=(10,), compression="gzip"
        )
        group["scalar"] = 1.5
        group["text"] = "hello"
        group["texts"] = np.array([b"a", b"bb"], dtype="S2")
        group["bools"] = np.array([True, False])
        group["compound"] = np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")])
        group["big_endian"] = np.arange(5, dtype=">i8")
        group["empty"] = h5py.Empty("f4")
        h5["soft"] = h5py.SoftLink("/group/image")
        h5["dangling"] = h5py.SoftLink("/nowhere")
        h5["external"] = h5py.ExternalLink("other.h5", "/x")


def test_file_source_answers_as_h5grove_on_varied_types(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    write_varied_file(root / "varied.h5")
    with h5py.File(root / "other.h5", "w") as other:
        other["x"] = np.arange(3)
    requests = every_request(str(root / "varied.h5"))
    requests += [
        ("/data", {"path": "/group/image", "format": "tiff"}),
        ("/data", {"path": "/group/image", "selection": "1:3,::2"}),
        ("/meta", {"path": "/external", "resolve_links": "all"}),
        ("/meta", {"path": "/dangling", "resolve_links": "all"}),
        ("/meta", {"path": "/soft", "resolve_links": "all"}),
    ]
    with serving(make_app([str(root)])) as ours:
        with serving(Application(get_handlers(str(root)))) as theirs:
            for endpoint, params in requests:
                mine = get(ours, endpoint, file="varied.h5", **params)
                reference = get(theirs, endpoint, file="varied.h5", **params)
                assert mine == reference, (endpoint, params)


def test_live_source_matches_the_file_apart_from_storage(data_store, written, tmp_path):
    """The scan's entry read from Redis: the same answers, except chunks and filters (no file).

    (The root group differs: the file's own attributes, such as its creation time, are the writer's.)
    """
    root = str(tmp_path / "root")
    relative = os.path.relpath(written.path, root)
    requests = [
        (endpoint, params)
        for endpoint, params in every_request(written.path)
        if params["path"].startswith(f"/{written.entry}")
    ]
    assert len(requests) > 50
    with serving(make_app([root], data_store, "redis")) as live:
        with serving(Application(get_handlers(root))) as theirs:
            for endpoint, params in requests:
                mine = get(live, endpoint, file=relative, **params)
                reference = get(theirs, endpoint, file=relative, **params)
                if endpoint == "/meta" and reference.status == 200:
                    mine_json, reference_json = json.loads(mine.body), json.loads(reference.body)
                    for meta in (mine_json, reference_json):
                        for item in [meta, *meta.get("children", [])]:
                            item.pop("chunks", None)
                            item.pop("filters", None)
                    assert mine_json == reference_json, params
                else:
                    assert mine == reference, (endpoint, params)


@pytest.mark.parametrize("source", ["auto", "redis"])
def test_every_endpoint_on_a_running_scan(data_store, running, tmp_path, source):
    root = str(tmp_path / "root")
    file = "live/run.h5"
    diode = f"/{running.entry}/{DIODE}"
    with serving(make_app([root], data_store, source)) as url:
        versions = []
        for count in (4, 7):
            if count > running.published:
                running.publish(count - running.published)
            version = json_of(get(url, "/version/", file=file))["version"]
            assert json_of(get(url, "/version/", file=file))["version"] == version  # no news
            versions.append(version)
            expected = running.values("diode:diode1")
            meta = json_of(get(url, "/meta/", file=file, path=diode))
            assert meta["kind"] == "dataset" and meta["shape"] == [count]
            assert meta["type"]["dtype"] == "<f8" and meta["chunks"] is None
            data = get(url, "/data/", file=file, path=diode, format="bin", dtype="safe")
            assert data.content_type == "application/octet-stream"
            np.testing.assert_array_equal(np.frombuffer(data.body, "<f8"), expected)
            assert json_of(get(url, "/data/", file=file, path=diode, selection="1:3")) == list(
                expected[1:3]
            )
            stats = json_of(get(url, "/stats/", file=file, path=diode))
            assert stats["max"] == expected.max() and stats["min"] == expected.min()
        assert versions[0] != versions[1]  # new points: the page refreshes
        entry = json_of(get(url, "/meta/", file=file, path=f"/{running.entry}"))
        assert {child["name"] for child in entry["children"]} >= {"measurement", "plotselect"}
        attrs = json_of(get(url, "/attr/", file=file, path=f"/{running.entry}/plotselect"))
        assert attrs["NX_class"] == "NXdata" and attrs["signal"] == "diode1"
        paths = json_of(get(url, "/paths/", file=file, path="/"))
        assert diode in paths and f"/{running.entry}/plotselect" in paths
        listing = json_of(get(url, "/files/"))
        assert {"file": file, "live": True} in listing["files"]
        assert get(url, "/meta/", file=file, path="/nope").status == 404


def test_one_url_scheme_for_live_and_saved_files(data_store, written, running, tmp_path):
    root = str(tmp_path / "root")
    with serving(make_app([root], data_store)) as url:
        listing = json_of(get(url, "/files/"))["files"]
        assert {"file": "live/run.h5", "live": True} in listing
        assert any(item["file"] == "saved/done.h5" for item in listing)
        for file, scan in (("live/run.h5", running), ("saved/done.h5", written)):
            raw = get(url, "/data/", file=file, path=f"/{scan.entry}/{DIODE}", format="npy")
            np.testing.assert_array_equal(
                np.load(__import__("io").BytesIO(raw.body)), scan.values("diode:diode1")
            )


def test_files_outside_the_roots_are_refused(data_store, written, tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside.h5"
    with h5py.File(outside, "w") as h5:
        h5["x"] = 1
    (root / "escape").symlink_to(tmp_path)
    (root / "link.h5").symlink_to(outside)
    with serving(make_app([str(root)], data_store)) as url:
        for name in (
            "../outside.h5",
            str(outside),
            "escape/outside.h5",
            "link.h5",
            "saved/../../outside.h5",
        ):
            reply = get(url, "/meta/", file=name, path="/")
            assert reply.status == 403, (name, reply)
            assert "outside the served directories" in json.loads(reply.body)["message"]
        assert get(url, "/meta/", file="saved/done.h5", path="/").status == 200
        assert get(url, "/meta/", path="/").status == 400  # no file argument
        assert get(url, "/meta/", file="saved/none.h5", path="/").status == 404


def test_several_roots(data_store, written, running, tmp_path):
    roots = [str(tmp_path / "root" / "saved"), str(tmp_path / "root" / "live")]
    with serving(make_app(roots, data_store)) as url:
        assert get(url, "/meta/", file="done.h5", path="/").status == 200
        assert get(url, "/meta/", file="run.h5", path=f"/{running.entry}").status == 200
        assert get(url, "/meta/", file="../saved/done.h5", path="/").status == 200  # in a root


def test_cli_prints_the_url_and_stops_on_sigterm(redis_url, written, tmp_path):
    root = str(tmp_path / "root")
    proc = subprocess.Popen(
        [sys.executable, "-m", "blissdata_h5.cli", "serve", redis_url, "--root", root],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), (line, proc.stderr.read())
        assert get(line, "/meta/", file="saved/done.h5", path="/").status == 200
        page = get(line, "/")
        assert page.status == 200 and b"<script" in page.body  # the page ships built
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_cors_origin_as_h5grove(written, tmp_path):
    root = str(tmp_path / "root")
    with serving(make_app([root], allow_origin="*")) as url:
        with urllib.request.urlopen(f"{url}/meta/?file=saved/done.h5&path=/") as reply:
            assert reply.headers["Access-Control-Allow-Origin"] == "*"


def test_cli_refuses_a_missing_root(tmp_path):
    from blissdata_h5.cli import main

    assert main(["serve", "--root", str(tmp_path / "none")]) == 2
