"""The HDF5 file through h5py, as a node source.

The file is opened without HDF5 file locking so that a reader never stops the
writer from opening it; a file being written can then fail to open or read
for a moment, which ``retry_timeout`` absorbs by reopening and retrying.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import h5py
import numpy as np

from ..errors import FileSourceError
from ..nodes import DatasetNode, ExternalLinkNode, GroupNode, Node, SoftLinkNode, Source, join_path

T = TypeVar("T")
_RETRY_PERIOD = 0.1


class Hdf5Source(Source):
    kind = "file"

    def __init__(self, filename: str, retry_timeout: float | None = None):
        self.filename = filename
        self._retry_timeout = retry_timeout
        self._h5: h5py.File | None = None

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
        return self._h5

    def _open_once(self) -> h5py.File:
        try:
            return h5py.File(self.filename, "r", locking=False)
        except OSError as exc:
            # the process already has it open with locking: HDF5 wants the same flags
            if "locking flag" not in str(exc):
                raise
            return h5py.File(self.filename, "r")

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
                time.sleep(_RETRY_PERIOD)

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
        return self._wrap(path, obj)

    def _wrap(self, path: str, obj: Any) -> Node:
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
        return self._source.retry(lambda: list(self._source.handle()[self.path].keys()))

    def child(self, name: str) -> Node:
        path = join_path(self.path, name)

        def look() -> Any:
            group = self._source.handle()[self.path]
            link = group.get(name, getlink=True)
            if link is None:
                raise KeyError(path)
            if isinstance(link, h5py.SoftLink):
                return SoftLinkNode(link.path, path)
            if isinstance(link, h5py.ExternalLink):
                return ExternalLinkNode(link.filename, link.path, path)
            return self._source._wrap(path, group[name])

        return self._source.retry(look)


class Hdf5Dataset(DatasetNode):
    def __init__(self, source: Hdf5Source, path: str):
        self._source = source
        self.path = path

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
