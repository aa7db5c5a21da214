"""Payloads that can be used in place: writable views of one buffer, one after the other.

The zero-copy reader (:mod:`blissdata_core.resp_reader`) receives the large
payloads of a reply one after the other into a numpy buffer and hands them out
as writable ``memoryview`` slices.  When the payloads of consecutive entries
are such adjacent slices, the points they hold are already one C-contiguous
block: a decoder wraps it instead of copying it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np


def _address(view: memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def _in_place(payload: Any) -> bool:
    return (
        type(payload) is memoryview
        and not payload.readonly
        and payload.c_contiguous
        and payload.itemsize == 1
        and payload.nbytes > 0
    )


def adjacent_block(payloads: Sequence[Any], alignment: int = 1) -> np.ndarray | None:
    """The payloads as one writable uint8 array sharing their memory, or ``None``
    when they are not adjacent writable slices of a single numpy buffer, or not
    aligned to ``alignment`` bytes (copy them then)."""
    if not payloads:
        return None
    first = payloads[0]
    if not _in_place(first):
        return None
    start = _address(first)
    if start % alignment:
        return None
    if len(payloads) == 1:
        return np.frombuffer(first, np.uint8)
    owner = first.obj
    if not isinstance(owner, np.ndarray) or owner.dtype != np.uint8 or owner.ndim != 1:
        return None
    end = start + first.nbytes
    for payload in payloads[1:]:
        if not _in_place(payload) or payload.obj is not owner or _address(payload) != end:
            return None
        end += payload.nbytes
    offset = start - _address(memoryview(owner))  # (faster than __array_interface__)
    if offset < 0 or end - start + offset > owner.nbytes:
        return None
    block = owner[offset : offset + end - start]
    return block if block.flags.writeable else None
