"""Deep comparison of a blissdata_h5 tree with h5py's view of a file."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

import blissdata_h5

#: Root attributes a writer stamps on its own files (not in any h5maps).
WRITER_ROOT_ATTRS = {"HDF5_Version", "h5py_version", "file_time", "file_update_time", "creator"}


def assert_same_value(ours: Any, theirs: Any, where: str) -> None:
    assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
    if isinstance(theirs, np.ndarray | np.generic):
        assert ours.dtype == theirs.dtype, f"{where}: dtype {ours.dtype} != {theirs.dtype}"
        assert np.shape(ours) == np.shape(theirs), f"{where}: shape"
        if theirs.dtype.kind in "fc":
            assert np.array_equal(ours, theirs, equal_nan=True), f"{where}: {ours!r} != {theirs!r}"
        elif theirs.dtype.fields is not None:
            assert repr(ours.tolist()) == repr(theirs.tolist()), f"{where}: {ours!r} != {theirs!r}"
        else:
            assert np.array_equal(ours, theirs), f"{where}: {ours!r} != {theirs!r}"
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def assert_same_attrs(ours: Any, theirs: Any, where: str, skip: set[str] = frozenset()) -> None:
    their_keys = [k for k in theirs.keys() if k not in skip]
    assert [k for k in ours.keys() if k not in skip] == their_keys, f"{where}: attribute names"
    for key in their_keys:
        assert_same_value(ours[key], theirs[key], f"{where}@{key}")


def soft_links(theirs: h5py.File) -> list[str]:
    """Paths of every soft link in the file (``visit_links`` needs h5py >= 3.11)."""
    found: list[str] = []
    seen: set = set()

    def walk(group: h5py.Group, prefix: str) -> None:
        if group.id in seen:  # a group hard-linked twice is walked once, as HDF5 does
            return
        seen.add(group.id)
        for name in group:
            path = f"{prefix}{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                found.append(path)
            elif isinstance(link, h5py.HardLink) and isinstance(group[name], h5py.Group):
                walk(group[name], f"{path}/")

    walk(theirs["/"], "")
    return found


def assert_same_tree(ours: blissdata_h5.File, theirs: h5py.File) -> None:
    assert_same_attrs(ours.attrs, theirs.attrs, "/", WRITER_ROOT_ATTRS)
    # h5py < 3.12 lists a reopened file's root by name even when it tracks creation
    # order (h5py PR #2410); its root group opened as such lists it as h5py >= 3.12 does
    assert list(ours.keys()) == list(theirs["/"].keys())
    their_names: list[str] = []
    theirs.visit(their_names.append)
    our_names: list[str] = []
    ours.visit(our_names.append)
    assert our_names == their_names
    for name in their_names:
        obj = theirs[name]
        mine = ours[name]
        assert list(mine.keys() if hasattr(mine, "keys") else []) == list(
            obj.keys() if isinstance(obj, h5py.Group) else []
        ), name
        assert_same_attrs(mine.attrs, obj.attrs, name)
        if isinstance(obj, h5py.Dataset):
            assert isinstance(mine, blissdata_h5.Dataset), name
            assert mine.dtype == obj.dtype, f"{name}: {mine.dtype} != {obj.dtype}"
            assert mine.shape == obj.shape, name
            assert_same_value(mine[()], obj[()], name)
            if obj.shape and obj.shape[0]:
                assert_same_value(mine[0], obj[0], f"{name}[0]")
                assert_same_value(mine[-1], obj[-1], f"{name}[-1]")
        else:
            assert isinstance(mine, blissdata_h5.Group), name
    # soft links are followed the same way
    for name in soft_links(theirs):
        assert (name in ours) == (name in theirs), name
        assert (ours.get(name) is None) == (theirs.get(name) is None), name
        if isinstance(theirs.get(name), h5py.Dataset):
            assert_same_value(ours[name][()], theirs[name][()], name)
