"""The writing service: allow-list, concurrency, existing entries, status, faults, restarts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import h5py
import pytest
import redis
from writer_helpers import wait_status, write_scan, writer_command

from blissdata_core import DataStore
from blissdata_writer.producer import simulate_scan
from blissdata_writer.status import STATUS_PREFIX, StatusBoard
from blissdata_writer.testing import describe, differences


def _simulate(
    redis_url, path, kind="ascan", npoints=5, count_time=0.0, detectors=("diode", "mca"), **kw
):
    return simulate_scan(
        DataStore(redis_url),
        kind,
        npoints=npoints,
        count_time=count_time,
        path=str(path),
        detectors=detectors,
        **kw,
    )


# --- --root -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["outside", "dotdot", "symlink", "relative"])
def test_root_refusals(redis_url, tmp_path, how):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    target = {
        "outside": outside / "s.h5",
        "dotdot": root / ".." / "outside" / "s.h5",
        "symlink": root / "link" / "s.h5",
        "relative": "relative/s.h5",
    }[how]
    (root / "link").symlink_to(outside)
    ds = DataStore(redis_url)
    scan = ds.create_scan(
        {"name": "refused", "number": 1, "data_policy": "no_policy", "path": str(target)},
        info={"h5maps": {str(target): {"type": "group", "children": {"1.1": {"type": "group"}}}}},
    )
    scan.prepare()
    scan.close()
    status = write_scan(redis_url, scan.key, roots=[str(root)])
    assert status.state == "failed"
    assert status.refused and "refused" in status.message
    assert not (outside / "s.h5").exists()
    assert not os.path.exists(os.path.join(str(tmp_path), "relative"))
    published = json.loads(redis.Redis.from_url(redis_url).get(STATUS_PREFIX + scan.key))
    assert published["state"] == "failed" and published["refused"]


def test_root_allows_inside(redis_url, tmp_path):
    scan = _simulate(redis_url, tmp_path / "root" / "sub" / "s.h5", detectors=("diode",))
    assert write_scan(redis_url, scan.key, roots=[str(tmp_path / "root")]).state == "complete"


# --- files shared by scans ---------------------------------------------------------


def test_entries_appended_and_existing_entry_is_an_error(redis_url, tmp_path, writer_service):
    writer_service()
    path = tmp_path / "shared.h5"
    first = _simulate(redis_url, path, number=1)
    second = _simulate(redis_url, path, number=2, kind="timescan")
    again = _simulate(redis_url, path, number=1, kind="ct")  # entry 1.1 exists
    third = _simulate(redis_url, path, number=3, kind="ct")
    assert wait_status(redis_url, first.key)["state"] == "complete"
    assert wait_status(redis_url, second.key)["state"] == "complete"
    failed = wait_status(redis_url, again.key)
    assert (
        failed["state"] == "failed" and "1.1" in failed["message"] and "exist" in failed["message"]
    )
    assert wait_status(redis_url, third.key)["state"] == "complete"  # the service went on
    with h5py.File(path, "r") as f:
        assert list(f) == ["1.1", "2.1", "3.1"]
        assert f["1.1/title"][()].decode().startswith("ascan")


def test_concurrent_scans(redis_url, tmp_path, writer_service):
    writer_service()
    keys = []

    def one(i):
        kind = ["ascan", "timescan", "mesh", "ct"][i % 4]
        scan = _simulate(redis_url, tmp_path / f"s{i}.h5", kind=kind, npoints=6, count_time=0.01)
        keys.append((scan.key, tmp_path / f"s{i}.h5"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 6
    for key, path in keys:
        status = wait_status(redis_url, key)
        assert status["state"] == "complete", status
        assert status["points"] > 0
        assert status["files"] == [str(path)]


def test_status_progress_is_published(redis_url, tmp_path, writer_service):
    writer_service()
    seen = []
    scan = _simulate(
        redis_url, tmp_path / "p.h5", npoints=20, count_time=0.02,
        on_prepared=lambda s: seen.append(s.key),
    )  # fmt: skip
    status = wait_status(redis_url, scan.key)
    assert status["state"] == "complete"
    assert status["points"] == sum(status["datasets"].values())
    assert all(n == 20 for n in status["datasets"].values())


# --- faults -----------------------------------------------------------------------


def _tmpfs(path, size: str, options: str = "") -> None:
    path.mkdir()
    opts = f"size={size}" + (f",{options}" if options else "")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    _tmpfs(mount, "4M")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def readonly_disk(tmp_path):
    mount = tmp_path / "ro"
    _tmpfs(mount, "1M", "ro")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.reliability
@pytest.mark.parametrize("reserve", ["default", "small"])
def test_disk_full_fails_that_scan_only(redis_url, tmp_path, small_disk, reserve):
    """The reserve stops the scan before the disk is full: at start (default), or mid-scan (small).

    The service runs in its own process, which must survive. (Without a reserve
    the HDF5 library hits ENOSPC, and HDF5 1.12 and 2.0 alike may then crash
    the process when the file is closed: the reason the reserve exists.)
    """
    env = {"small": str(256 * 1024)}.get(reserve)
    with writer_process(redis_url, tmp_path / "writer.log", reserve=env) as proc:
        # 2000 spectra of 1024 uint32 = 8 MB > 4 MiB
        full = _simulate(redis_url, small_disk / "full.h5", npoints=2000, count_time=0.0)
        fine = _simulate(redis_url, tmp_path / "fine.h5", npoints=5)
        status = wait_status(redis_url, full.key)
        assert status["state"] == "failed"
        assert "disk full" in status["message"], status["message"]
        if reserve == "small":
            assert 0 < status["points"] < 2000 * 6, status
        assert wait_status(redis_url, fine.key)["state"] == "complete"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


@pytest.fixture
def forbidden_dir(tmp_path):
    """A directory nobody may create files in, root included (immutable attribute)."""
    path = tmp_path / "forbidden"
    path.mkdir()
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot make a directory immutable here: {proc.stderr.strip()}")
    yield path
    subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.mark.reliability
def test_permission_denied_fails_that_scan_only(redis_url, tmp_path, forbidden_dir, writer_service):
    writer_service()
    bad = _simulate(redis_url, forbidden_dir / "s.h5")
    fine = _simulate(redis_url, tmp_path / "fine.h5")
    status = wait_status(redis_url, bad.key)
    assert status["state"] == "failed"
    assert "permission denied" in status["message"], status["message"]
    assert wait_status(redis_url, fine.key)["state"] == "complete"


@pytest.mark.reliability
def test_unwritable_target_fails_that_scan_only(redis_url, tmp_path, readonly_disk, writer_service):
    writer_service()
    bad = _simulate(redis_url, readonly_disk / "sub" / "s.h5")
    fine = _simulate(redis_url, tmp_path / "fine.h5")
    status = wait_status(redis_url, bad.key)
    assert status["state"] == "failed"
    assert "permission denied" in status["message"], status["message"]
    assert wait_status(redis_url, fine.key)["state"] == "complete"


@pytest.mark.reliability
def test_connections_killed_mid_scan(redis_url, tmp_path, writer_service):
    """Killed Redis connections: the worker reconnects, no point lost or written twice."""
    writer_service()
    path = tmp_path / "k.h5"
    client = redis.Redis.from_url(redis_url)
    stop = threading.Event()

    killed = []

    def killer():
        # readers block in XREAD; the producer never does: kill the readers only
        while not stop.wait(0.15):
            for line in client.execute_command("CLIENT", "LIST").decode().splitlines():
                fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                if fields.get("cmd") == "xread":
                    client.execute_command("CLIENT", "KILL", "ID", fields["id"])
                    killed.append(fields["id"])

    scan_box = []

    def start_killing(scan):
        scan_box.append(scan)
        threading.Thread(target=killer, daemon=True).start()

    try:
        scan = _simulate(redis_url, path, npoints=30, count_time=0.02, on_prepared=start_killing)
    finally:
        stop.set()
    assert killed
    status = wait_status(redis_url, scan.key)
    assert status["state"] == "complete", status
    os.rename(path, str(path) + ".live.h5")
    assert write_scan(redis_url, scan.key).state == "complete"
    assert not differences(describe(str(path) + ".live.h5"), describe(str(path)))


# --- the service process ------------------------------------------------------------


@contextlib.contextmanager
def writer_process(redis_url, log_path, reserve: str | None = None):
    """``blissdata-writer run`` in a subprocess, listening; killed at the end if still alive.

    ``reserve``: free bytes the writer keeps ($BLISSDATA_WRITER_RESERVE_BYTES), default if None.
    """
    started = log_path.read_text().count("listening to") if log_path.exists() else 0
    env = dict(os.environ)
    if reserve is not None:
        env["BLISSDATA_WRITER_RESERVE_BYTES"] = reserve
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            writer_command("run", redis_url, "--no-progress"),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while log_path.read_text().count("listening to") <= started:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.05)
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def when_points_written(redis_url, action):
    """An ``on_prepared`` hook: run ``action`` in a thread once the writer put points in the file."""
    done = threading.Event()

    def hook(scan):
        def watch():
            board = StatusBoard(redis_url)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status = board.read(scan.key) or {}
                if status.get("state") == "writing" and status.get("points"):
                    action()
                    done.set()
                    return
                if status.get("state") not in (None, "waiting", "writing"):
                    return  # ended before any point was seen written: done stays unset
                time.sleep(0.01)

        threading.Thread(target=watch, daemon=True).start()

    return hook, done


@pytest.mark.reliability
def test_restart_mid_scan_gives_the_same_file(redis_url, tmp_path):
    """Writer killed (SIGKILL) mid-scan and restarted: same file as an uninterrupted write."""
    log_path = tmp_path / "writer.log"
    path = tmp_path / "r.h5"
    with writer_process(redis_url, log_path) as first:
        hook, killed = when_points_written(redis_url, lambda: (first.kill(), first.wait()))
        holder = {}
        producer = threading.Thread(
            target=lambda: holder.setdefault(
                "scan", _simulate(redis_url, path, npoints=40, count_time=0.05, on_prepared=hook)
            )
        )
        producer.start()
        assert killed.wait(60)
    with writer_process(redis_url, log_path) as second:
        producer.join()
        scan = holder["scan"]
        status = wait_status(redis_url, scan.key)
        assert status["state"] == "complete", status
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    os.rename(path, str(path) + ".restarted.h5")
    assert write_scan(redis_url, scan.key).state == "complete"
    assert not differences(describe(str(path) + ".restarted.h5"), describe(str(path)))


@pytest.mark.reliability
def test_sigterm_exits_cleanly_and_leaves_a_readable_file(redis_url, tmp_path):
    path = tmp_path / "t.h5"
    with writer_process(redis_url, tmp_path / "writer.log") as proc:
        hook, done = when_points_written(redis_url, lambda: proc.send_signal(signal.SIGTERM))
        scan = _simulate(redis_url, path, npoints=60, count_time=0.05, on_prepared=hook)
        assert done.wait(30)
        assert proc.wait(30) == 0
    status = wait_status(redis_url, scan.key, states=("interrupted",))
    assert status["state"] == "interrupted"
    with h5py.File(path, "r") as f:  # consistent file, entry there
        assert f"{scan.number}.1" in f


def test_one_worker_per_scan_and_stop_waits_for_it(redis_url, writer_service):
    """A scan waiting for PREPARED: its worker is known until it ends, and stop() waits for it."""
    service = writer_service()
    scan = DataStore(redis_url).create_scan(
        {"name": "waits", "number": 1, "data_policy": "no_policy"}, info={}
    )
    wait_status(redis_url, scan.key, states=("waiting",))
    assert not service.service.submit(scan.key), "a second worker was started for one scan"
    service.stop()
    # the service has returned: its worker ended, and said so
    assert StatusBoard(redis_url).read(scan.key)["state"] == "interrupted"


@pytest.fixture
def cpu_hog():
    """Every core busy with another process while the test runs: races show up under load."""
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.reliability
@pytest.mark.parametrize("attempt", range(5))
def test_sigterm_while_several_scans_are_written_under_load(redis_url, tmp_path, cpu_hog, attempt):
    """SIGTERM mid-write: every scan ends interrupted (or complete), flushed, by one worker."""
    log_path = tmp_path / "writer.log"
    paths = [tmp_path / "shared.h5", tmp_path / "shared.h5", tmp_path / "own.h5"]
    scans: dict[str, str] = {}  # scan key -> file
    writing = threading.Event()

    def on_prepared(scan):
        scans[scan.key] = next(iter(scan.info["h5maps"]))

        def watch():
            while len(scans) < len(paths) or not all(
                (StatusBoard(redis_url).read(key) or {}).get("points") for key in list(scans)
            ):
                time.sleep(0.01)
            writing.set()

        if len(scans) == len(paths):
            threading.Thread(target=watch, daemon=True).start()

    with writer_process(redis_url, log_path) as proc:
        producers = [
            threading.Thread(
                target=_simulate,
                args=(redis_url, path),
                kwargs={
                    "npoints": 60,
                    "count_time": 0.02,
                    "number": i + 1,
                    "on_prepared": on_prepared,
                },
            )
            for i, path in enumerate(paths)
        ]
        for producer in producers:
            producer.start()
        assert writing.wait(60), log_path.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log_path.read_text()
        for producer in producers:
            producer.join(60)
    log = log_path.read_text()
    board = StatusBoard(redis_url)
    for key, file in scans.items():
        status = board.read(key)  # the writer has exited: its statuses are final
        assert status["state"] in ("interrupted", "complete"), (status, log)
        assert log.count(f"{key}: new scan") == 1, log
        assert status["datasets"], status
        with h5py.File(file, "r") as f:  # closed by the writer, so it opens with locking
            for name, count in status["datasets"].items():
                path, dataset = name.split("::")
                assert path == file
                assert len(f[dataset]) == count, (name, count, log)


@pytest.mark.reliability
def test_redis_restart_mid_scan(redis_server_factory, tmp_path):
    """The server goes away mid-scan and comes back (same data): no point lost or doubled."""
    import numpy as np
    from writer_helpers import ServiceThread

    from blissdata_core import ServerConnectionError, Stream

    server = redis_server_factory(extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    url = server.url
    ds = DataStore(url, init_db=True)
    service = ServiceThread(url)
    path = str(tmp_path / "outage.h5")
    try:
        h5map = {"type": "group", "children": {"1.1": {"type": "group", "children": {
            "x": {"type": "stream", "stream": "x"}, "m": {"type": "stream", "stream": "m"}}}}}  # fmt: skip
        scan = ds.create_scan({"name": "outage", "number": 1, "data_policy": "no_policy", "path": path},
                              info={"h5maps": {path: h5map}})  # fmt: skip
        x = scan.create_stream(Stream.make_definition("x", "float64"))
        m = scan.create_stream(Stream.make_definition("m", "int32", (8,)))
        scan.prepare()
        scan.start()
        for i in range(20):
            x.send(float(i))
            m.send(np.full(8, i, dtype=np.int32))
        x.join()
        m.join()
        wait_status(url, scan.key, states=("writing",))
        server.kill()  # a crash: every connection drops
        server.start()
        # the producer's own stream handles keep their connection error: take new ones
        producer = DataStore(url).load_scan(scan.key)
        x, m = producer.get_writer_stream("x"), producer.get_writer_stream("m")
        for i in range(20, 40):
            x.send(float(i))
            m.send(np.full(8, i, dtype=np.int32))
        x.seal()
        m.seal()
        # the producer's pooled connections died with the server: the first call on
        # one may fail (the core does not retry it); the writer is what is tested here
        for transition in (scan.stop, scan.close):
            try:
                transition()
            except ServerConnectionError:
                transition()
        status = wait_status(url, scan.key)
        assert status["state"] == "complete", status
    finally:
        service.stop()
    with h5py.File(path, "r") as f:
        assert f["1.1/x"][()].tolist() == [float(i) for i in range(40)]
        assert f["1.1/m"][:, 0].tolist() == list(range(40))


@pytest.mark.parametrize("kind", ["ct", "ascan", "timescan", "mesh"])
def test_live_write_equals_write_after_close(redis_url, tmp_path, writer_service, kind):
    """Following a scan live gives the file a write of the closed scan gives (itself equal to blisswriter's)."""
    from writer_helpers import lima_plugin_available

    writer_service()
    detectors = ("diode", "mca", "lima") if lima_plugin_available() else ("diode", "mca")
    path = tmp_path / "live.h5"
    scan = _simulate(
        redis_url,
        path,
        kind=kind,
        npoints=6,
        count_time=0.01,
        detectors=detectors,
        frames_per_file=4,
    )
    assert wait_status(redis_url, scan.key)["state"] == "complete"
    os.rename(path, str(path) + ".live.h5")
    assert write_scan(redis_url, scan.key).state == "complete"
    assert not differences(describe(str(path) + ".live.h5"), describe(str(path)))


def test_file_locked_by_another_process_fails_that_scan(redis_url, tmp_path):
    path = tmp_path / "locked.h5"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import h5py, sys; f = h5py.File(sys.argv[1], 'w'); print('open', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        scan = _simulate(redis_url, path, detectors=("diode",))
        status = write_scan(redis_url, scan.key)
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert status.state == "failed"
    assert "locked" in status.message, status.message


def test_a_slow_scan_does_not_hold_back_others(redis_url, tmp_path, writer_service):
    """A scan that never progresses (stuck before PREPARED, then mid-way) leaves the others alone."""
    from blissdata_core import Stream

    writer_service()
    ds = DataStore(redis_url)
    path = str(tmp_path / "stuck.h5")
    h5map = {
        "type": "group",
        "children": {
            "1.1": {"type": "group", "children": {"x": {"type": "stream", "stream": "x"}}}
        },
    }
    stuck = ds.create_scan(
        {"name": "stuck", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: h5map}},
    )
    x = stuck.create_stream(Stream.make_definition("x", "float64"))
    quick = _simulate(redis_url, tmp_path / "quick1.h5")
    assert wait_status(redis_url, quick.key)["state"] == "complete"
    assert wait_status(redis_url, stuck.key, states=("waiting",))["state"] == "waiting"
    stuck.prepare()
    stuck.start()
    x.send(1.0)
    x.join()
    assert wait_status(redis_url, stuck.key, states=("writing",))["state"] == "writing"
    quick = _simulate(redis_url, tmp_path / "quick2.h5", kind="mesh", npoints=3)
    assert wait_status(redis_url, quick.key)["state"] == "complete"
    assert wait_status(redis_url, stuck.key, states=("writing",))["state"] == "writing"
    stuck.close()
    assert wait_status(redis_url, stuck.key)["state"] == "complete"
