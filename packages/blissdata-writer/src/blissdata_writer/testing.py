"""Describe a written HDF5 file as plain data, to compare what two writers wrote.

What a reader of the file sees: the tree, link kinds and targets, attribute
and dataset dtypes (string kind and encoding included), shapes, values,
virtual sources.  Storage details (chunking, compression, fill values) and
the root attributes each writer stamps for itself are left out, so that this
writer's file can be compared with blisswriter's.  Used by this package's
tests and by the interop matrix (``tools.conformance``).
"""

from __future__ import annotations

import h5py
import numpy as np

#: Root attributes each writer stamps for itself (not in any h5maps).
WRITER_ATTRS = {"HDF5_Version", "h5py_version", "file_time", "file_update_time", "creator"}


def _dtype(dtype: np.dtype) -> object:
    info = h5py.check_string_dtype(dtype)
    if info is not None:
        return ("string", info.encoding, info.length)
    if dtype.names:
        return tuple((name, _dtype(dtype.fields[name][0])) for name in dtype.names)
    return dtype.str


def _value(value: object) -> object:
    array = np.asarray(value)
    if array.dtype.kind in "OS":
        if not array.size:
            return array.tolist()
        decode = np.vectorize(lambda x: x.decode() if isinstance(x, bytes) else x, otypes=[object])
        return decode(array).tolist()
    if array.dtype.names:
        return [tuple(_value(row[n]) for n in array.dtype.names) for row in array.reshape(-1)]
    if array.dtype.kind in "fc":
        return (
            "nan-aware",
            array.shape,
            np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0).tolist(),
            np.isnan(array).tolist(),
            np.isinf(array).tolist(),
        )
    return array.tolist()


def _attrs(obj: h5py.HLObject, skip: set[str] = frozenset()) -> dict:
    out = {}
    for name in obj.attrs:
        if name in skip:
            continue
        attr_id = obj.attrs.get_id(name)
        out[name] = (_dtype(attr_id.dtype), attr_id.shape, _value(obj.attrs[name]))
    return out


def describe(path: str) -> dict:
    """{object path: description} for every link in the file."""
    out: dict[str, object] = {}
    with h5py.File(path, "r", locking=False) as f:  # as blissdata_core opens files
        out["/"] = ("group", _attrs(f, WRITER_ATTRS))

        def visit(group: h5py.Group, prefix: str) -> None:
            for name in group:
                path = f"{prefix}/{name}" if prefix != "/" else f"/{name}"
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    out[path] = ("soft_link", link.path)
                    continue
                if isinstance(link, h5py.ExternalLink):
                    out[path] = ("external_link", link.filename, link.path)
                    continue
                obj = group[name]
                if isinstance(obj, h5py.Group):
                    out[path] = ("group", _attrs(obj))
                    visit(obj, path)
                    continue
                desc = {
                    "dtype": _dtype(obj.dtype),
                    "shape": obj.shape,
                    "attrs": _attrs(obj),
                    "external": obj.external,
                }
                if obj.is_virtual:
                    desc["virtual"] = sorted(
                        (s.file_name, s.dset_name) for s in obj.virtual_sources()
                    )
                try:
                    desc["value"] = _value(obj[()])
                except OSError as exc:  # unreadable external/virtual data
                    desc["value"] = f"unreadable: {type(exc).__name__}"
                out[path] = ("dataset", desc)

        visit(f, "/")
    return out


def differences(a: dict, b: dict, limit: int = 20) -> list[str]:
    """Human-readable differences between two descriptions (empty when equal)."""
    problems = []
    for path in sorted(a.keys() | b.keys()):
        if path not in a:
            problems.append(f"{path}: only in second")
        elif path not in b:
            problems.append(f"{path}: only in first")
        elif a[path] != b[path]:
            problems.append(f"{path}: {a[path]!r} != {b[path]!r}"[:500])
        if len(problems) >= limit:
            break
    return problems
