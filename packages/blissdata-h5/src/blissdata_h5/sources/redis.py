"""The file as the scans in Redis describe it.

Every scan whose ``info["h5maps"]`` names the file contributes the children
of its root item (usually one entry such as ``3.1``); a scan without
``h5maps`` at all whose identity ``path`` is the file contributes a default
NeXus-like entry (:func:`blissdata_core.h5maps.default_h5map`).  Scans are found with the search
index: those whose ``path`` is the file, and those stored below the file's
directory (their ``h5maps`` may name it too, as a master file's do).  A scan
shows from PREPARED on, when its streams and ``h5maps`` exist.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from blissdata_core import BaseStream, DataStore, Scan, ScanState
from blissdata_core.errors import BlissdataError, ScanNotFoundError
from blissdata_core.h5maps import file_key, parse_root, same_file, scan_h5maps

from ..errors import H5MapError
from ..nodes import GroupNode, Node, Source
from .maptree import MapAttrs, MapGroup

_logger = logging.getLogger(__name__)


class FileName:
    """The file's path as given and with symlinks resolved: either spelling matches
    (compared the way the writer compares h5maps keys: :func:`blissdata_core.h5maps.same_file`)."""

    def __init__(self, filename: str):
        self.path = file_key(filename)
        self.real = os.path.realpath(self.path)
        self.spellings = sorted({self.path, self.real})

    def matches(self, other: Any) -> bool:
        return isinstance(other, str) and bool(other) and same_file(other, self.path)


class ScanTree:
    """One scan's contribution to the file, rebuilt when its state changes."""

    def __init__(self, scan: Scan, name: FileName):
        self.scan = scan
        self.name = name
        self.filename = name.path
        self._root: MapGroup | None = None
        self._built = False

    @property
    def key(self) -> str:
        return self.scan.key

    def stream(self, name: str) -> BaseStream:
        return self.scan.streams[name]

    def root(self) -> MapGroup | None:
        """The scan's root group for this file, or None when it has none (yet)."""
        if self.scan.state < ScanState.CLOSED:
            if self.scan.update(block=False):
                self._built = False
        if not self._built:
            self._root = self._build()
            self._built = self.scan.state >= ScanState.PREPARED
        return self._root

    @property
    def final(self) -> bool:
        return self.scan.state >= ScanState.CLOSED

    def _build(self) -> MapGroup | None:
        if self.scan.state < ScanState.PREPARED:
            return None
        h5maps = scan_h5maps(self.scan)  # the default tree when the scan has none
        if not isinstance(h5maps, dict):
            raise H5MapError(f"scan {self.key}", "info['h5maps'] must be a mapping")
        item = next((v for k, v in h5maps.items() if self.name.matches(k)), None)
        if item is None:
            return None
        parse_root(item, f"{self.filename} (scan {self.key})", deep=False)
        return MapGroup(item, "/", self)


