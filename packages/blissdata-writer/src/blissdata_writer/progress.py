"""What the CLI shows while scans are written: bars on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from typing import TextIO

from .status import ScanStatus, StatusBoard

_logger = logging.getLogger("blissdata_writer")


class Progress:
    """Renders the board's active scans every ``period`` seconds until stopped."""

    def __init__(self, board: StatusBoard, stream: TextIO = sys.stderr, period: float = 0.5):
        self.board = board
        self.stream = stream
        self.period = period
        self.tty = stream.isatty()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._drawn = 0
        self._lock = threading.RLock()
        self._last: dict[str, tuple[str, int]] = {}

    def start(self) -> Progress:
        if self.tty:  # log records erase the bars first, so they do not erase the records
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._before_log)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self._before_log)
        with self._lock:
            self._clear()

    def _before_log(self, record: logging.LogRecord) -> bool:
        with self._lock:
            self._clear()
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            active = self.board.snapshot()
            if self.tty:
                self._draw(active)
            else:
                self._log(active)

    def _log(self, active: list[ScanStatus]) -> None:
        for status in active:
            seen = (status.state, status.points)
            if self._last.get(status.scan) != seen:
                self._last[status.scan] = seen
                _logger.info(
                    "%s [%s] %s: %d points", status.scan, status.label, status.state, status.points
                )

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\x1b[1A\x1b[2K" * self._drawn)
            self.stream.flush()
            self._drawn = 0

    def _draw(self, active: list[ScanStatus]) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        lines = [render_line(s, width) for s in active]
        with self._lock:
            self._clear()
            if lines:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            self._drawn = len(lines)


def render_line(status: ScanStatus, width: int = 100) -> str:
    """One scan's bar: label, state, points written out of those expected (else the slowest dataset vs the fastest)."""
    counts = list(status.datasets.values())
    if status.expected:
        done, total = min(status.points, status.expected), status.expected
    else:
        done, total = (min(counts), max(counts)) if counts else (0, 0)
    bar_width = max(10, min(30, width - 70))
    filled = int(bar_width * done / total) if total else 0
    bar = "#" * filled + "-" * (bar_width - filled)
    text = f"{status.label or status.scan[-8:]:<18.18} {status.state:<9} [{bar}] {status.points:>9} pts"
    return text[:width]
