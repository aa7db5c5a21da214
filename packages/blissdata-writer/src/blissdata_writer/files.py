"""Target files shared by the scans that write into them: opened once, locked per write."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import h5py

from . import nexus


class FileHandle:
    def __init__(self, file: h5py.File):
        self.file = file
        self.users = 0
        self._lock = threading.Lock()

    @contextmanager
    def lock(self) -> Iterator[h5py.File]:
        with self._lock:
            yield self.file


class FilePool:
    """Several scans may append entries to one file: they share one open handle."""

    def __init__(self) -> None:
        self._handles: dict[str, FileHandle] = {}
        self._lock = threading.Lock()

    def acquire(self, path: str) -> FileHandle:
        real = os.path.realpath(path)
        with self._lock:
            handle = self._handles.get(real)
            if handle is None:
                os.makedirs(os.path.dirname(real), exist_ok=True)
                handle = self._handles[real] = FileHandle(nexus.open_file(real))
            handle.users += 1
            return handle

    def release(self, path: str) -> None:
        real = os.path.realpath(path)
        with self._lock:
            handle = self._handles[real]
            handle.users -= 1
            if handle.users == 0:
                del self._handles[real]
                with handle.lock() as f:
                    f.close()
