"""End-to-end demo: server, writer service, a simulated scan followed live, the NeXus file.

    python -m tools.demo [--scan ascan] [--npoints 20] [--count-time 0.05] [--dir DIR] [--keep-serving]

Uses ``$BLISSDATA_REDIS_URL`` when set (initialised if empty), else starts the
embedded Redis Stack server. The writer runs as a subprocess
(``blissdata-writer run URL --root DIR``); the scan is published by the
reference producer with every detector (counters, MCA, lima frames) and read
live through ``blissdata_h5`` while it runs. With the ``[web]`` extra of
blissdata-h5, ``blissdata-h5 serve`` shows it in the browser too: the demo
prints the URL of that live view (``--keep-serving`` keeps it up after the
scan, until Ctrl-C). Exits non-zero if anything fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import h5py
import numpy as np

from blissdata_core import DataStore
from blissdata_core.errors import DatabaseNotInitialisedError
from blissdata_h5.display import format_value
from blissdata_writer.producer import DEFAULT_DETECTORS, DETECTORS, SCAN_KINDS, simulate_scan
from blissdata_writer.status import TERMINAL_STATES, read_status


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


@contextlib.contextmanager
def redis_server():
    url = os.environ.get("BLISSDATA_REDIS_URL")
    if url:
        log(f"using BLISSDATA_REDIS_URL={url}")
        try:
            DataStore(url)
        except DatabaseNotInitialisedError:
            DataStore(url, init_db=True)
        yield url
        return
    from blissdata_core.server import EmbeddedRedis

    with EmbeddedRedis() as server:
        log(f"embedded server at {server.url}")
        DataStore(server.url, init_db=True)
        yield server.url


@contextlib.contextmanager
def writer_service(url: str, root: Path):
    script = Path(sys.executable).with_name("blissdata-writer")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "blissdata_writer.cli"]
    log_path = root / "writer.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [*command, "run", url, "--root", str(root), "--no-progress"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "listening to" not in log_path.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the writer did not start:\n{log_path.read_text()}")
                time.sleep(0.05)
            log(f"writer running (pid {proc.pid}), log in {log_path}")
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(30)
                log(f"writer stopped (exit code {code})")


@contextlib.contextmanager
def live_viewer(url: str, root: Path):
    """``blissdata-h5 serve URL --root DIR`` (H5Web in the browser); yields its URL, or None."""
    try:
        import blissdata_h5.web.server  # noqa: F401 - needs blissdata-h5[web]
    except ImportError as exc:
        log(f"no live view in the browser ({exc}): pip install 'blissdata-h5[web]'")
        yield None
        return
    proc = subprocess.Popen(
        [sys.executable, "-m", "blissdata_h5.cli", "serve", url, "--root", str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()  # printed once it accepts connections
        if not line.startswith("http://"):
            raise RuntimeError(f"blissdata-h5 serve did not start (exit code {proc.poll()})")
        log(f"viewer running (pid {proc.pid}): {line}")
        yield line
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def follow_live(url: str, path: Path, scan_box: dict, done: threading.Event) -> int:
    """Read the scan through blissdata_h5 while it runs; returns how many updates were seen."""
    import blissdata_h5

    while "scan" not in scan_box:
        if done.wait(0.05):
            break
    scan = scan_box["scan"]
    entry = f"{scan.number}.1"
    updates = 0
    last = -1
    while True:
        finished = done.is_set()
        with blissdata_h5.File(str(path), data_store=url, source="redis") as f:
            if entry in f:
                diode = f[f"{entry}/measurement/diode1"]
                n = len(diode)
                if n != last:
                    value = diode[n - 1] if n else float("nan")
                    frames = (
                        len(f[f"{entry}/measurement/lima_simulator_image"])
                        if "lima_simulator_image" in f[f"{entry}/measurement"]
                        else 0
                    )
                    log(f"live: {n} points, diode1[-1] = {value:8.2f}, {frames} lima frames")
                    last = n
                    updates += 1
        if finished:
            return updates
        time.sleep(0.25)


def print_tree(path: Path) -> None:
    print(f"\n{path}")

    def describe(obj) -> str:
        attrs = {k: obj.attrs[k] for k in obj.attrs}
        nx = attrs.pop("NX_class", None)
        nx = nx.decode() if isinstance(nx, bytes) else nx
        extra = []
        if isinstance(obj, h5py.Dataset) and obj.shape == ():
            value = obj[()]
            extra.append(format_value(value))
        elif isinstance(obj, h5py.Dataset):
            extra.append(f"{obj.dtype} {obj.shape}" + (" virtual" if obj.is_virtual else ""))
        if nx:
            extra.append(str(nx))
        for key in ("signal", "axes", "units", "interpretation"):
            if key in attrs:
                value = attrs[key]
                if isinstance(value, np.ndarray):
                    value = [v.decode() if isinstance(v, bytes) else v for v in value.tolist()]
                extra.append(f"@{key}={value.decode() if isinstance(value, bytes) else value}")
        return "  ".join(extra)

    def walk(group: h5py.Group, indent: str) -> None:
        for name in group:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                print(f"{indent}{name} -> {link.path}")
                continue
            if isinstance(link, h5py.ExternalLink):
                print(f"{indent}{name} -> {link.filename}::{link.path}")
                continue
            obj = group[name]
            print(f"{indent}{name}  {describe(obj)}")
            if isinstance(obj, h5py.Group):
                walk(obj, indent + "    ")

    with h5py.File(path, "r") as f:
        print(f"/  {describe(f)}")
        walk(f, "    ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scan", choices=SCAN_KINDS, default="ascan")
    parser.add_argument("--npoints", type=int, default=20)
    parser.add_argument("--count-time", type=float, default=0.05)
    parser.add_argument(
        "--detectors", nargs="+", choices=DETECTORS, default=list(DEFAULT_DETECTORS),
        help="simulated detectors (lima2 and mosca too: --detectors diode lima2 mosca)",
    )  # fmt: skip
    parser.add_argument(
        "--dir", default=None, help="where to write (default: a temporary directory)"
    )
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="keep the browser view up after the scan, until Ctrl-C",
    )
    args = parser.parse_args(argv)

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="blissdata-demo-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "demo.h5"
    with (
        redis_server() as url,
        writer_service(url, workdir),
        live_viewer(url, workdir) as viewer,
    ):
        scan_box: dict = {}

        def prepared(scan) -> None:
            if viewer:
                entry = f"/{scan.number}.1/measurement/diode1"
                log(f"live view: {viewer}/?file={path.name}&path={entry}")
            scan_box.setdefault("scan", scan)

        done = threading.Event()
        updates: list[int] = []
        follower = threading.Thread(
            target=lambda: updates.append(follow_live(url, path, scan_box, done))
        )
        follower.start()
        try:
            scan = simulate_scan(
                DataStore(url),
                args.scan,
                npoints=args.npoints,
                count_time=args.count_time,
                path=str(path),
                detectors=args.detectors,
                on_prepared=prepared,
            )
        finally:
            done.set()
            follower.join()
        log(
            f"scan {scan.key} closed; followed live through blissdata_h5 ({updates[0] if updates else 0} updates)"
        )
        deadline = time.monotonic() + 60
        while True:
            status = read_status(url, scan.key)
            if status and status["state"] in TERMINAL_STATES:
                break
            if time.monotonic() > deadline:
                log(f"the writer did not finish: {status}")
                return 1
            time.sleep(0.1)
        log(f"writer status: {status['state']} ({status['points']} points) {status['message']}")
        if status["state"] != "complete":
            return 1
        if viewer and args.keep_serving:
            log(f"the file in the browser: {viewer}/?file={path.name} (Ctrl-C to stop)")
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    print_tree(path)
    log(f"files kept in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
