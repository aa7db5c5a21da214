"""h5maps items -> HDF5 objects: the static part of a scan's file, and its update at CLOSED.

Streamed datasets are skipped here: :mod:`blissdata_writer.datasets` creates
them when data arrives. The layout written matches what blisswriter 3.0 writes
for the same map (plain ``create_dataset`` of the decoded values, strings as
variable-length UTF-8, root created with tracked order).
"""

from __future__ import annotations

import datetime
import posixpath
from collections.abc import Iterable

import h5py
import numpy as np

from blissdata_core.h5maps import (
    Dataset,
    ExternalBinaryDataset,
    ExternalLink,
    Group,
    Item,
    SoftLink,
    StreamRef,
    Value,
    VirtualDataset,
    get_item,
)

from .errors import EntryExistsError


def open_file(path: str, new: bool = False) -> h5py.File:
    """Open a target file for appending entries; ``new``: an empty file to initialise."""
    return h5py.File(path, mode="w" if new else "a", track_order=True)


def check_free(file: h5py.File, root: Group, path: str) -> None:
    """Refuse a map whose top-level items already exist (another scan's entry) in ``path``."""
    taken = sorted(name for name in root.children if name in file)
    if taken:
        raise EntryExistsError(f"{path}: {', '.join(taken)} already exist(s) in the file")


def remove_entries(file: h5py.File, root: Group) -> None:
    """Delete this map's top-level items: a resumed scan is written again from scratch."""
    for name in root.children:
        if name in file:
            del file[name]


def write_root(file: h5py.File, root: Group) -> None:
    """Write a whole map (root attributes, every static item)."""
    write_group(file, "/", root)
    stamp_file(file)


def stamp_file(file: h5py.File) -> None:
    """Writer-specific root attributes (allowed to differ between writers)."""
    now = datetime.datetime.now().astimezone().isoformat()
    for name, value in (
        ("HDF5_Version", h5py.version.hdf5_version),
        ("h5py_version", h5py.version.version),
        ("file_time", now),
        ("creator", "blissdata-writer"),
    ):
        if name not in file.attrs:
            file.attrs[name] = value
    file.attrs["file_update_time"] = now


def write_attributes(obj: h5py.HLObject, attributes: dict[str, Value]) -> None:
    for name, value in attributes.items():
        obj.attrs[name] = value.data


def write_item(parent: h5py.Group, name: str, item: Item) -> None:
    if isinstance(item, Group):
        write_group(parent, name, item)
    elif isinstance(item, Dataset):
        if isinstance(item.value.data, StreamRef):
            return  # created from the stream's data, see datasets.py
        dset = parent.create_dataset(name, data=item.value.data)
        write_attributes(dset, item.attributes)
    elif isinstance(item, SoftLink):
        parent[name] = h5py.SoftLink(item.target_path)
    elif isinstance(item, ExternalLink):
        parent[name] = h5py.ExternalLink(item.target_file, item.target_path)
    elif isinstance(item, ExternalBinaryDataset):
        external = [
            (fname, offset, h5py.h5f.UNLIMITED if size is None else size)
            for fname, offset, size in item.files
        ]
        dset = parent.create_dataset(
            name, shape=item.shape, dtype=np.dtype(item.dtype), external=external
        )
        write_attributes(dset, item.attributes)
    elif isinstance(item, VirtualDataset):
        write_virtual_dataset(parent, name, item)


def write_group(parent: h5py.Group, name: str, item: Group) -> None:
    group = parent.require_group(name)
    write_attributes(group, item.attributes)
    for child_name, child in item.children.items():
        write_item(group, child_name, child)


def _selection(space: dict) -> tuple[slice, ...]:
    """A hyperslab (start, stride, count, block) as slices; blocks of 1 only."""
    start, count = space["start"], space["count"]
    stride = space.get("stride") or [1] * len(start)
    block = space.get("block") or [1] * len(start)
    if any(b != 1 for b in block):
        raise NotImplementedError("virtual sources with blocks larger than 1")
    return tuple(slice(s, s + st * (c - 1) + 1, st) for s, st, c in zip(start, stride, count))


def write_virtual_dataset(parent: h5py.Group, name: str, item: VirtualDataset) -> None:
    # blisswriter 3.0.0 does not write these (it prints "not supported"); we do.
    dtype = np.dtype(item.dtype)
    layout = h5py.VirtualLayout(shape=item.shape, dtype=dtype)
    for source in item.sources:
        count = tuple(source.src_space["count"])
        vsource = h5py.VirtualSource(
            source.src_file, source.src_dataset, shape=_source_shape(source), dtype=dtype
        )
        layout[_selection(source.vspace)] = (
            vsource[_selection(source.src_space)] if count else vsource
        )
    dset = parent.create_virtual_dataset(name, layout)
    write_attributes(dset, item.attributes)


def _source_shape(source) -> tuple[int, ...]:
    space = source.src_space
    stride = space.get("stride") or [1] * len(space["start"])
    return tuple(s + st * (c - 1) + 1 for s, st, c in zip(space["start"], stride, space["count"]))


def update_file(
    file: h5py.File, prev: Group, new: Group, changed: Iterable[str], streamed: set[str]
) -> None:
    """Bring the file from ``prev`` to ``new`` for the paths that differ.

    ``streamed`` holds the paths of datasets made from streams: their data stays,
    only their attributes follow the new map.
    """
    for path in sorted(changed, key=lambda p: p.count("/")):
        before, after = get_item(prev, path), get_item(new, path)
        parent_path, name = posixpath.split(path)
        if after is None:
            if path in file or _is_link(file, path):
                del file[path]
        elif before is None:
            if parent_path in file:
                write_item(file[parent_path], name, after)
        elif isinstance(before, Group) and isinstance(after, Group):
            obj = file[path]
            for key in before.attributes.keys() - after.attributes.keys():
                del obj.attrs[key]
            for key, value in after.attributes.items():
                if before.attributes.get(key) != value:
                    obj.attrs[key] = value.data
        elif path in streamed and isinstance(after, Dataset) and after.stream is not None:
            if path in file:
                replace_attributes(file[path], after.attributes)
        else:
            if path in file or _is_link(file, path):
                del file[path]
            write_item(file[parent_path], name, after)


def replace_attributes(obj: h5py.HLObject, attributes: dict[str, Value]) -> None:
    for key in set(obj.attrs.keys()) - attributes.keys():
        del obj.attrs[key]
    write_attributes(obj, attributes)


def _is_link(file: h5py.File, path: str) -> bool:
    """True when a link of that name exists, even dangling (``in`` follows links)."""
    parent_path, name = posixpath.split(path)
    parent = file.get(parent_path)
    return isinstance(parent, h5py.Group) and parent.get(name, getlink=True) is not None
