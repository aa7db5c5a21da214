"""Numpy indexing on a dataset that can only be read row range by row range.

The first axis is the one that grows (scan points) and the only one a source
reads selectively; the key is split into a row range to fetch and a key to
apply with numpy on what was fetched, so every numpy index expression works
(and fails) the way it does on an array.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .nodes import DatasetNode


def read(node: DatasetNode, key: Any) -> Any:
    """``node[key]`` with numpy semantics."""
    shape = node.shape
    if not isinstance(key, tuple):
        key = (key,)
    if key == ():
        return node.read_all()
    if not shape:
        raise ValueError("Illegal slicing argument for scalar dataspace")
    key = _expand_ellipsis(key, len(shape))
    leading_none = 0
    while leading_none < len(key) and key[leading_none] is None:
        leading_none += 1
    if leading_none == len(key):
        return node.read_all()[key]
    first, rest = key[leading_none], key[leading_none + 1 :]
    prefix = key[:leading_none]
    length = shape[0]
    if isinstance(first, slice):
        start, stop, step = first.indices(length)
        count = len(range(start, stop, step))
        if count == 0:
            return _empty(node, shape)[prefix + (slice(0, 0),) + rest]
        if step > 0:
            rows = node.read_rows(start, start + (count - 1) * step + 1, step)
            return rows[prefix + (slice(None),) + rest]
        last = start + (count - 1) * step
        rows = node.read_rows(last, start + 1, -step)
        return rows[prefix + (slice(None, None, -1),) + rest]
    if _is_integer(first):
        index = operator.index(first)
        if not -length <= index < length:
            raise IndexError(
                f"Index ({index}) out of range for (0-{length - 1})"
                if length
                else f"Index ({index}) out of range for empty axis"
            )
        index %= length
        rows = node.read_rows(index, index + 1, 1)
        return rows[prefix + (0,) + rest]
    array = np.asarray(first)
    if array.dtype.kind in "iu" and array.size:
        flat = np.where(array < 0, array + length, array)
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= length:
            raise IndexError(f"index out of range for axis 0 with size {length}")
        rows = node.read_rows(low, high + 1, 1)
        return rows[prefix + (flat - low,) + rest]
    # boolean masks and anything unusual: fetch all rows, let numpy decide
    rows = node.read_rows(0, length, 1) if length else _empty(node, shape)
    return rows[key]


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return not isinstance(value, np.ndarray) or value.ndim == 0


def _expand_ellipsis(key: tuple, ndim: int) -> tuple:
    positions = [i for i, item in enumerate(key) if item is Ellipsis]
    if not positions:
        return key
    if len(positions) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_dims_used(item) for item in key if item is not Ellipsis)
    fill = (slice(None),) * max(ndim - used, 0)
    at = positions[0]
    return key[:at] + fill + key[at + 1 :]


def _dims_used(item: Any) -> int:
    if item is None:
        return 0
    if isinstance(item, np.ndarray) and item.dtype == bool:
        return max(item.ndim, 1)
    return 1


def _empty(node: DatasetNode, shape: tuple[int, ...]) -> np.ndarray:
    return np.empty((0,) + tuple(shape[1:]), dtype=node.dtype)
