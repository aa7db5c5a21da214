"""The foreground loop of ``blissdata server`` and ``blissdata sentinel``.

Both start a child process, print the URL clients use on a line of its own
(scripts read it), then wait for SIGINT/SIGTERM, which end them with 0, or for
the child to die, which ends them with 1 and says so.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Protocol


class Served(Protocol):
    """What the loop needs of the child: ``EmbeddedRedis`` and ``EmbeddedSentinel``."""

    def is_running(self) -> bool: ...

    def close(self) -> None: ...


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (installed before the child starts, so a
    signal during a slow start stops it too)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stop


def print_error(command: str, message: object) -> None:
    """One line on stderr, prefixed by the command, never a traceback."""
    print(f"{command}: {message}", file=sys.stderr)


def serve(command: str, child: Served, url: str, about: str, stop: threading.Event,
          exited: str) -> int:  # fmt: skip
    """Print ``url`` (stdout) and ``about`` (stderr), then run until ``stop`` or
    the child's death (``exited`` says so); the child is closed either way."""
    try:
        print(url, flush=True)
        print(f"{command}: {about}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if not child.is_running():
                print_error(command, exited)
                return 1
        return 0
    finally:
        child.close()
