"""silx's ``H5Type`` of our objects: how silx (and its viewers) tell h5py-like objects apart.

silx looks for an ``h5_class`` attribute on objects it does not know; silx is
optional, so the enum is imported only when asked for (None without silx).
"""

from __future__ import annotations

from typing import Any


def h5_type(name: str) -> Any:
    """``silx.io.utils.H5Type[name]``, or None when silx is not installed."""
    try:
        from silx.io.utils import H5Type
    except ImportError:
        return None
    return H5Type[name]
