"""Scans for the blissdata_h5 tests that write files with blissdata_writer."""

from __future__ import annotations

from typing import Any

import blissdata_h5
from blissdata_core.testing import entry_map, make_scan, send

__all__ = ["entry_map", "make_scan", "open_redis", "send"]


def open_redis(path: str, data_store: Any, **kwargs: Any) -> blissdata_h5.File:
    return blissdata_h5.File(path, data_store=data_store, source="redis", **kwargs)
