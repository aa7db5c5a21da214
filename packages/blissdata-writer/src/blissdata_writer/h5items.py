"""The ``h5maps`` item tree: JSON items parsed into plain objects, values decoded to numpy.

A scan's ``info["h5maps"]`` maps each target file to a tree of items (group,
dataset, links, external and virtual datasets). Parsing validates the whole
tree up front so that a bad map fails the scan before anything is written.
Values keep their raw JSON next to the decoded array: comparing raw JSON is how
the writer finds what changed between PREPARED and CLOSED.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from blissdata_core.encoding.numeric import check_integer_range

from .errors import H5MapError

#: Item types that are HDF5 objects; any other child is a dataset given by its value.
OBJECT_TYPES = (
    "group",
    "dataset",
    "soft_link",
    "external_link",
    "external_binary_dataset",
    "virtual_dataset",
)

# numpy dtype names accepted by {"type": "inline"}: numbers and booleans only
_INLINE_DTYPE = re.compile(
    r"^(bool|(int|uint)(8|16|32|64)|float(16|32|64|128)|complex(64|128|256))$"
)
# array-interface type strings accepted for binary data (endianness included)
_BINARY_DTYPE = re.compile(r"^(\|?[iub]1|[><]([iuf][248]|[fc](8|16)|c32))$")

#: Variable-length UTF-8 strings, as h5py reads them back.
STRING_DTYPE = h5py.string_dtype()


@dataclass(frozen=True)
class StreamRef:
    """A dataset whose data comes from a scan stream."""

    stream: str


@dataclass(frozen=True)
class Value:
    """A data item: its raw JSON (for comparisons) and what it decodes to."""

    raw: Any
    data: np.ndarray | StreamRef

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and self.raw == other.raw

    def __hash__(self) -> int:  # pragma: no cover - values live in dicts, not sets
        return id(self)


@dataclass(eq=False)
class Item:
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


# --- values -------------------------------------------------------------------


def decode_value(raw: Any, where: str, allow_stream: bool = True) -> Value:
    """Parse one data item (raw JSON, inline, inline_b64, compound, stream)."""
    return Value(raw, _decode(raw, where, allow_stream))


def _decode(raw: Any, where: str, allow_stream: bool) -> np.ndarray | StreamRef:
    if isinstance(raw, dict):
        kind = raw.get("type")
        if kind == "stream" and allow_stream:
            name = raw.get("stream")
            if not isinstance(name, str):
                raise H5MapError(f"{where}: stream reference without a stream name")
            return StreamRef(name)
        if kind == "inline":
            return _decode_inline(raw, where)
        if kind == "inline_b64":
            return _decode_b64(raw, where)
        if kind == "compound":
            return _decode_compound(raw, where)
        raise H5MapError(f"{where}: not a value item (type {kind!r})")
    return _decode_raw(raw, where)


def _decode_raw(raw: Any, where: str) -> np.ndarray:
    """Plain JSON: bool < int64 < float64 < str, finite numbers only."""
    try:
        array = np.asarray(raw)
    except ValueError as exc:  # ragged nesting
        raise H5MapError(f"{where}: {exc}") from None
    kind = array.dtype.kind
    if kind == "f":
        if not np.isfinite(array).all():
            raise H5MapError(f"{where}: non-finite number in a raw value (use an inline item)")
        return array.astype(np.float64)
    if kind in "iu":
        return array.astype(np.int64)
    if kind == "b":
        return array
    if kind == "U":
        return _strings(array)
    raise H5MapError(f"{where}: cannot store {raw!r} as a dataset or attribute value")


def _strings(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=STRING_DTYPE)
    out[...] = array.astype(object)
    return out


def _check_inline(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_check_inline(v, where) for v in value]
    if isinstance(value, str | bool | int | float):
        return value
    raise H5MapError(f"{where}: inline value {value!r} is not a number, string or list")


def _decode_inline(raw: dict, where: str) -> np.ndarray:
    dtype = raw.get("dtype")
    if not isinstance(dtype, str) or not _INLINE_DTYPE.match(dtype):
        raise H5MapError(f"{where}: inline dtype {dtype!r} is not a numeric numpy name")
    if "value" not in raw:
        raise H5MapError(f"{where}: inline item without a value")
    try:
        value = _check_inline(raw["value"], where)
        check_integer_range(value, dtype)  # older numpy would wrap around silently
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise H5MapError(f"{where}: {exc}") from None


def _decode_b64(raw: dict, where: str) -> np.ndarray:
    dtype, shape = raw.get("dtype"), raw.get("shape")
    if not isinstance(dtype, str) or not _BINARY_DTYPE.match(dtype):
        raise H5MapError(f"{where}: inline_b64 dtype {dtype!r} is not an array-interface string")
    try:
        data = base64.b64decode(raw.get("value", ""), validate=True)
        array = np.frombuffer(data, dtype=dtype)
        return array.reshape(shape) if shape is not None else array
    except (binascii.Error, ValueError, TypeError) as exc:
        raise H5MapError(f"{where}: bad inline_b64 value: {exc}") from None


def _decode_compound(raw: dict, where: str) -> np.ndarray:
    columns = raw.get("columns")
    if not isinstance(columns, list) or not columns:
        raise H5MapError(f"{where}: compound needs a non-empty list of columns")
    names, arrays = [], []
    for column in columns:
        if not (
            isinstance(column, list | tuple) and len(column) == 2 and isinstance(column[0], str)
        ):
            raise H5MapError(f"{where}: compound column must be [name, value]")
        names.append(column[0])
        arrays.append(_decode(column[1], f"{where}[{column[0]}]", allow_stream=False))
    if len(set(names)) != len(names):
        raise H5MapError(f"{where}: compound columns with the same name")
    if len({a.shape for a in arrays}) != 1:
        raise H5MapError(f"{where}: compound columns have different shapes")
    out = np.empty(arrays[0].shape, dtype=[(n, a.dtype) for n, a in zip(names, arrays)])
    for name, array in zip(names, arrays):
        out[name] = array
    return out


# --- items --------------------------------------------------------------------


def parse_item(raw: Any, where: str = "/") -> Item:
    """Parse and validate one item and everything below it."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in OBJECT_TYPES:
        return Dataset(raw=raw, value=decode_value(raw, where))
    attributes = _attributes(raw, where)
    if kind == "group":
        children = raw.get("children", {})
        if not isinstance(children, dict):
            raise H5MapError(f"{where}: group children must be a mapping")
        return Group(
            raw=raw,
            attributes=attributes,
            children={
                name: parse_item(child, _join(where, name)) for name, child in children.items()
            },
        )
    if kind == "dataset":
        if "value" not in raw:
            raise H5MapError(f"{where}: dataset without a value")
        return Dataset(raw=raw, attributes=attributes, value=decode_value(raw["value"], where))
    if kind == "soft_link":
        return SoftLink(raw=raw, target_path=_text(raw, "target_path", where))
    if kind == "external_link":
        return ExternalLink(
            raw=raw,
            target_file=_text(raw, "target_file", where),
            target_path=_text(raw, "target_path", where),
        )
    dtype = raw.get("dtype")
    if not isinstance(dtype, str) or not _BINARY_DTYPE.match(dtype):
        raise H5MapError(f"{where}: dtype {dtype!r} is not an array-interface string")
    shape = _shape(raw.get("shape"), where)
    if kind == "external_binary_dataset":
        files = raw.get("files")
        if not isinstance(files, list) or not files:
            raise H5MapError(f"{where}: external_binary_dataset needs a non-empty list of files")
        try:
            parsed = [(f["name"], int(f["offset"]), f.get("size")) for f in files]
        except (KeyError, TypeError, ValueError):
            raise H5MapError(f"{where}: external file needs name and offset") from None
        return ExternalBinaryDataset(
            raw=raw, attributes=attributes, dtype=dtype, shape=shape, files=parsed
        )
    sources = raw.get("virtual_sources")
    if not isinstance(sources, list) or not sources:
        raise H5MapError(f"{where}: virtual_dataset needs a non-empty list of virtual_sources")
    try:
        parsed_sources = [
            VirtualSource(s["vspace"], s["src_file"], s["src_dataset"], s["src_space"])
            for s in sources
        ]
    except (KeyError, TypeError):
        raise H5MapError(
            f"{where}: virtual source needs vspace, src_file, src_dataset, src_space"
        ) from None
    return VirtualDataset(
        raw=raw, attributes=attributes, dtype=dtype, shape=shape, sources=parsed_sources
    )


def parse_root(raw: Any, file_path: str) -> Group:
    """The item of one target file must be a group (the file's root)."""
    item = parse_item(raw, "/")
    if not isinstance(item, Group):
        raise H5MapError(f"{file_path}: the root item of a file must be a group")
    return item


def _attributes(raw: dict, where: str) -> dict[str, Value]:
    attrs = raw.get("attributes", {})
    if not isinstance(attrs, dict):
        raise H5MapError(f"{where}: attributes must be a mapping")
    return {k: decode_value(v, f"{where}@{k}", allow_stream=False) for k, v in attrs.items()}


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise H5MapError(f"{where}: {key} must be a string")
    return value


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise H5MapError(f"{where}: shape must be a list of non-negative integers")
    return tuple(shape)


def _join(parent: str, name: str) -> str:
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
        child_path = _join(path, name)
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
    changed = {_join(path, k) for k in a.children.keys() ^ b.children.keys()}
    for name in a.children.keys() & b.children.keys():
        changed |= diff(a.children[name], b.children[name], _join(path, name))
    if a.attributes != b.attributes:
        changed.add(path)
    return changed
