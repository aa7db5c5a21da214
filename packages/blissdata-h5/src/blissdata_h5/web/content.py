"""h5grove's content objects over the facade: what h5grove cannot do without h5py objects.

h5grove builds metadata from HDF5 identifiers (``.id``), which live data does
not have; here the same JSON shapes come from the facade's dtypes, shapes,
values and storage layout.  Data, slicing, stats and encoders are h5grove's.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
from h5grove import content as grove
from h5grove.models import LinkResolution
from h5grove.utils import get_entity_from_file, get_type_metadata, hdf_path_join, sorted_dict

from ..dataset import Dataset
from ..file import File
from ..group import Group


def type_metadata(dtype: np.dtype) -> dict:
    """h5grove's type description of a numpy dtype, as h5py would store it."""
    return get_type_metadata(h5py.h5t.py_create(dtype, logical=True))


def value_dtype(value: Any) -> np.dtype:
    """The HDF5-storable dtype of an attribute value as h5py returns it."""
    if isinstance(value, h5py.Empty):
        return value.dtype
    if isinstance(value, str):
        return h5py.string_dtype("utf-8")
    array = np.asarray(value)
    if array.dtype.kind == "O":
        first = next(iter(array.flat), "")
        return h5py.string_dtype("ascii" if isinstance(first, bytes) else "utf-8")
    if array.dtype.kind == "U":
        return h5py.string_dtype("utf-8")
    return array.dtype


def attribute_metadata(attrs: Any, name: str) -> dict:
    value = attrs[name]
    shape = None if isinstance(value, h5py.Empty) else np.shape(value)
    dtype = attrs.stored_dtype(name)
    if dtype is None:  # not from a file: the type h5py gives the value
        dtype = value_dtype(value)
    return {"name": name, "shape": shape, "type": type_metadata(dtype)}


class _Resolved(grove.ResolvedEntityContent):
    """Attribute metadata from values instead of HDF5 attribute identifiers."""

    def metadata(self, depth: int | None = None) -> dict:
        attrs = self._h5py_entity.attrs
        return sorted_dict(
            ("attributes", [attribute_metadata(attrs, name) for name in sorted(attrs)]),
            *grove.EntityContent.metadata(self).items(),
        )


class DatasetContent(grove.DatasetContent, _Resolved):
    def metadata(self, depth: int | None = None) -> dict:
        dataset = self._h5py_entity
        filters = [{"id": fid, "name": name} for fid, name in dataset.filters] or None
        return sorted_dict(
            ("chunks", dataset.chunks),
            ("filters", filters),
            ("shape", dataset.shape),
            ("type", type_metadata(dataset.dtype)),
            *_Resolved.metadata(self).items(),
        )


class GroupContent(grove.GroupContent, _Resolved):
    def _get_child_metadata_content(self, depth: int = 0) -> list:
        return [
            create_content(self._h5file, hdf_path_join(self._path, name)).metadata(depth)
            for name in self._h5py_entity.keys()
        ]


def create_content(
    file: File, path: str | None, resolve_links: LinkResolution = LinkResolution.ONLY_VALID
) -> grove.EntityContent:
    """h5grove's ``create_content`` for a facade file (same link handling, same errors)."""
    if path is None:
        path = "/"
    entity = get_entity_from_file(file, path, resolve_links)
    if isinstance(entity, h5py.ExternalLink):
        return grove.ExternalLinkContent(path, entity)
    if isinstance(entity, h5py.SoftLink):
        return grove.SoftLinkContent(path, entity)
    if isinstance(entity, Dataset):
        return DatasetContent(path, entity)
    if isinstance(entity, Group):
        return GroupContent(path, entity, file)
    raise TypeError(f"entity {type(entity)} not supported")


def list_paths(
    file: File, base_path: str | None, resolve_links: LinkResolution = LinkResolution.ONLY_VALID
) -> list[str]:
    """Every link below ``base_path``, depth first by name, not entering soft/external links."""
    base = create_content(file, base_path, resolve_links)
    if not isinstance(base, GroupContent):
        raise TypeError(f"{base.path} is not a group")
    names = [base.path]

    def walk(group: Group, relative: str) -> None:
        for key in sorted(group.keys(), key=lambda key: key.encode()):
            name = f"{relative}{key}"
            names.append(create_content(file, hdf_path_join(base_path, name), resolve_links).path)
            if isinstance(group.get(key, getlink=True), h5py.HardLink):
                child = group.get(key)
                if isinstance(child, Group):
                    walk(child, name + "/")

    walk(file[base.path], "")
    return names
