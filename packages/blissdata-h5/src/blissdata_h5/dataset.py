"""Dataset: h5py's read API over a :class:`~blissdata_h5.nodes.DatasetNode`.

Live semantics: ``shape[0]`` of a streamed dataset is the number of points
published so far.  Reading beyond it raises :class:`IndexError` unless the
file was opened with ``wait_timeout`` (or :meth:`Dataset.wait` is called
first): then a read of explicit points (``x[i]``, ``x[a:b]``) blocks until
they arrive, the stream is sealed or the timeout expires; open reads
(``x[:]``, ``x[-1]``) return what is there now.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from blissdata_core.errors import BlissdataError

from . import selection
from .base import HLObject
from .nodes import DatasetNode

if TYPE_CHECKING:
    from .file import File


class Dataset(HLObject):
    _h5_type_name = "DATASET"

    def __init__(self, file: File, name: str, node: DatasetNode):
        super().__init__(file, name, node)

    # --- shape ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...] | None:
        """None for an empty (null dataspace) dataset, as h5py."""
        shape = self._node.shape
        return None if shape is None else tuple(shape)

    @property
    def dtype(self) -> np.dtype:
        return self._node.dtype

    @property
    def ndim(self) -> int:
        shape = self.shape
        return 0 if shape is None else len(shape)

    @property
    def size(self) -> int | None:
        shape = self.shape
        return None if shape is None else math.prod(shape)

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """Chunk shape in the file (as h5py's); None when contiguous or not from a file."""
        return self._node.storage()[0]

    @property
    def filters(self) -> list[tuple[int, str]]:
        """The file's filter pipeline as (HDF5 filter id, name); empty when not from a file."""
        return self._node.storage()[1]

    @property
    def live(self) -> bool:
        """True while points may still be appended (the scan is not over)."""
        return self._node.live

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("Attempt to take len() of scalar dataset")
        return shape[0]

    def len(self) -> int:
        return len(self)

    # --- data ----------------------------------------------------------------
    def wait(self, length: int | None = None, timeout: float | None = None) -> bool:
        """Block until ``length`` points exist (``None``: until the scan ends).

        Returns True when they do, False on timeout or when the stream ended
        shorter.  ``timeout=None`` waits forever.
        """
        if length is None:
            self._node.wait(math.inf, timeout)
            return not self._node.live
        return self._node.wait(length, timeout)

    def __getitem__(self, key: Any) -> Any:
        timeout = self._file._wait_timeout
        if timeout is not None and self.shape:
            needed = _needed_length(key)
            if needed > self.shape[0]:
                self._node.wait(needed, timeout)
        return selection.read(self._node, key)

    def __iter__(self) -> Iterator[Any]:
        if not self.shape:
            raise TypeError("Can't iterate over a scalar dataset")
        index = 0
        while True:
            if index >= len(self):
                # a live dataset followed with a wait timeout: wait for the next row.
                # The node's wait, not ``live``, decides: rows may have come between
                # len() and the end (wait reads the length again once it ended).
                timeout = self._file._wait_timeout
                if timeout is None or not self._node.wait(index + 1, timeout):
                    return
            yield self[index]
            index += 1

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = np.asarray(self[()])
        return array if dtype is None else array.astype(dtype)

    def asstr(self, encoding: str = "utf-8", errors: str = "strict") -> _AsStr:
        """Like h5py's ``asstr()``: string datasets read as ``str``."""
        return _AsStr(self, encoding, errors)

    def __repr__(self) -> str:
        try:
            return f'<blissdata_h5 dataset "{self._name}": shape {self.shape}, type "{self.dtype.str}">'
        except BlissdataError as exc:  # repr must not fail: an unreadable stream says why
            return f'<blissdata_h5 dataset "{self._name}": {exc}>'


class _AsStr:
    def __init__(self, dataset: Dataset, encoding: str, errors: str):
        self._dataset, self._encoding, self._errors = dataset, encoding, errors

    def __getitem__(self, key: Any) -> Any:
        value = self._dataset[key]
        if isinstance(value, bytes):
            return value.decode(self._encoding, self._errors)
        array = np.asarray(value, dtype=object)
        out = np.empty(array.shape, dtype=object)
        for index, raw in np.ndenumerate(array):
            out[index] = raw.decode(self._encoding, self._errors)
        return out


def _needed_length(key: Any) -> int:
    """Points a read explicitly asks for: ``x[i]`` needs i+1, ``x[a:b]`` needs b.

    Open-ended and negative indices mean "what is there now" and never wait.
    """
    first = key[0] if isinstance(key, tuple) and key else key
    if isinstance(first, slice):
        if first.stop is not None and first.stop >= 0 and (first.step or 1) > 0:
            return first.stop
        return 0
    if isinstance(first, bool | np.bool_):
        return 0
    try:
        index = operator.index(first)
    except TypeError:
        return 0
    return index + 1 if index >= 0 else 0
