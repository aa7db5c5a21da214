"""Scans for the blissdata_h5 tests that write files with blissdata_writer.

The same helpers as the h5 package's ``tests/helpers.py`` (each suite stands alone).
"""

from __future__ import annotations

from typing import Any

import blissdata_h5
from blissdata_core import DataStore, Stream


def make_scan(
    data_store: DataStore,
    path: str,
    number: int = 1,
    h5maps: dict | None = None,
    streams: dict[str, tuple[str, tuple]] | None = None,
    info: dict | None = None,
) -> Any:
    """A PREPARED+STARTED scan whose h5maps (if any) names ``path``."""
    scan = data_store.create_scan(
        {"name": "test", "number": number, "data_policy": "no_policy", "path": path},
        info=dict(info or {}),
    )
    for name, (dtype, shape) in (streams or {}).items():
        scan.create_stream(Stream.make_definition(name, dtype, shape))
    if h5maps is not None:
        info = scan.info
        info["h5maps"] = {path: h5maps}
        scan.info = info
    scan.prepare()
    scan.start()
    return scan


def send(scan: Any, name: str, data: Any) -> None:
    stream = scan.streams[name]
    stream.send(data)
    stream.join()


def entry_map(number: int, children: dict, attributes: dict | None = None) -> dict:
    return {
        "type": "group",
        "attributes": {"NX_class": "NXroot"},
        "children": {
            f"{number}.1": {
                "type": "group",
                "attributes": attributes or {"NX_class": "NXentry"},
                "children": children,
            }
        },
    }


def open_redis(path: str, data_store: Any, **kwargs: Any) -> blissdata_h5.File:
    return blissdata_h5.File(path, data_store=data_store, source="redis", **kwargs)
