"""Redis first, the file for the rest.

Entries Redis no longer holds (scan deleted) come from the file; within a
scan still in Redis, rows trimmed from a stream (:class:`IndexNoMoreThereError`)
are read from the same dataset in the file.  The file is opened lazily and
reopened when it lacks something, since the writer keeps adding to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from blissdata_core.errors import IndexNoMoreThereError, ScanNotFoundError

from ..errors import FileSourceError
from ..nodes import DatasetNode, GroupNode, Node, Source
from .hdf5 import Hdf5Source
from .redis import RedisSource

_FALLBACK_ERRORS = (IndexNoMoreThereError, ScanNotFoundError)


class AutoSource(Source):
    kind = "auto"

    def __init__(self, redis: RedisSource, file: Hdf5Source):
        self.filename = redis.filename
        self.redis = redis
        self.file = file

    def root(self) -> GroupNode:
        return AutoRoot(self)

    def close(self) -> None:
        self.redis.close()
        self.file.close()

    def file_node(self, path: str) -> Node:
        """The object at ``path`` in the file, reopening it once if it is not there yet."""
        try:
            return self.file.node(path)
        except KeyError:
            self.file.reopen()
            return self.file.node(path)

    def wrap(self, node: Node) -> Node:
        if isinstance(node, GroupNode):
            return AutoGroup(self, node)
        if isinstance(node, DatasetNode):
            return AutoDataset(self, node)
        return node


class _MergedAttrs(Mapping):
    def __init__(self, first: Mapping, second: Mapping):
        self._first, self._second = first, second

    def __getitem__(self, key: str) -> Any:
        if key in self._first:
            return self._first[key]
        return self._second[key]

    def __iter__(self) -> Iterator[str]:
        # the file's (creation) order, then what only Redis has
        names = list(self._second)
        return iter(names + [name for name in self._first if name not in set(names)])

    def __len__(self) -> int:
        return len(set(self._first) | set(self._second))


class AutoRoot(GroupNode):
    path = "/"

    def __init__(self, source: AutoSource):
        self._source = source
        self._redis_root = source.redis.root()

    def _file_root(self) -> GroupNode | None:
        if not os.path.exists(self._source.filename):
            return None
        try:
            self._source.file.reopen()
            root = self._source.file.root()
            root.keys()
            return root
        except FileSourceError:
            return None

    @property
    def attrs(self) -> Mapping[str, Any]:
        file_root = self._file_root()
        redis_attrs = self._redis_root.attrs
        return redis_attrs if file_root is None else _MergedAttrs(redis_attrs, file_root.attrs)

    def keys(self) -> list[str]:
        # entries in the file first (older scans, in file order), then Redis-only ones
        file_root = self._file_root()
        names = [] if file_root is None else list(file_root.keys())
        seen = set(names)
        return names + [name for name in self._redis_root.keys() if name not in seen]

    def child(self, name: str) -> Node:
        try:
            return self._source.wrap(self._redis_root.child(name))
        except KeyError as exc:
            try:
                return self._source.file_node("/" + name)
            except (KeyError, FileSourceError):
                raise exc from None


class AutoGroup(GroupNode):
    def __init__(self, source: AutoSource, node: GroupNode):
        self._source, self._node = source, node
        self.path = node.path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._node.attrs

    def keys(self) -> list[str]:
        return self._node.keys()

    def child(self, name: str) -> Node:
        return self._source.wrap(self._node.child(name))


class AutoDataset(DatasetNode):
    def __init__(self, source: AutoSource, node: DatasetNode):
        self._source, self._node = source, node
        self.path = node.path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._node.attrs

    @property
    def dtype(self) -> np.dtype:
        return self._node.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._node.shape

    @property
    def live(self) -> bool:
        return self._node.live

    def wait(self, length: float, timeout: float | None) -> bool:
        return self._node.wait(length, timeout)

    def storage(self) -> tuple[tuple[int, ...] | None, list[tuple[int, str]]]:
        return self._node.storage()

    def read_all(self) -> Any:
        if not self._node.shape:
            return self._node.read_all()
        return self.read_rows(0, self._node.shape[0], 1)

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        try:
            return self._node.read_rows(start, stop, step)
        except _FALLBACK_ERRORS as exc:
            return self._from_file(start, stop, step, exc)

    def _from_file(self, start: int, stop: int, step: int, cause: Exception) -> np.ndarray:
        source = self._source.file

        def read() -> np.ndarray:
            try:
                node = source.node(self.path)
            except KeyError:
                raise OSError(f"no {self.path} in the file yet") from None
            if not isinstance(node, DatasetNode) or not node.shape or node.shape[0] < stop:
                raise OSError(f"{self.path} in the file does not hold rows up to {stop} yet")
            return node.read_rows(start, stop, step)

        try:
            return source.retry(read)
        except FileSourceError as exc:
            raise FileSourceError(
                f"{self.path}: rows {start}:{stop} are gone from Redis ({cause}) "
                f"and the file cannot provide them: {exc}"
            ) from exc
