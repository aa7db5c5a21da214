"""The writing service: follows every new scan and gives each one its own worker thread.

Scans are taken from the scan history in order (``get_next_scan`` chained on
the previous timetag), so none is missed while the service runs. The timetag
reached is kept in Redis: a restarted service goes on from there, and also
takes back the scans whose status says a writer stopped in the middle.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from blissdata_core import DataStore
from blissdata_core.connection import redact_url
from blissdata_core.errors import NoScanAvailable

from .files import FilePool
from .scan_writer import CONNECTION_ERRORS, MAX_BACKOFF, ScanWriter
from .status import TERMINAL_STATES, StatusBoard

_logger = logging.getLogger(__name__)


class WritingService:
    def __init__(
        self,
        redis_url: str,
        roots: list[str] | None = None,
        board: StatusBoard | None = None,
        *,
        read_url: str | None = None,
    ):
        """``redis_url`` is the primary, where the statuses are written; scans are
        read from ``read_url`` when given (a replica, read-only), else from it."""
        self.redis_url = redis_url
        self.read_url = read_url
        self.roots = roots
        self.board = board or StatusBoard(redis_url)
        self.stop_event = threading.Event()
        self.files = FilePool()
        self._ds: DataStore | None = None
        self._workers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._delay = 0.2  # backoff while Redis is unreachable
        #: set once the service follows the scan history (scans created after are seen)
        self.ready = threading.Event()

    # --- control --------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            _logger.info("%s received: finishing current flushes", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self) -> None:
        """Follow scans until stopped, then wait for the workers to leave cleanly."""
        try:
            since = self._start()
            while not self.stop_event.is_set():
                try:
                    next_since, key = self._ds.get_next_scan(since=since, block=True, timeout=0.5)
                    self.submit(key)
                    self.board.save_cursor(next_since)
                except NoScanAvailable:
                    continue
                except CONNECTION_ERRORS as exc:
                    self._backoff(exc)
                    continue
                since = next_since
                self._delay = 0.2
        finally:
            self.join()

    def _start(self) -> str | None:
        """Connect (with retries), take back unfinished scans, return where to follow from."""
        delay = 0.2
        while True:
            try:
                if self.read_url:
                    self._ds = DataStore(self.read_url, read_only=True)
                else:
                    self._ds = DataStore(self.redis_url)
                since = self.board.load_cursor() or self._ds.get_last_scan_timetag()
                for key in self.board.unfinished():
                    self.submit(key)
                _logger.info(
                    "listening to %s (roots: %s)",
                    redact_url(self.read_url or self.redis_url),
                    ", ".join(self.roots or ["any"]),
                )
                self.ready.set()
                return since
            except CONNECTION_ERRORS as exc:
                if self.stop_event.is_set():
                    raise
                _logger.warning("cannot reach %s (%s), retry in %.1f s", self.redis_url, exc, delay)
                self.stop_event.wait(delay)
                delay = min(MAX_BACKOFF, delay * 2)

    def _backoff(self, exc: BaseException) -> None:
        _logger.warning("lost %s (%s), retry in %.1f s", self.redis_url, exc, self._delay)
        self.stop_event.wait(self._delay)
        self._delay = min(MAX_BACKOFF, self._delay * 2)

    # --- workers --------------------------------------------------------------

    def submit(self, scan_key: str) -> bool:
        """Start a worker for a scan, unless one runs or a writer already finished it.

        A worker is registered only once started: ``_workers`` then holds exactly
        the threads that may still write, so one scan never gets two and
        :meth:`join` waits for every one.
        """
        with self._lock:
            self._forget_finished()
            if scan_key in self._workers:
                return False
            previous = self.board.read(scan_key)
            if previous is not None and previous.get("state") in TERMINAL_STATES:
                return False
            resume = previous is not None and bool(previous.get("files"))
            writer = ScanWriter(
                self._ds,
                scan_key,
                self.board,
                self.roots,
                self.stop_event,
                self.files,
                resume=resume,
            )
            thread = threading.Thread(target=writer.run, name=f"scan-{scan_key}", daemon=True)
            thread.start()
            self._workers[scan_key] = thread
            _logger.info("%s: %s", scan_key, "resuming" if resume else "new scan")
            return True

    def _forget_finished(self) -> None:
        for key in [k for k, t in self._workers.items() if not t.is_alive()]:
            del self._workers[key]

    def join(self) -> None:
        """Wait for every worker, including any submitted while waiting."""
        while True:
            with self._lock:
                self._forget_finished()
                threads = list(self._workers.values())
            if not threads:
                return
            for thread in threads:
                thread.join()
