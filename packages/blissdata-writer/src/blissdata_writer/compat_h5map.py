"""``blissdata.h5map`` under ``blissdata_core.install_as_blissdata()`` (what blisswriter reads).

The reference describes a scan's ``h5maps`` with pydantic models; here the
core h5maps parser (:mod:`blissdata_core.h5maps`) validates the tree and the result is
handed out with the reference's class and field names: ``Group.children``,
``.attributes`` (values with ``decode()``), ``Dataset.value`` (a data item, or
a :class:`Stream` reference), link targets, external files.  Items compare
equal when their JSON is equal (a group: when its attributes are), as the
reference's models do for the maps blisswriter diffs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from blissdata_core import h5maps

__all__ = [
    "HDF5Item", "HDF5ItemType", "DataItem", "DataItemType", "Group", "Dataset",
    "ExternalBinaryDataset", "ExternalBinaryFile", "SoftLink", "ExternalLink",
    "VirtualDataset", "VirtualSource", "Stream", "Inline",
]  # fmt: skip


@dataclass(eq=False)
class Inline:
    """A data item with a value (raw JSON, inline, base64, compound); ``decode()`` gives numpy."""

    raw: Any
    data: Any

    def decode(self) -> Any:
        return self.data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Inline) and self.raw == other.raw


@dataclass(frozen=True)
class Stream:
    """A dataset filled from a scan stream (a reference, not a value)."""

    stream: str
    type: Literal["stream"] = "stream"

    def decode(self) -> Any:
        raise TypeError("a stream item is a reference to a stream, it has no value to decode")


DataItemType = Inline | Stream


@dataclass
class Group:
    attributes: dict[str, DataItemType] = field(default_factory=dict)
    children: dict[str, Any] = field(default_factory=dict)
    type: Literal["group"] = "group"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and self.attributes == other.attributes


@dataclass
class Dataset:
    value: DataItemType
    attributes: dict[str, DataItemType] = field(default_factory=dict)
    type: Literal["dataset"] = "dataset"


@dataclass
class SoftLink:
    target_path: str
    type: Literal["soft_link"] = "soft_link"


@dataclass
class ExternalLink:
    target_file: str
    target_path: str
    type: Literal["external_link"] = "external_link"


@dataclass
class ExternalBinaryFile:
    name: str
    offset: int
    size: int | None = None


@dataclass
class ExternalBinaryDataset:
    dtype: str
    shape: list[int]
    files: list[ExternalBinaryFile]
    attributes: dict[str, DataItemType] = field(default_factory=dict)
    type: Literal["external_binary_dataset"] = "external_binary_dataset"


@dataclass
class VirtualSource:
    vspace: dict
    src_file: str
    src_dataset: str
    src_space: dict


@dataclass
class VirtualDataset:
    dtype: str
    shape: list[int]
    virtual_sources: list[VirtualSource]
    attributes: dict[str, DataItemType] = field(default_factory=dict)
    type: Literal["virtual_dataset"] = "virtual_dataset"


HDF5ItemType = Group | Dataset | ExternalBinaryDataset | SoftLink | ExternalLink | VirtualDataset


def _value(value: h5maps.Value) -> DataItemType:
    if isinstance(value.data, h5maps.StreamRef):
        return Stream(value.data.stream)
    return Inline(value.raw, value.data)


def _attributes(item: h5maps.Item) -> dict[str, DataItemType]:
    return {name: _value(v) for name, v in item.attributes.items()}


def convert(item: h5maps.Item) -> HDF5ItemType:
    """The reference-shaped object for one parsed item (and its children)."""
    if isinstance(item, h5maps.Group):
        children = {name: convert(child) for name, child in item.children.items()}
        return Group(_attributes(item), children)
    if isinstance(item, h5maps.Dataset):
        assert item.value is not None
        return Dataset(_value(item.value), _attributes(item))
    if isinstance(item, h5maps.SoftLink):
        return SoftLink(item.target_path)
    if isinstance(item, h5maps.ExternalLink):
        return ExternalLink(item.target_file, item.target_path)
    if isinstance(item, h5maps.ExternalBinaryDataset):
        files = [ExternalBinaryFile(n, o, s) for n, o, s in item.files]
        return ExternalBinaryDataset(item.dtype, list(item.shape), files, _attributes(item))
    if isinstance(item, h5maps.VirtualDataset):
        sources = [
            VirtualSource(s.vspace, s.src_file, s.src_dataset, s.src_space) for s in item.sources
        ]
        return VirtualDataset(item.dtype, list(item.shape), sources, _attributes(item))
    raise TypeError(f"unknown h5map item {item!r}")


class _Adapter:
    """``HDF5Item`` / ``DataItem``: ``validate_python(raw)`` parses and validates JSON."""

    def __init__(self, parse: Any):
        self._parse = parse

    def validate_python(self, raw: Any) -> Any:
        return self._parse(raw)


HDF5Item = _Adapter(lambda raw: convert(h5maps.parse_item(raw)))
DataItem = _Adapter(lambda raw: _value(h5maps.decode_value(raw, "/")))
