"""HDF5 comparisons of the interop matrix: a file against a file, a live view against a file.

``describe(path)`` / ``differences(a, b)``
    What a reader of a written file sees, as plain data: the tree, link kinds
    and targets, attribute and dataset dtypes (string kind and encoding too),
    shapes, values, virtual sources.  Storage details (chunking, compression,
    fill values) and the root attributes each writer stamps for itself are left
    out (``blissdata_writer.testing``, shared with the writer's tests).
``tree_problems(ours, theirs)``
    A blissdata_h5 view against h5py's view of a file: the same names in the
    same order, attributes, dtypes, shapes, values, first and last rows, and
    soft links followed alike.
``stream_data_problems(tree, expected)``
    Every dataset mapped to a stream holds the points that were sent.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from blissdata_writer.testing import WRITER_ATTRS, describe, differences

__all__ = ["WRITER_ATTRS", "describe", "differences", "stream_data_problems", "tree_problems"]


# --- a live view against a file ---------------------------------------------------------


def _same_value(ours: Any, theirs: Any, where: str) -> str | None:
    if type(ours) is not type(theirs):
        return f"{where}: {type(ours).__name__} != {type(theirs).__name__}"
    if isinstance(theirs, np.ndarray | np.generic):
        if ours.dtype != theirs.dtype:
            return f"{where}: dtype {ours.dtype} != {theirs.dtype}"
        if np.shape(ours) != np.shape(theirs):
            return f"{where}: shape {np.shape(ours)} != {np.shape(theirs)}"
        if theirs.dtype.kind in "fc":
            same = np.array_equal(ours, theirs, equal_nan=True)
        elif theirs.dtype.fields is not None:
            same = repr(ours.tolist()) == repr(theirs.tolist())
        else:
            same = np.array_equal(ours, theirs)
        return None if same else f"{where}: {ours!r} != {theirs!r}"[:500]
    return None if ours == theirs else f"{where}: {ours!r} != {theirs!r}"[:500]


def _attr_problems(ours: Any, theirs: Any, where: str, skip: set[str] = frozenset()) -> list[str]:
    their_keys = [k for k in theirs.keys() if k not in skip]
    our_keys = [k for k in ours.keys() if k not in skip]
    if our_keys != their_keys:
        return [f"{where}: attributes {our_keys} != {their_keys}"]
    found = (_same_value(ours[key], theirs[key], f"{where}@{key}") for key in their_keys)
    return [p for p in found if p]


def _soft_links(theirs: h5py.File) -> list[str]:
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


def tree_problems(ours: Any, theirs: h5py.File) -> list[str]:
    """What differs between a blissdata_h5 tree and h5py's view of the same file."""
    import blissdata_h5

    problems = _attr_problems(ours.attrs, theirs.attrs, "/", WRITER_ATTRS)
    # h5py < 3.12 lists a reopened file's root by name even when it tracks creation
    # order (h5py PR #2410); its root group opened as such lists it as h5py >= 3.12 does
    if list(ours.keys()) != list(theirs["/"].keys()):
        problems.append(f"/: members {list(ours.keys())} != {list(theirs['/'].keys())}")
    their_names: list[str] = []
    theirs.visit(their_names.append)
    our_names: list[str] = []
    ours.visit(our_names.append)
    if our_names != their_names:
        return [*problems, f"visit order: {our_names} != {their_names}"]
    for name in their_names:
        obj, mine = theirs[name], ours[name]
        mine_keys = list(mine.keys()) if hasattr(mine, "keys") else []
        obj_keys = list(obj.keys()) if isinstance(obj, h5py.Group) else []
        if mine_keys != obj_keys:
            problems.append(f"{name}: members {mine_keys} != {obj_keys}")
        problems += _attr_problems(mine.attrs, obj.attrs, name)
        if isinstance(obj, h5py.Dataset):
            if not isinstance(mine, blissdata_h5.Dataset):
                problems.append(f"{name}: a {type(mine).__name__}, not a dataset")
                continue
            if mine.dtype != obj.dtype or mine.shape != obj.shape:
                problems.append(f"{name}: {mine.dtype}{mine.shape} != {obj.dtype}{obj.shape}")
                continue
            checks = [(mine[()], obj[()], name)]
            if obj.shape and obj.shape[0]:
                checks += [(mine[0], obj[0], f"{name}[0]"), (mine[-1], obj[-1], f"{name}[-1]")]
            problems += [p for p in (_same_value(*c) for c in checks) if p]
        elif not isinstance(mine, blissdata_h5.Group):
            problems.append(f"{name}: a {type(mine).__name__}, not a group")
    for name in _soft_links(theirs):  # soft links are followed the same way
        if (name in ours) != (name in theirs) or (ours.get(name) is None) != (
            theirs.get(name) is None
        ):
            problems.append(f"{name}: soft link resolves differently")
        elif isinstance(theirs.get(name), h5py.Dataset):
            why = _same_value(ours[name][()], theirs[name][()], name)
            if why:
                problems.append(why)
    return problems


# --- the data sent, in a tree -----------------------------------------------------------


def stream_data_problems(tree: Any, expected: dict[str, list[np.ndarray]]) -> list[str]:
    """``expected``: {dataset path: the points of its stream}; a free dimension may be padded."""
    problems = []
    for path, points in expected.items():
        try:
            data = tree[path][()]
        except Exception as exc:
            problems.append(f"{path}: cannot read: {type(exc).__name__}: {exc}"[:300])
            continue
        data = np.asarray(data)
        if len(data) != len(points):
            problems.append(f"{path}: {len(data)} points, {len(points)} sent")
            continue
        for i, point in enumerate(points):
            got = data[i][tuple(slice(0, n) for n in np.shape(point))]
            nan = np.asarray(point).dtype.kind in "fc"
            if np.shape(got) != np.shape(point) or not np.array_equal(got, point, equal_nan=nan):
                problems.append(f"{path}[{i}]: {got!r} != sent {point!r}"[:300])
                break
    return problems
