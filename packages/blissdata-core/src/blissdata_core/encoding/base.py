"""The encoder interface shared by every stream encoding."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np


class RawEntry(NamedTuple):
    """One data entry as stored in Redis: first point index, point count, payload."""

    index: int
    length: int
    #: ``bytes``, or a writable ``memoryview`` of a payload read without copy
    #: (see :mod:`blissdata_core.resp_reader`): decoders may return arrays over it.
    payload: bytes | memoryview


class Encoder(ABC):
    """Turns points into ``(payload, npoints)`` and entries back into points."""

    #: Whether consecutive payloads of one stream may be concatenated into a
    #: single batch entry (true when the payload is a plain byte sequence).
    concatenable: bool = False

    @property
    @abstractmethod
    def dtype(self) -> np.dtype: ...

    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]: ...

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """The ``encoding`` document stored in the scan."""

    @classmethod
    @abstractmethod
    def from_info(cls, info: dict[str, Any]) -> Encoder: ...

    @abstractmethod
    def encode(self, data: Any) -> tuple[bytes, int]:
        """Validate and encode one point or a batch; raise before anything is queued."""

    @abstractmethod
    def decode(self, entries: Sequence[RawEntry], stream: str | None = None) -> Any:
        """Decode consecutive entries into one sequence of points."""

    @abstractmethod
    def empty(self) -> Any:
        """A zero-length result in the decoded format."""
