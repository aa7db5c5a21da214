"""Target files shared by the scans that write into them: opened once, locked per write.

A file is opened exactly where :func:`~.paths.check_target` resolved it: every
directory on the way is opened without following symlinks, so a symlink swapped
in after the check is refused instead of leading out of the allowed roots.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import h5py

from . import nexus
from .errors import PathRefusedError

_NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
#: Linux names an open descriptor by a path that reaches that very file.
_FD_DIR = "/proc/self/fd"


class FileHandle:
    def __init__(self, path: str, file: h5py.File):
        #: the resolved path the file was opened at
        self.path = path
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

    def acquire(self, checked_path: str) -> FileHandle:
        """The handle of a path :func:`~.paths.check_target` returned (absolute, resolved)."""
        with self._lock:
            handle = self._handles.get(checked_path)
            if handle is None:
                file = open_resolved(checked_path)
                handle = self._handles[checked_path] = FileHandle(checked_path, file)
            handle.users += 1
            return handle

    def release(self, handle: FileHandle) -> None:
        with self._lock:
            handle.users -= 1
            if handle.users == 0:
                del self._handles[handle.path]
                with handle.lock() as f:
                    f.close()


def open_resolved(path: str) -> h5py.File:
    """Open (or create) the HDF5 file at a resolved path, following no symlink on the way.

    Missing directories are created. A component that became a symlink since the
    path was resolved raises :class:`PathRefusedError`, and nothing is created
    or opened beyond it.
    """
    fd, created = _open_no_follow(path)
    try:
        if os.path.isdir(_FD_DIR):
            # the descriptor's own path: HDF5 opens that very file, whatever the names are now
            return nexus.open_file(f"{_FD_DIR}/{fd}", new=created)
        file = nexus.open_file(path, new=created)
        if _identity(os.fstat(fd)) != _identity(os.fstat(file.id.get_vfd_handle())):
            file.close()
            raise PathRefusedError(f"refused {path!r}: the file changed while it was opened")
        return file
    finally:
        os.close(fd)


def _open_no_follow(path: str) -> tuple[int, bool]:
    """A descriptor of ``path`` and whether it was created, walked one directory at a time."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        raise PathRefusedError(f"refused {path!r}: not a resolved absolute path")
    *dirs, name = path.split(os.sep)[1:]
    parent = os.open(os.sep, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in dirs:
            child = _enter(parent, part, path)
            os.close(parent)
            parent = child
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NO_FOLLOW
            return os.open(name, flags, 0o666, dir_fd=parent), True
        except FileExistsError:
            pass
        try:
            return os.open(name, os.O_RDWR | _NO_FOLLOW, dir_fd=parent), False
        except OSError as exc:
            raise _refusal(exc, path) from exc
    finally:
        os.close(parent)


def _enter(parent: int, name: str, path: str) -> int:
    """Open directory ``name`` under ``parent``, creating it if missing."""
    cannot_create = None
    try:
        os.mkdir(name, 0o777, dir_fd=parent)
    except FileExistsError:
        pass
    except OSError as exc:  # read-only, forbidden...: the cause if it is indeed missing
        cannot_create = exc
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ENOENT and cannot_create is not None:
            exc = cannot_create
        raise _refusal(exc, path) from exc


def _refusal(exc: OSError, path: str) -> Exception:
    """The error to report for ``path``: a refusal for a symlink, else the error on the whole path."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return PathRefusedError(f"refused {path!r}: a symlink appeared on the path after its check")
    return type(exc)(exc.errno, exc.strerror, path)


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino
