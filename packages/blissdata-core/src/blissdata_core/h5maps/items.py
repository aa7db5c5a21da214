"""h5maps items (PROTOCOL.md section 11.1) parsed into typed objects.

The writer parses a whole tree up front (:func:`parse_root`), so a bad map
fails the scan before anything is written; the h5 facade parses one item at a
time with :func:`parse_item` (``deep=False``), so that a broken item fails
only when it is opened.  Items keep their raw JSON: comparing it is how the
writer finds what changed between PREPARED and CLOSED (:func:`diff`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import H5MapError
from .paths import file_key
from .values import StreamRef, Value, check_binary_dtype, decode_value

#: Item types that are HDF5 objects; any other child is a dataset given by its value.
OBJECT_TYPES = (
    "group",
    "dataset",
    "soft_link",
    "external_link",
    "external_binary_dataset",
    "virtual_dataset",
)


@dataclass(eq=False)
class Item:
    """One parsed item: its raw JSON (compared to find changes) and its attributes."""

    raw: Any = None
    attributes: dict[str, Value] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Same type, same JSON; a group's children are compared by the diff, not here."""
        if type(other) is not type(self):
            return False
        if isinstance(self, Group):
            return self.attributes == other.attributes
        return self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]


@dataclass(eq=False)
class Group(Item):
    children: dict[str, Item] = field(default_factory=dict)


@dataclass(eq=False)
class Dataset(Item):
    """A dataset; ``value`` is None only when parsed with ``deep=False``."""

    value: Value | None = None

    @property
    def stream(self) -> str | None:
        data = self.value.data if self.value is not None else None
        return data.stream if isinstance(data, StreamRef) else None


@dataclass(eq=False)
class SoftLink(Item):
    target_path: str = ""


@dataclass(eq=False)
class ExternalLink(Item):
    target_file: str = ""
    target_path: str = ""


@dataclass(eq=False)
class ExternalBinaryDataset(Item):
    dtype: str = ""
    shape: tuple[int, ...] = ()
    files: list[tuple[str, int, int | None]] = field(default_factory=list)


@dataclass(eq=False)
class VirtualSource:
    vspace: dict
    src_file: str
    src_dataset: str
    src_space: dict


@dataclass(eq=False)
class VirtualDataset(Item):
    dtype: str = ""
    shape: tuple[int, ...] = ()
    sources: list[VirtualSource] = field(default_factory=list)


# --- items --------------------------------------------------------------------


def parse_item(raw: Any, where: str = "/", deep: bool = True) -> Item:
    """Parse and validate one item and, when ``deep``, everything below it.

    With ``deep=False`` a group has no parsed children (read them from
    ``raw["children"]``), and neither attributes nor a dataset's value are
    decoded: the caller decodes them when used, with :func:`decode_value`.
    """
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in OBJECT_TYPES:
        return Dataset(raw=raw, value=decode_value(raw, where) if deep else None)
    attributes = _attributes(raw, where, deep)
    if kind == "group":
        children = raw.get("children", {})
        if not isinstance(children, dict):
            raise H5MapError(where, "group children must be a mapping")
        if not deep:
            return Group(raw=raw, attributes=attributes)
        return Group(
            raw=raw,
            attributes=attributes,
            children={
                name: parse_item(child, join_path(where, name)) for name, child in children.items()
            },
        )
    if kind == "dataset":
        if "value" not in raw:
            raise H5MapError(where, "dataset without a value")
        value = decode_value(raw["value"], where) if deep else None
        return Dataset(raw=raw, attributes=attributes, value=value)
    if kind == "soft_link":
        return SoftLink(raw=raw, target_path=_text(raw, "target_path", where))
    if kind == "external_link":
        return ExternalLink(
            raw=raw,
            target_file=_text(raw, "target_file", where),
            target_path=_text(raw, "target_path", where),
        )
    dtype = check_binary_dtype(raw.get("dtype"), where)
    shape = _shape(raw.get("shape"), where)
    if kind == "external_binary_dataset":
        files = raw.get("files")
        if not isinstance(files, list) or not files:
            raise H5MapError(where, "external_binary_dataset needs a non-empty list of files")
        try:
            parsed = [(f["name"], int(f["offset"]), f.get("size")) for f in files]
        except (KeyError, TypeError, ValueError):
            raise H5MapError(where, "external file needs name and offset") from None
        return ExternalBinaryDataset(
            raw=raw, attributes=attributes, dtype=dtype, shape=shape, files=parsed
        )
    sources = raw.get("virtual_sources")
    if not isinstance(sources, list) or not sources:
        raise H5MapError(where, "virtual_dataset needs a non-empty list of virtual_sources")
    try:
        parsed_sources = [
            VirtualSource(s["vspace"], s["src_file"], s["src_dataset"], s["src_space"])
            for s in sources
        ]
    except (KeyError, TypeError):
        raise H5MapError(
            where, "virtual source needs vspace, src_file, src_dataset, src_space"
        ) from None
    return VirtualDataset(
        raw=raw, attributes=attributes, dtype=dtype, shape=shape, sources=parsed_sources
    )


def parse_root(raw: Any, file_path: str, deep: bool = True) -> Group:
    """The item of one target file: a group with ``"type": "group"`` (the file's root)."""
    if not isinstance(raw, dict) or raw.get("type") != "group":
        raise H5MapError(file_path, "the root item must be a group")
    item = parse_item(raw, "/", deep)
    assert isinstance(item, Group)
    return item


def parse_maps(h5maps: Any) -> dict[str, Group]:
    """Every file of a scan's ``info["h5maps"]``, parsed and validated whole."""
    if not isinstance(h5maps, dict):
        raise H5MapError("info", "'h5maps' must map file paths to root groups")
    maps: dict[str, Group] = {}
    for path, raw in h5maps.items():
        # absolute keys in their one spelling (a relative one is kept as given: writers refuse it)
        key = file_key(path) if isinstance(path, str) and os.path.isabs(path) else path
        if key in maps:
            raise H5MapError("info", f"'h5maps' names the file {key!r} twice")
        maps[key] = parse_root(raw, path)
    return maps


def _attributes(raw: dict, where: str, deep: bool = True) -> dict[str, Value]:
    attrs = raw.get("attributes", {})
    if not isinstance(attrs, dict):
        raise H5MapError(where, "attributes must be a mapping")
    if not deep:
        return {}
    return {k: decode_value(v, f"{where}@{k}", allow_stream=False) for k, v in attrs.items()}


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise H5MapError(where, f"{key} must be a non-empty string")
    return value


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise H5MapError(where, "shape must be a list of non-negative integers")
    return tuple(shape)


def join_path(parent: str, name: str) -> str:
    return parent.rstrip("/") + "/" + name


# --- walking ------------------------------------------------------------------


def get_item(root: Group, path: str) -> Item | None:
    """The item at an absolute path, or None."""
    item: Item = root
    for part in [p for p in path.split("/") if p]:
        if not isinstance(item, Group) or part not in item.children:
            return None
        item = item.children[part]
    return item


def stream_datasets(root: Group, path: str = "/") -> dict[str, str]:
    """{dataset path: stream name} for every streamed dataset under ``root``."""
    found: dict[str, str] = {}
    for name, child in root.children.items():
        child_path = join_path(path, name)
        if isinstance(child, Group):
            found.update(stream_datasets(child, child_path))
        elif isinstance(child, Dataset) and child.stream is not None:
            found[child_path] = child.stream
    return found


def diff(a: Item, b: Item, path: str = "/") -> set[str]:
    """Paths whose item differs between two trees (groups: attributes only, then recurse)."""
    if type(a) is not type(b):
        return {path}
    if not isinstance(a, Group):
        return set() if a == b else {path}
    assert isinstance(b, Group)
    changed = {join_path(path, k) for k in a.children.keys() ^ b.children.keys()}
    for name in a.children.keys() & b.children.keys():
        changed |= diff(a.children[name], b.children[name], join_path(path, name))
    if a.attributes != b.attributes:
        changed.add(path)
    return changed
