"""``blissdata ls``, ``search`` and ``show`` against a real server (through main(argv))."""

import numpy as np
import pytest

from blissdata_core import Stream
from blissdata_core.cli import main
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.streams.plugins.scan_sequence import ScanSequenceStream


def make_scan(ds, number, name="ascan", close=True, **identity):
    ident = {"name": name, "number": number, "data_policy": "no_policy", **identity}
    scan = ds.create_scan(ident, info={"title": f"{name} {number}", "npoints": 3})
    if close:
        scan.prepare()
        scan.start()
        scan.stop()
        scan.close()
    return scan


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def keys_in(out):
    return [word for word in out.split() if word.startswith("esrf:scan:")]


def test_ls_newest_first(data_store, redis_url, capsys):
    scans = [make_scan(data_store, n, path=f"/data/s{n}.h5") for n in range(1, 5)]
    running = make_scan(data_store, 5, "loopscan", close=False)
    code, out, _ = run(capsys, "ls", redis_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["KEY", "STATE", "NAME", "NUMBER", "PATH"]
    assert keys_in(out) == [running.key] + [s.key for s in reversed(scans)]
    assert lines[1].split() == [running.key, "CREATED", "loopscan", "5", "-"]
    assert lines[2].split() == [scans[-1].key, "CLOSED", "ascan", "4", "/data/s4.h5"]
    code, out, _ = run(capsys, "ls", redis_url, "-n", "2")
    assert keys_in(out) == [running.key, scans[-1].key]


def test_ls_skips_deleted_scans_and_reads_the_env(data_store, redis_url, capsys, monkeypatch):
    kept = make_scan(data_store, 1)
    gone = make_scan(data_store, 2)
    data_store.delete_scan(gone.key)
    monkeypatch.setenv("BLISSDATA_REDIS_URL", redis_url)
    code, out, _ = run(capsys, "ls", "-n", "1")
    assert code == 0 and keys_in(out) == [kept.key]


def test_ls_empty_and_errors(redis_url, capsys, monkeypatch):
    code, out, _ = run(capsys, "ls", redis_url)
    assert (code, out.strip()) == (0, "no scans")
    monkeypatch.delenv("BLISSDATA_REDIS_URL", raising=False)
    code, _, err = run(capsys, "ls")
    assert code == 1 and "BLISSDATA_REDIS_URL" in err
    with pytest.raises(SystemExit):
        main(["ls", redis_url, "-n", "0"])


def test_search(data_store, redis_url, capsys):
    a = make_scan(data_store, 1, "loopscan", session="demo", path="/data/id00/a.h5")
    b = make_scan(data_store, 2, "loopscan", session="demo", path="/data/id00/b.h5")
    c = make_scan(data_store, 2, "ascan", session="other")
    code, out, _ = run(capsys, "search", "name=loopscan", "--url", redis_url)
    assert code == 0 and keys_in(out) == [b.key, a.key]
    code, out, _ = run(capsys, "search", "number=2", "--url", redis_url)
    assert keys_in(out) == [c.key, b.key]
    code, out, _ = run(capsys, "search", "name=loop*", "number=1", "--url", redis_url)
    assert keys_in(out) == [a.key]
    code, out, _ = run(capsys, "search", "path=/data/id00/*", "--url", redis_url)
    assert keys_in(out) == [b.key, a.key]
    code, out, err = run(capsys, "search", "session=nobody", "--url", redis_url)
    assert code == 1 and "no scan matches" in err and not keys_in(out)


@pytest.mark.parametrize(
    "condition, message",
    [("name", "FIELD=VALUE"), ("colour=red", "unknown field"), ("number=three", "integer"),
     ("name=a*b", "Wildcards")],
)  # fmt: skip
def test_search_bad_conditions(redis_url, capsys, condition, message):
    code, _, err = run(capsys, "search", condition, "--url", redis_url)
    assert code == 1 and message in err


def test_show(data_store, redis_url, capsys, tmp_path):
    scan = data_store.create_scan(
        {"name": "ascan", "number": 7, "data_policy": "no_policy", "session": "demo"},
        info={
            "title": "ascan sx 0 1 4 0.1",
            "h5maps": {f"/f{i}.h5": {"x": "y" * 50} for i in range(5)},
        },
    )
    sx = scan.create_stream(Stream.make_definition("axis:sx", "float64"))
    mca = scan.create_stream(Stream.make_definition("mca", "uint32", (16,)))
    scan.create_stream(Stream.make_definition("events", "json"))
    scan.create_stream(ScanSequenceStream.make_definition("scans"))
    scan.create_stream(
        LimaStream.make_definition("lima:image", "uint16", (4, 5), "id00/lima/sim", 0, 5, 0)
    )
    scan.prepare()
    scan.start()
    sx.send(np.arange(4.0))
    mca.send(np.zeros((2, 16), dtype=np.uint32))
    mca.seal()
    sx.join()
    code, out, _ = run(capsys, "show", scan.key, "--url", redis_url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["key", scan.key]
    assert ["state", "STARTED"] in [ln.split() for ln in lines]
    assert ["session", "demo"] in [ln.split() for ln in lines]
    assert any(ln.split()[:2] == ["title", '"ascan'] for ln in lines)
    assert any(ln.split()[:3] == ["h5maps", "{5", "keys:"] for ln in lines)
    table = {
        ln.split()[0]: ln.split() for ln in lines if ln.split() and ln.split()[0] in scan.streams
    }
    assert table["axis:sx"] == ["axis:sx", "-", "array", "float64", "()", "4", "no"]
    assert table["mca"] == ["mca", "-", "array", "uint32", "(16,)", "2", "yes"]
    assert table["events"] == ["events", "-", "json", "object", "()", "0", "no"]
    assert table["scans"] == ["scans", "scan_sequence", "scan", "object", "()", "0", "no"]
    assert table["lima:image"] == ["lima:image", "lima", "array", "uint16", "(4,5)", "0", "no"]
    scan.stop()
    code, out, _ = run(capsys, "show", "last", "--url", redis_url)
    assert code == 0 and scan.key in out and "STOPPED" in out


def test_show_created_scan_and_missing_scan(data_store, redis_url, capsys):
    scan = make_scan(data_store, 1, close=False)
    code, out, _ = run(capsys, "show", scan.key, "--url", redis_url)
    assert code == 0 and "none yet" in out
    code, _, err = run(capsys, "show", "esrf:scan:01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--url", redis_url)
    assert code == 1 and "does not exist" in err
