"""Datasets whose data lives in other files: raw binary files, virtual sources.

Relative file names are looked up beside the HDF5 file first, then from the
current directory.  Virtual datasets support regular hyperslab selections
(``start``, ``stride``, ``count``; blocks of 1, what writers emit for frame
stacks); anything else raises :class:`~blissdata_h5.errors.H5MapError`
naming the dataset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from blissdata_core.h5maps import parse_item
from blissdata_core.streams.file_formats import open_hdf5_file

from ..errors import H5MapError
from ..nodes import DatasetNode
from .maptree import MapAttrs, ScanContext, resolve_beside


def _shape_and_dtype(item: dict, path: str) -> tuple[tuple[int, ...], np.dtype]:
    parsed = parse_item(item, path, deep=False)  # checks every member of the item
    return parsed.shape, np.dtype(parsed.dtype)


class _WholeArrayDataset(DatasetNode):
    """Reads everything on first access: these datasets are final once published."""

    def __init__(self, item: dict, path: str, context: ScanContext):
        self._shape, self._dtype = _shape_and_dtype(item, path)
        self._attrs = MapAttrs(item.get("attributes", {}), path)
        self._item, self._context = item, context
        self._data: np.ndarray | None = None
        self.path = path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self._attrs

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    def _array(self) -> np.ndarray:
        if self._data is None:
            self._data = self._load()
        return self._data

    def _load(self) -> np.ndarray:
        raise NotImplementedError

    def read_all(self) -> Any:
        array = self._array()
        return array[()] if array.shape == () else array.copy()

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        return self._array()[start:stop:step].copy()


class ExternalBinaryDataset(_WholeArrayDataset):
    def _load(self) -> np.ndarray:
        files = self._item.get("files")
        if not isinstance(files, list) or not files:
            raise H5MapError(self.path, "'files' must be a non-empty list")
        needed = math.prod(self._shape) * self._dtype.itemsize
        chunks = []
        for entry in files:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise H5MapError(self.path, f"bad external file entry {entry!r}")
            name = resolve_beside(self._context.filename, entry["name"])
            offset, size = int(entry.get("offset", 0)), entry.get("size")
            try:
                with open(name, "rb") as handle:
                    handle.seek(offset)
                    chunks.append(handle.read(-1 if size is None else int(size)))
            except OSError as exc:
                raise H5MapError(self.path, f"cannot read external file {name}: {exc}") from exc
        raw = b"".join(chunks)[:needed]
        raw += b"\0" * (needed - len(raw))
        return np.frombuffer(raw, dtype=self._dtype).reshape(self._shape)


class VirtualDataset(_WholeArrayDataset):
    def _load(self) -> np.ndarray:
        out = np.zeros(self._shape, dtype=self._dtype)
        sources = self._item.get("virtual_sources")
        if not isinstance(sources, list) or not sources:
            raise H5MapError(self.path, "'virtual_sources' must be a non-empty list")
        for source in sources:
            try:
                vsel = _selection(source["vspace"], self.path)
                ssel = _selection(source["src_space"], self.path)
                name = resolve_beside(self._context.filename, source["src_file"])
                with open_hdf5_file(name) as h5:
                    out[vsel] = h5[source["src_dataset"]][ssel]
            except (KeyError, TypeError, OSError, ValueError) as exc:
                if isinstance(exc, H5MapError):
                    raise
                raise H5MapError(
                    self.path, f"cannot read virtual source {source!r}: {exc}"
                ) from exc
        return out


def _selection(space: dict, path: str) -> tuple[slice, ...]:
    """A regular hyperslab (start, stride, count; blocks of 1) as slices."""
    start, count = space["start"], space["count"]
    stride = space.get("stride") or [1] * len(start)
    if any(b != 1 for b in space.get("block") or []):
        raise H5MapError(path, "virtual selections with blocks larger than 1 are not supported")
    return tuple(slice(a, a + s * (n - 1) + 1, s) for a, s, n in zip(start, stride, count))
