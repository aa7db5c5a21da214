"""Stream reads made one step ahead of the file writes, in a thread of their own.

Writing a batch to HDF5 and receiving the next one from Redis then overlap
instead of taking turns: socket reads release the GIL, so on two cores the
writer runs at the speed of the slower of the two, not of their sum.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType

from blissdata_core import BaseStream, BaseView, CursorGroup

#: One read: the new views of the streams that had new points.
Views = dict[BaseStream, BaseView]

#: Reads held ready for the writer: bounds the memory read ahead (each read is
#: bounded by the cursor's own reply size).
DEPTH = 2


class ReadAhead:
    """``CursorGroup.read`` run in a background thread, at most ``DEPTH`` reads ahead.

    Use as a context manager; :meth:`get` hands over the reads in order and
    raises whatever the reading raised (``EndOfStream`` at the end).
    """

    def __init__(self, group: CursorGroup, timeout: float):
        self._group = group
        self._timeout = timeout
        self._ready: queue.Queue[Views | BaseException] = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blissdata-writer-read", daemon=True)
        self._failed = False

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        # the reading thread ends after its current read, bounded by the timeout
        self._thread.join()

    def get(self, timeout: float) -> Views | None:
        """The next read (a dict of views), or None when nothing came within ``timeout``."""
        if self._failed:
            raise RuntimeError("ReadAhead used after its reading ended")
        try:
            item = self._ready.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            self._failed = True
            raise item
        return item

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                views = self._group.read(block=True, timeout=self._timeout)
            except BaseException as exc:  # EndOfStream included: handed over, in order
                self._put(exc)
                return
            if views:
                self._put(views)

    def _put(self, item: Views | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
