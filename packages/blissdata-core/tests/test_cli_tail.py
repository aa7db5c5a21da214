"""``blissdata tail``: following a scan live, in process and as a subprocess (Ctrl-C)."""

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

from blissdata_core import Stream
from blissdata_core.cli import main
from blissdata_core.streams.plugins.lima import LimaStream
from blissdata_core.streams.plugins.scan_sequence import ScanSequenceStream


def new_scan(ds, number=1, name="ascan"):
    return ds.create_scan({"name": name, "number": number, "data_policy": "no_policy"})


def tail_process(redis_url, *args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "blissdata_core.cli", "tail", *args, "--url", redis_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal delivers it: a runner started in the background
        # (nohup, `cmd &` in a script) hands its children SIGINT ignored
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_tail_of_a_finished_scan(data_store, redis_url, capsys):
    scan = new_scan(data_store)
    sx = scan.create_stream(Stream.make_definition("axis:sx", "float64"))
    mca = scan.create_stream(Stream.make_definition("mca", "uint32", (8,)))
    ev = scan.create_stream(Stream.make_definition("events", "json"))
    scan.prepare()
    scan.start()
    sx.send(np.array([0.0, 0.25, 0.5]))
    mca.send(np.arange(16, dtype=np.uint32).reshape(2, 8))
    ev.send({"msg": "hello"})
    scan.stop()
    assert main(["tail", scan.key, "--url", redis_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "axis:sx  [0..2]  [0, 0.25, 0.5]",
        'events  [0]  [{"msg":"hello"}]',
        "mca  [0..1]  2 x 8 uint32 min=0 max=15",
        f"-- end of scan {scan.key} (STOPPED)",
    ]


def test_tail_selected_streams_and_errors(data_store, redis_url, capsys):
    scan = new_scan(data_store)
    a = scan.create_stream(Stream.make_definition("a", "int64"))
    scan.create_stream(Stream.make_definition("b", "int64"))
    scan.prepare()
    scan.start()
    a.send(np.arange(20))
    scan.stop()
    assert main(["tail", scan.key, "a", "--url", redis_url, "--last-only"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["a  [19]  [19]", f"-- end of scan {scan.key} (STOPPED)"]
    assert main(["tail", scan.key, "nope", "--url", redis_url]) == 1
    err = capsys.readouterr().err
    assert "no stream 'nope'" in err and "a, b" in err


def test_tail_lima_and_scan_sequence(data_store, redis_url, capsys, tmp_path):
    scan = new_scan(data_store, 1, "sequence")
    seq = scan.create_stream(ScanSequenceStream.make_definition("scans"))
    saving = {"file_path": str(tmp_path / "f_%02d.h5"), "data_path": "/d", "file_format": "HDF5",
              "file_offset": 0, "frames_per_file": 2}  # fmt: skip
    lima = scan.create_stream(
        LimaStream.make_definition("lima:image", "uint16", (2, 2), "x", 0, 3, 0, saving)
    )
    live = scan.create_stream(
        LimaStream.make_definition("live:image", "uint16", (2, 2), "x", 0, 3, 0)
    )
    scan.prepare()
    scan.start()
    child = new_scan(data_store, 2)
    seq.send(child)
    for number, count in ((0, 2), (1, 1)):
        with h5py.File(saving["file_path"] % number, "w") as f:
            f["/d"] = np.zeros((count, 2, 2), dtype=np.uint16)
    lima.send_status(2, 2)
    live.send_status(0)
    scan.stop()
    assert main(["tail", scan.key, "--url", redis_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "lima:image  [0..2]  3 frame(s) in f_00.h5, f_01.h5",
        "live:image  [0]  1 frame(s), not saved (live only)",
        f'scans  [0]  ["{child.key}"]',
    ]


def test_tail_follows_live_data_until_the_scan_ends(data_store, redis_url):
    scan = new_scan(data_store)
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    proc = tail_process(redis_url, scan.key)  # may start before the scan is prepared
    try:
        scan.prepare()
        scan.start()
        diode.send(1.5)
        diode.join()
        assert proc.stdout.readline().rstrip("\n") == "diode  [0]  [1.5]"
        diode.send(2.5)
        diode.join()
        assert proc.stdout.readline().rstrip("\n") == "diode  [1]  [2.5]"
        scan.stop()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert len(out.splitlines()) == 1
    assert out.startswith(f"-- end of scan {scan.key} (")  # STOPPED, unless the reader was quicker


def test_ctrl_c_exits_cleanly(data_store, redis_url):
    scan = new_scan(data_store)
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    scan.prepare()
    scan.start()
    diode.send(0.0)
    diode.join()
    proc = tail_process(redis_url, scan.key)
    try:
        assert proc.stdout.readline().startswith("diode  [0]")  # now blocked reading
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err
    scan.stop()


@pytest.mark.parametrize("key", ["last", "esrf:scan:01ZZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_tail_unknown_scan(redis_url, capsys, key):
    assert main(["tail", key, "--url", redis_url]) == 1
    assert "blissdata tail:" in capsys.readouterr().err


def test_tail_stops_at_a_closed_scan_with_unsealed_streams(data_store, redis_url, capsys):
    """A producer that died leaves streams open; whoever closes the scan does not seal them."""
    scan = new_scan(data_store)
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    scan.prepare()
    scan.start()
    diode.send(np.arange(3.0))
    diode.join()
    data_store.load_scan_for_writing(scan.key).close()  # another process closes it
    assert not diode.is_sealed()
    assert main(["tail", scan.key, "--url", redis_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "diode  [0..2]  [0, 1, 2]",
        f"-- end of scan {scan.key} (CLOSED)",
    ]
