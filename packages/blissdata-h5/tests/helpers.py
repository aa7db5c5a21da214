"""Producers and file builders shared by the tests."""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np

from blissdata_core.testing import entry_map, make_scan, send

__all__ = ["entry_map", "make_scan", "send", "tmp_h5", "write_file_like_writer"]


def tmp_h5(tmp_path: Any, name: str = "data.h5") -> str:
    return os.path.join(str(tmp_path), name)


def write_file_like_writer(path: str, h5map: dict, stream_data: dict[str, np.ndarray]) -> None:
    """Our own careful mapping h5maps -> HDF5 (as blisswriter 3.0 lays it out).

    The files this package's tests compare the facade with (the writers' own
    files are compared in tests/integration); streamed datasets get the
    stream's data, and no dataset at all when the stream has no point.
    """
    from blissdata_h5 import values

    def attrs(obj: Any, raw: dict) -> None:
        for key, value in raw.items():
            obj.attrs[key] = values.decode(value, key)

    def item(parent: h5py.Group, name: str, raw: Any) -> None:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "group":
            group = parent.require_group(name)
            attrs(group, raw.get("attributes", {}))
            for child_name, child in raw.get("children", {}).items():
                item(group, child_name, child)
            return
        if kind == "soft_link":
            parent[name] = h5py.SoftLink(raw["target_path"])
            return
        if kind == "external_link":
            parent[name] = h5py.ExternalLink(raw["target_file"], raw["target_path"])
            return
        value, attributes = (
            (raw["value"], raw.get("attributes", {})) if kind == "dataset" else (raw, {})
        )
        if values.is_stream_ref(value):
            data = stream_data[value["stream"]]
            if len(data) == 0:
                return
            dset = parent.create_dataset(name, data=data)
        else:
            dset = parent.create_dataset(name, data=values.decode(value, name))
        attrs(dset, attributes)

    # the root tracks creation order (entries, attributes), as the writers make it
    with h5py.File(path, "a", track_order=True) as f:
        attrs(f, h5map.get("attributes", {}))
        for name, child in h5map.get("children", {}).items():
            item(f, name, child)