class RedisSource(Source):
    kind = "redis"

    def __init__(self, filename: str, data_store: DataStore, owns_store: bool = False):
        self.filename = filename
        self.name = FileName(filename)
        self.data_store = data_store
        self._owns_store = owns_store
        self._trees: dict[str, ScanTree] = {}
        self._unrelated: set[str] = set()
        self._searched_at = -1.0

    def root(self) -> GroupNode:
        return RedisRoot(self)

    # --- scans ---------------------------------------------------------------
    def _search(self) -> list[str]:
        """Scans whose ``path`` is the file, plus nearby ones whose ``h5maps`` name it."""
        store = self.data_store
        keys: set[str] = set()
        nearby: set[str] = set()
        for spelling in self.name.spellings:
            keys |= set(store.search_existing_scans(path=spelling)[1])
            directory = os.path.dirname(spelling).rstrip("/")
            try:
                nearby |= set(store.search_existing_scans(path=directory + "/*")[1])
            except (BlissdataError, ValueError):  # e.g. a directory too short to search
                pass
        candidates = sorted(nearby - keys - self._unrelated - set(self._trees))
        return sorted(keys | set(self._trees) & nearby | set(self._naming_this_file(candidates)))

    def _naming_this_file(self, keys: list[str]) -> list[str]:
        """Keep the scans whose ``h5maps`` name this file, or may still do (not closed).

        Reads only the ``h5maps`` keys of each scan document (a protocol fact:
        ``info.h5maps`` maps file paths to items), not whole scans.
        """
        if not keys:
            return []
        pipe = self.data_store.redis.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("JSON.OBJKEYS", key, "$.info.h5maps")
        replies = pipe.execute(raise_on_error=False)
        naming, other = [], []
        for key, reply in zip(keys, replies):
            names = reply[0] if isinstance(reply, list) and reply and reply[0] else []
            files = [n.decode() if isinstance(n, bytes) else n for n in names]
            (naming if any(self.name.matches(f) for f in files) else other).append(key)
        try:
            states = self.data_store.get_scans_state(other)
        except ScanNotFoundError:
            states = {}
        for key in other:
            if states.get(key) == ScanState.CLOSED:
                self._unrelated.add(key)  # final h5maps without this file
            elif key in states and states[key] < ScanState.PREPARED:
                naming.append(key)  # its h5maps are not published yet
        return naming

    def refresh(self) -> None:
        """Find scans created or deleted since the last search."""
        keys = self._search()
        self._searched_at = time.monotonic()
        for key in list(self._trees):
            if key not in keys:
                del self._trees[key]
        for key in keys:
            if key in self._trees or key in self._unrelated:
                continue
            try:
                scan = self.data_store.load_scan(key)
            except ScanNotFoundError:
                continue
            self._trees[key] = ScanTree(scan, self.name)

    def roots(self) -> Iterator[tuple[ScanTree, MapGroup]]:
        """Each contributing scan with its root group, oldest first."""
        for key in sorted(self._trees):
            tree = self._trees.get(key)
            if tree is None:
                continue
            try:
                root = tree.root()
            except ScanNotFoundError:
                self._trees.pop(key, None)
                continue
            except H5MapError as exc:  # one broken scan must not hide the others
                _logger.warning("Scan %s left out of %s: %s", key, self.filename, exc)
                continue
            if root is None:
                if tree.final:  # closed without naming this file: never will
                    self._unrelated.add(key)
                    self._trees.pop(key, None)
                continue
            yield tree, root

    def entries(self) -> dict[str, tuple[ScanTree, MapGroup]]:
        """Top-level name -> the (newest) scan that provides it."""
        found: dict[str, tuple[ScanTree, MapGroup]] = {}
        for tree, root in self.roots():
            for name in root.ordered_keys():
                found.pop(name, None)
                found[name] = (tree, root)
        return found

    def close(self) -> None:
        self._trees.clear()
        if self._owns_store:  # made here from a URL
            self.data_store.close()


class RedisRoot(GroupNode):
    path = "/"

    def __init__(self, source: RedisSource):
        self._source = source

    # The writer creates files with tracked creation order at the root: entries
    # and root attributes list in the order scans (and their maps) added them.
    @property
    def attrs(self) -> Mapping[str, Any]:
        self._source.refresh()
        merged: dict[str, Any] = {}
        for _, root in self._source.roots():
            for name, value in root.raw_attributes.items():
                merged.pop(name, None)  # h5py re-creates an attribute it overwrites
                merged[name] = value
        return MapAttrs(merged, "/", ordered=True)

    def keys(self) -> list[str]:
        self._source.refresh()
        return list(self._source.entries())

    def child(self, name: str) -> Node:
        if self._source._searched_at < 0:
            self._source.refresh()
        entry = self._source.entries().get(name)
        if entry is None:  # maybe a scan created since the last search
            self._source.refresh()
            entry = self._source.entries().get(name)
        if entry is None:
            raise KeyError(name)
        return entry[1].child(name)
