"""Nodes built from one ``h5maps`` item tree (the JSON a scan publishes).

Items are parsed one at a time by :mod:`blissdata_core.h5maps` (the writer's
parser); static values are decoded on access; ``{"type": "stream"}`` datasets read the
scan's stream (see :mod:`.streamed`).  Invalid items raise errors naming their
path when reached, never while listing their parent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import numpy as np

from blissdata_core import BaseStream
from blissdata_core.h5maps import OBJECT_TYPES, VALUE_TYPES, Item, parse_item
from blissdata_core.streams.capabilities import FileBacked, LinkedDataset
from blissdata_core.streams.stream import BrokenStream

from .. import values
from ..errors import H5MapError, MissingStreamError
from ..nodes import (
    DatasetNode,
    ExternalLinkNode,
    GroupNode,
    Node,
    SoftLinkNode,
    join_path,
    sort_names,
)


class ScanContext(Protocol):
    """What map nodes need from the scan that published them."""

    filename: str

    def stream(self, name: str) -> BaseStream:
        """The scan's stream ``name`` (KeyError when it has none)."""


class MapAttrs(Mapping):
    """Attributes of one item; ``ordered`` keeps creation order (a root group's)."""

    def __init__(self, raw: Any, where: str, ordered: bool = False):
        if not isinstance(raw, dict):
            raise H5MapError(where, "'attributes' must be a mapping")
        self._raw, self._where, self._ordered = raw, where, ordered

    def __getitem__(self, key: str) -> Any:
        item = self._raw[key]
        return values.as_attribute(values.decode(item, f"{self._where}@{key}"))

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._raw) if self._ordered else sort_names(self._raw))

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw


class MapGroup(GroupNode):
    def __init__(self, item: dict, path: str, context: ScanContext):
        parse_item(item, path, deep=False)  # children and attributes are mappings
        self._item, self._children, self._context = item, item.get("children", {}), context
        self._nodes: dict[str, Node] = {}
        self.path = path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return MapAttrs(self._item.get("attributes", {}), self.path)

    @property
    def raw_attributes(self) -> dict:
        return self._item.get("attributes", {})

    def keys(self) -> list[str]:
        return sort_names(self.ordered_keys())

    def ordered_keys(self) -> list[str]:
        """Children in map order (the creation order of a tracked group)."""
        return [name for name in self._children if not self._hidden(name)]

    def _hidden(self, name: str) -> bool:
        item = self._children[name]
        if isinstance(item, dict) and item.get("type") == "dataset":
            item = item.get("value")
        if not values.is_stream_ref(item):
            return False
        try:
            return getattr(self._node(name), "hidden", False)
        except Exception:  # noqa: BLE001 - a broken child is listed, and fails when opened
            return False

    def _node(self, name: str) -> Node:
        node = self._nodes.get(name)
        if node is None:
            node = make_node(self._children[name], join_path(self.path, name), self._context)
            self._nodes[name] = node
        return node

    def child(self, name: str) -> Node:
        if name not in self._children:
            raise KeyError(name)
        node = self._node(name)
        if getattr(node, "hidden", False):
            raise KeyError(name)
        return node


def make_node(item: Any, path: str, context: ScanContext) -> Node:
    """The node for one ``h5maps`` item."""
    kind = item.get("type") if isinstance(item, dict) else None
    if kind is not None and kind not in OBJECT_TYPES + VALUE_TYPES:
        raise H5MapError(path, f"unknown item type {kind!r}")
    if kind == "group":
        return MapGroup(item, path, context)
    if kind == "external_binary_dataset":
        from .external import ExternalBinaryDataset

        return ExternalBinaryDataset(item, path, context)
    if kind == "virtual_dataset":
        from .external import VirtualDataset

        return VirtualDataset(item, path, context)
    parsed: Item = parse_item(item, path, deep=False)
    if kind == "soft_link":
        return SoftLinkNode(parsed.target_path, path)
    if kind == "external_link":
        return ExternalLinkNode(parsed.target_file, parsed.target_path, path)
    if kind == "dataset":
        return _dataset(item["value"], item.get("attributes", {}), path, context)
    return _dataset(item, {}, path, context)


def _dataset(value: Any, attributes: Any, path: str, context: ScanContext) -> DatasetNode:
    attrs = MapAttrs(attributes, path)
    if values.is_stream_ref(value):
        name = value.get("stream")
        try:
            stream = context.stream(name)
        except KeyError:
            raise MissingStreamError(
                f"{path} in {context.filename}: the scan has no stream {name!r}"
            ) from None
        from .streamed import FileBackedDataset, StreamDataset, UnreadableStreamDataset

        if isinstance(stream, BrokenStream):
            return UnreadableStreamDataset(stream, attrs, path)
        if isinstance(stream, FileBacked):
            if isinstance(stream, LinkedDataset) and stream.linked_dataset() is not None:
                # the writer links the stream's dataset (in its own file): the map's
                # attributes are not written, the file shows the linked dataset's own
                attrs = MapAttrs({}, path)
            return FileBackedDataset(stream, attrs, path)
        return StreamDataset(stream, attrs, path)
    return StaticDataset(value, attrs, path)


class StaticDataset(DatasetNode):
    """A value from the map, decoded when first used (listing never decodes)."""

    def __init__(self, raw: Any, attrs: Mapping[str, Any], path: str):
        self._raw, self._attrs = raw, attrs
        self._decoded: np.ndarray | None = None
        self.path = path

    def check(self) -> None:
        self._array  # noqa: B018 - decoding is the check

    @property
    def _array(self) -> np.ndarray:
        if self._decoded is None:
            self._decoded = values.decode(self._raw, self.path)
        return self._decoded

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    def read_all(self) -> Any:
        if self._array.shape == ():
            return self._array[()]
        return values.as_dataset(self._array)

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        return values.as_dataset(self._array[start:stop:step])


def resolve_beside(filename: str, name: str) -> str:
    """A relative file name as HDF5 looks it up: beside the file, else from the cwd."""
    if os.path.isabs(name):
        return name
    beside = os.path.join(os.path.dirname(filename), name)
    return beside if os.path.exists(beside) or not os.path.exists(name) else name
