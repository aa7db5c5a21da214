"""File: the root group, the choice of source, and link resolution.

Paths are resolved here for every source alike: sources hand out children
with links unresolved, so soft links (relative or absolute) and external
links behave the same whether the tree comes from Redis or from the file.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from blissdata_core.errors import ServerConnectionError
from blissdata_core.h5maps import file_key

from .dataset import Dataset
from .errors import DanglingLinkError, H5PathError
from .group import Group
from .nodes import DatasetNode, ExternalLinkNode, GroupNode, Node, SoftLinkNode, Source, join_path

if TYPE_CHECKING:
    from blissdata_core import DataStore

SOURCES = ("auto", "redis", "file")
_MAX_LINK_DEPTH = 40
REDIS_URL_ENV = "BLISSDATA_REDIS_URL"


def normalise_filename(filepath: str | os.PathLike) -> str:
    """The one spelling of a file path used to match ``h5maps`` keys."""
    return file_key(filepath)


class File(Group):
    """A file as h5py shows it, read from Redis scans, from disk, or both.

    ``source="redis"``: the scans in Redis whose ``h5maps`` name this file
    (live; new scans appear).  ``source="file"``: the HDF5 file through h5py.
    ``source="auto"``: Redis for what it holds, the file for entries and points
    only found there.  ``data_store`` is a ``DataStore`` or a URL (default: the
    ``BLISSDATA_REDIS_URL`` environment variable).  ``retry_timeout`` keeps
    retrying to open/read a file that is being written, every ``retry_period``
    seconds.  ``wait_timeout`` makes reads of points not published yet wait
    for them (``None``: IndexError).

    With ``source="file"`` and a ``retry_timeout``, the file is followed as it
    grows (the reference's ``dynamic_hdf5``): until a scan entry ended (its
    ``end_time``, or its writer status SUCCEEDED/FAILED), opening a missing
    object under it waits for it up to ``retry_timeout``, its datasets are
    ``live`` and iterating one follows it to the end (each new row waited
    for up to ``wait_timeout``, by default ``retry_timeout``).
    ``lima_names``: detectors whose frames are read from the Lima files
    (``lima_url_template``, ``lima_url_template_args``; see
    :mod:`blissdata_h5.sources.lima_files`) while the file lacks
    ``<scan>/instrument/<name>/data``.
    """

    _h5_type_name = "FILE"

    def __init__(
        self,
        filepath: str | os.PathLike,
        mode: str = "r",
        data_store: DataStore | str | None = None,
        source: str = "auto",
        retry_timeout: float | None = None,
        wait_timeout: float | None = None,
        *,
        retry_period: float | None = None,
        lima_names: Sequence[str] = (),
        lima_url_template: str | None = None,
        lima_url_template_args: Mapping[str, str] | None = None,
    ):
        if mode != "r":
            raise ValueError(f"blissdata_h5 files are read-only: mode must be 'r', not {mode!r}")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        self.filename = normalise_filename(filepath)
        self.mode = mode
        self._options = {
            "data_store": data_store,
            "source": source,
            "retry_timeout": retry_timeout,
            "wait_timeout": wait_timeout,
            "retry_period": retry_period,
        }
        follow = source == "file" and retry_timeout is not None
        if follow and wait_timeout is None:
            wait_timeout = retry_timeout
        self._wait_timeout = wait_timeout
        lima = None
        if lima_names:
            from .sources.lima_files import LimaFiles

            lima = LimaFiles(
                self.filename,
                tuple(lima_names),
                lima_url_template,
                dict(lima_url_template_args or {}),
            )
        self._source = _make_source(
            self.filename, source, data_store, retry_timeout, retry_period, follow, lima
        )
        self._externals: dict[str, File] = {}
        self._closed = False
        super().__init__(self, "/", self._source.root())

    @property
    def source(self) -> str:
        """Which backend this file reads: ``auto``, ``redis`` or ``file``."""
        return self._source.kind

    @property
    def parent(self) -> Group:
        return self

    # --- lifetime ------------------------------------------------------------
    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for external in self._externals.values():
                external.close()
            self._source.close()

    def __enter__(self) -> File:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __bool__(self) -> bool:
        return not self._closed

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"source {self.source}"
        return f'<blissdata_h5 file "{os.path.basename(self.filename)}" ({state})>'

    # --- resolution ----------------------------------------------------------
    def _open(self, path: str) -> Group | Dataset:
        file, name, node = self._resolve(path, 0)
        return file._wrap(name, node)

    def _wrap(self, name: str, node: Node) -> Group | Dataset:
        if isinstance(node, GroupNode):
            return Group(self, name, node)
        if isinstance(node, DatasetNode):
            node.check()
            return Dataset(self, name, node)
        raise H5PathError(f"{name!r} in {self.filename} is neither a group nor a dataset")

    def _resolve(self, path: str, depth: int) -> tuple[File, str, Node]:
        if depth > _MAX_LINK_DEPTH:
            raise H5PathError(f"Too many levels of links resolving {path!r} in {self.filename}")
        node: Node = self._source.root()
        current = "/"
        parts = [part for part in path.split("/") if part]
        for position, part in enumerate(parts):
            if not isinstance(node, GroupNode):
                raise H5PathError(
                    f"{current!r} is not a group: cannot open {path!r} in {self.filename}"
                )
            child = self._child(node, current, part)
            current = join_path(current, part)
            rest = "/".join(parts[position + 1 :])
            if isinstance(child, SoftLinkNode):
                target = join_path(posixpath.dirname(current), child.target)
                try:
                    file, name, node = self._resolve(join_path(target, rest), depth + 1)
                except DanglingLinkError:
                    raise
                except H5PathError as exc:
                    raise DanglingLinkError(
                        f"{current!r} in {self.filename} is a soft link to {child.target!r}: {exc}"
                    ) from None
                if file is not self:
                    return file, name, node
                # h5py names an object by the path used to reach it
                return self, join_path(current, rest), node
            if isinstance(child, ExternalLinkNode):
                try:
                    external = self._external(child.filename)
                    return external._resolve(join_path(child.target, rest), depth + 1)
                except H5PathError as exc:
                    raise DanglingLinkError(
                        f"{current!r} in {self.filename} is an external link to "
                        f"{child.filename}::{child.target}: {exc}"
                    ) from None
            node = child
        return self, current, node

    @staticmethod
    def _child(node: GroupNode, current: str, part: str) -> Node:
        try:
            return node.child(part)
        except H5PathError:
            raise
        except KeyError:
            raise H5PathError(f"Unable to open object: no {part!r} in {current!r}") from None

    def _raw(self, path: str) -> Node | None:
        """The node at ``path`` without resolving its last component."""
        parent, base = posixpath.split(path)
        try:
            _, _, group = self._resolve(parent, 0)
            if not isinstance(group, GroupNode):
                return None
            return group.child(base)
        except KeyError:
            return None

    def _external(self, filename: str) -> File:
        path = filename
        if not os.path.isabs(path):
            beside = os.path.join(os.path.dirname(self.filename), path)
            path = beside if os.path.exists(beside) or not os.path.exists(path) else path
        path = normalise_filename(path)
        if path == self.filename:
            return self
        if path not in self._externals:
            # the target may be any HDF5 file (detector data...): look in Redis and on disk
            options = dict(self._options)
            if options["source"] == "redis":
                options["source"] = "auto"
            self._externals[path] = File(path, **options)
        return self._externals[path]


def _make_source(
    filename: str,
    source: str,
    data_store: DataStore | str | None,
    retry_timeout: float | None,
    retry_period: float | None = None,
    follow: bool = False,
    lima: Any = None,
) -> Source:
    from .sources.hdf5 import Hdf5Source

    if source == "file":
        return Hdf5Source(filename, retry_timeout, retry_period, follow, lima)
    try:
        store = _data_store(data_store, required=source == "redis")
    except ServerConnectionError:
        if source == "redis":
            raise
        store = None
    if store is None:  # auto, and no Redis configured (or reachable): the file alone
        return Hdf5Source(filename, retry_timeout, retry_period, lima=lima)
    from .sources.redis import RedisSource

    redis_source = RedisSource(filename, store, owns_store=store is not data_store)
    if source == "redis":
        return redis_source
    from .sources.auto import AutoSource

    return AutoSource(redis_source, Hdf5Source(filename, retry_timeout, retry_period, lima=lima))


def _data_store(data_store: DataStore | str | None, required: bool) -> DataStore | None:
    if data_store is None:
        data_store = os.environ.get(REDIS_URL_ENV)
        if data_store is None:
            if required:
                raise ValueError(
                    f"source='redis' needs a data_store (DataStore or URL) or ${REDIS_URL_ENV}"
                )
            return None
    if isinstance(data_store, str):
        from blissdata_core import DataStore

        return DataStore(data_store)
    return data_store
