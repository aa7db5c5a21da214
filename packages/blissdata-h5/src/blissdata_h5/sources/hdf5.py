"""The HDF5 file through h5py, as a node source.

The file is opened without HDF5 file locking so that a reader never stops the
writer from opening it; a file being written can then fail to open or read
for a moment, which ``retry_timeout`` absorbs by reopening and retrying
every ``retry_period`` seconds.

Following a file as it grows (``follow``, what the reference's
``dynamic_hdf5`` does): while a scan entry has not ended, an object missing
under it may still come, and its datasets may still grow, so lookups and
waits for rows reopen the file until they succeed, the entry ends or
``retry_timeout`` passes.  An entry has ended once it has ``end_time`` or
its writer's status (``<entry>/writer/status``) says SUCCEEDED or FAILED.
Lima frames the writer has not referenced yet are read from the Lima files
(:mod:`.lima_files`) for the detectors named in ``lima``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import h5py
import numpy as np

from blissdata_core.streams.file_formats import open_hdf5_file

from ..errors import FileSourceError
from ..nodes import DatasetNode, ExternalLinkNode, GroupNode, Node, SoftLinkNode, Source, join_path
from .lima_files import LimaFiles

T = TypeVar("T")
_RETRY_PERIOD = 0.1
#: Writer status values of an entry that will not change any more.
FINAL_WRITER_STATUS = frozenset({"SUCCEEDED", "FAILED"})


class Hdf5Source(Source):
    kind = "file"

    def __init__(
        self,
        filename: str,
        retry_timeout: float | None = None,
        retry_period: float | None = None,
        follow: bool = False,
        lima: LimaFiles | None = None,
    ):
        self.filename = filename
        self._retry_timeout = retry_timeout
        self.retry_period = _RETRY_PERIOD if retry_period is None else float(retry_period)
        self.follow = follow
        self.lima = lima
        self._h5: h5py.File | None = None
        self._opened = 0.0

    # --- file handling -------------------------------------------------------
    def exists(self) -> bool:
        try:
            self.handle()
        except FileSourceError:
            return False
        return True

    def handle(self) -> h5py.File:
        if self._h5 is None:
            self._h5 = self.retry(self._open_once)
            self._opened = time.monotonic()
        return self._h5

    def _open_once(self) -> h5py.File:
        return open_hdf5_file(self.filename)

    def refresh(self) -> None:
        """When following a growing file: reopen it if it was opened over ``retry_period``
        ago, so that what the writer added since shows."""
        if self.follow and self._h5 is not None:
            if time.monotonic() - self._opened > self.retry_period:
                self.reopen()

    def reopen(self) -> None:
        """Forget the open handle: the next access sees what the writer added since."""
        if self._h5 is not None:
            try:
                self._h5.close()
            except Exception:  # noqa: BLE001 - closing a broken handle
                pass
            self._h5 = None

    def retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying on HDF5 I/O errors until ``retry_timeout``."""
        deadline = None if self._retry_timeout is None else time.monotonic() + self._retry_timeout
        while True:
            try:
                return action()
            except FileSourceError:
                raise
            except (OSError, RuntimeError) as exc:
                if deadline is None or time.monotonic() >= deadline:
                    raise FileSourceError(f"Cannot read {self.filename}: {exc}") from exc
                self.reopen()
                time.sleep(self.retry_period)

    def poll(self, done: Callable[[], T | None], timeout: float | None) -> T | None:
        """Reopen the file every ``retry_period`` until ``done()`` gives something
        (returned), or ``timeout`` seconds passed (None; ``timeout=None``: forever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            result = done()
            if result is not None:
                return result
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(self.retry_period)
            self.reopen()

    def entry_ended(self, path: str) -> bool:
        """Whether the scan entry holding ``path`` ended (the root never does)."""
        entry = next((part for part in path.split("/") if part), None)
        if entry is None:
            return False

        def look() -> bool:
            group = self.handle().get(entry)
            if not isinstance(group, h5py.Group):
                return False
            if "end_time" in group:
                return True
            status = group.get("writer/status")
            if not isinstance(status, h5py.Dataset):
                return False
            value = status[()]
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            return str(value) in FINAL_WRITER_STATUS

        return self.retry(look)

    def close(self) -> None:
        self.reopen()

    # --- nodes ---------------------------------------------------------------
    def root(self) -> GroupNode:
        return Hdf5Group(self, "/")

    def node(self, path: str) -> Node:
        """The object at ``path`` resolved by h5py (KeyError when absent)."""
        obj = self.retry(lambda: self.handle().get(path))
        if obj is None:
            raise KeyError(path)
        return self.wrap(path, obj)

    @property
    def retry_timeout(self) -> float | None:
        """How long a missing object or an unreadable file is retried (None: not retried)."""
        return self._retry_timeout

    def wrap(self, path: str, obj: Any) -> Node:
        if isinstance(obj, h5py.Group):
            return Hdf5Group(self, path)
        if isinstance(obj, h5py.Dataset):
            return Hdf5Dataset(self, path)
        raise KeyError(path)


class _H5Attrs(Mapping):
    def __init__(self, source: Hdf5Source, path: str):
        self._source, self._path = source, path

    def _attrs(self) -> h5py.AttributeManager:
        return self._source.handle()[self._path].attrs

    def __getitem__(self, key: str) -> Any:
        return self._source.retry(lambda: self._attrs()[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._source.retry(lambda: list(self._attrs())))

    def __len__(self) -> int:
        return self._source.retry(lambda: len(self._attrs()))

    def __contains__(self, key: object) -> bool:
        return self._source.retry(lambda: key in self._attrs())

    def stored_dtype(self, key: str) -> np.dtype:
        """The dtype the file stores ``key`` with (h5py reads every variable-length string as str)."""
        return self._source.retry(lambda: self._attrs().get_id(key).dtype)


class Hdf5Group(GroupNode):
    def __init__(self, source: Hdf5Source, path: str):
        self._source = source
        self.path = path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return _H5Attrs(self._source, self.path)

    def keys(self) -> list[str]:
        self._source.refresh()
        return self._source.retry(lambda: list(self._source.handle()[self.path].keys()))

    def child(self, name: str) -> Node:
        path = join_path(self.path, name)
        source = self._source

        def look() -> Any:
            group = source.handle().get(self.path)
            link = None if group is None else group.get(name, getlink=True)
            if link is None:
                return None
            if isinstance(link, h5py.SoftLink):
                return SoftLinkNode(link.path, path)
            if isinstance(link, h5py.ExternalLink):
                return ExternalLinkNode(link.filename, link.path, path)
            return source.wrap(path, group[name])

        found = source.retry(look)
        if found is not None:
            return found
        if source.lima is not None:
            lima = source.lima.node(path, source)
            if lima is not None:
                return lima
        if source.follow and not source.entry_ended(path):
            # it may still come: look again until the entry ends
            found = source.poll(
                lambda: source.retry(look) or (_ENDED if source.entry_ended(path) else None),
                source.retry_timeout,
            )
            if found is not None and found is not _ENDED:
                return found
            if found is _ENDED:
                # written before the end: a fresh handle sees it (one kept open
                # while another process writes may show stale groups beside new ones)
                source.reopen()
                found = source.retry(look)
                if found is not None:
                    return found
        raise KeyError(path)


_ENDED = object()


class Hdf5Dataset(DatasetNode):
    def __init__(self, source: Hdf5Source, path: str):
        self._source = source
        self.path = path

    @property
    def live(self) -> bool:
        return self._source.follow and not self._source.entry_ended(self.path)

    def wait(self, length: int, timeout: float | None) -> bool:
        """Reopen the file until the dataset has ``length`` rows, its entry ended, or
        ``timeout`` passed; True when the rows exist."""
        source = self._source

        def rows() -> int:
            shape = source.retry(lambda: source.handle()[self.path].shape)
            return shape[0] if shape else 0

        def done() -> bool | None:
            if rows() >= length:
                return True
            if not source.follow or source.entry_ended(self.path):
                source.reopen()  # rows written before the end: a fresh handle sees them
                return rows() >= length
            return None

        return bool(source.poll(done, timeout))

    def _dataset(self) -> h5py.Dataset:
        return self._source.handle()[self.path]

    @property
    def attrs(self) -> Mapping[str, Any]:
        return _H5Attrs(self._source, self.path)

    @property
    def dtype(self) -> np.dtype:
        return self._source.retry(lambda: self._dataset().dtype)

    @property
    def shape(self) -> tuple[int, ...] | None:
        self._source.refresh()
        shape = self._source.retry(lambda: self._dataset().shape)
        return None if shape is None else tuple(shape)  # None: an empty dataset (h5py.Empty)

    def read_all(self) -> Any:
        return self._source.retry(lambda: self._dataset()[()])

    def storage(self) -> tuple[tuple[int, ...] | None, list[tuple[int, str]]]:
        def read() -> tuple[tuple[int, ...] | None, list[tuple[int, str]]]:
            dataset = self._dataset()
            plist = dataset.id.get_create_plist()
            filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            return dataset.chunks, [(int(f[0]), _text(f[3])) for f in filters]

        return self._source.retry(read)

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        return self._source.retry(lambda: self._dataset()[start:stop:step])


def _text(name: bytes | str) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name
