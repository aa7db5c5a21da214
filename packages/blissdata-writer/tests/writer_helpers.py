"""Helpers of the writer tests: the reference writer as a peer, our writer in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py

from blissdata_core import DataStore
from blissdata_writer.scan_writer import ScanWriter
from blissdata_writer.status import TERMINAL_STATES, ScanStatus, StatusBoard


class BlissWriter:
    """``blisswriter run`` (3.0.0, in the reference venv) following a test database."""

    def __init__(self, python: Path, redis_url: str, log_path: Path, launcher: tuple = ()):
        """``launcher`` goes before the command (``python -m blissdata_core.compat --``)."""
        self.log_path = log_path
        script = Path(python).parent / "blisswriter"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*launcher, str(script), "run", redis_url, "--log-level", "INFO"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_for(lambda text: "Listening to" in text, "start listening")
        self._follow_from_here(redis_url)

    def _follow_from_here(self, redis_url: str) -> None:
        """Until blisswriter has seen a first scan: from then on it misses none.

        It logs "Listening" before its first XREAD, and until it has seen a
        scan it waits "from now" ($) again at every poll, so a scan created
        before that XREAD or between two polls is never seen (a loaded CI run
        timed out so). A scan that is not to be saved (no path), which it
        skips, moves it to a position of its own.
        """
        keys: list[str] = []
        deadline = time.monotonic() + 120.0
        with DataStore(redis_url) as store:
            while True:
                # one more each 2 s: the last may have landed between two polls
                identity = {"name": "ready", "number": len(keys) + 1, "data_policy": "no_policy"}
                keys.append(store.create_scan(identity).key)
                try:
                    self._wait_for(
                        lambda text: any(key in text for key in keys),
                        f"see any of {keys}",
                        timeout=min(2.0, max(0.0, deadline - time.monotonic())),
                    )
                    return
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        raise

    def log(self) -> str:
        return self.log_path.read_text()

    def _wait_for(self, predicate, what: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if predicate(text):
                return text
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"blisswriter exited ({self.proc.returncode}) before it could {what}:\n{text}"
                )
            time.sleep(0.05)
        raise TimeoutError(f"blisswriter did not {what} within {timeout} s:\n{self.log()[-3000:]}")

    def wait_started(self, scan_key: str) -> None:
        """Until blisswriter saw the scan PREPARED (it loaded the scan: no load/close race)."""
        text = self._wait_for(
            lambda text: any(
                scan_key in line and ("Start saving" in line or "skip" in line or "ERROR" in line)
                for line in text.splitlines()
            ),
            f"start {scan_key}",
        )
        if not any(scan_key in line and "Start saving" in line for line in text.splitlines()):
            raise AssertionError(f"blisswriter did not save {scan_key}:\n{text[-2000:]}")

    def wait_scan(self, scan_key: str, files: list[str]) -> None:
        """Until blisswriter logged the end of that scan and released its files."""
        lines = self._wait_for(
            lambda text: any(
                scan_key in line
                and ("Saving complete" in line or "ERROR" in line or "skip" in line)
                for line in text.splitlines()
            ),
            f"finish {scan_key}",
        )
        failed = [line for line in lines.splitlines() if scan_key in line and "ERROR" in line]
        if failed:
            raise AssertionError(f"blisswriter failed on {scan_key}: {failed}")
        for path in files:
            _wait_released(path)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _wait_released(path: str, timeout: float = 30.0) -> None:
    """An HDF5 file is released once it opens with locking (the writer closed it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with h5py.File(path, "r", locking=True):
                return
        except (OSError, BlockingIOError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def write_scan(redis_url: str, scan_key: str, roots: list[str] | None = None) -> ScanStatus:
    """Our writer on one scan, in this process (what ``blissdata-writer write`` does)."""
    data_store = DataStore(redis_url)
    try:
        return ScanWriter(data_store, scan_key, StatusBoard(redis_url), roots).run()
    finally:
        close = getattr(data_store, "close", None)
        if close:
            close()


def wait_status(
    redis_url: str, scan_key: str, states=TERMINAL_STATES, timeout: float = 60.0
) -> dict:
    """Poll the scan's writing status until it reaches one of ``states`` (timeout only as a guard)."""
    board = StatusBoard(redis_url)
    deadline = time.monotonic() + timeout
    while True:
        status = board.read(scan_key)
        if status is not None and status["state"] in states:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{scan_key}: status {status} never reached {states}")
        time.sleep(0.05)


class ServiceThread:
    """A WritingService running in a thread of the test process."""

    def __init__(self, redis_url: str, roots: list[str] | None = None):
        from blissdata_writer.service import WritingService

        self.service = WritingService(redis_url, roots=roots)
        self.thread = threading.Thread(target=self.service.run, daemon=True)
        self.thread.start()
        assert self.service.ready.wait(60), "service did not start"

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "service did not stop"


def writer_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "blissdata_writer.cli", *args]


def lima_plugin_available() -> bool:
    """Whether blissdata_core can open lima streams (its lima plugin is installed and loads)."""
    try:
        from blissdata_core.streams import plugins

        return plugins.load_plugin("lima") is not None
    except Exception:
        return False
