"""The ``json`` encoding: one JSON value (UTF-8) per entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MalformedEntryError
from .base import Encoder, RawEntry


def _to_json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


#: Largest JSON payload a reader decodes: JSON text grows ~20x as Python
#: objects, so a hostile entry must not be parsed whatever its size.
MAX_JSON_PAYLOAD = 64 * 2**20


class JsonEncoder(Encoder):
    concatenable = False

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    def info(self) -> dict[str, Any]:
        return {"type": "json"}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> JsonEncoder:
        return cls()

    def encode(self, data: Any) -> tuple[bytes, int]:
        try:
            text = json.dumps(data, default=_to_json_default, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Cannot encode as JSON: {exc}") from exc
        return text.encode(), 1

    def empty(self) -> list:
        return []

    def decode(self, entries: Sequence[RawEntry], stream: str | None = None) -> list:
        values = []
        for entry in entries:
            if entry.length != 1:
                raise MalformedEntryError(
                    f"JSON entries hold one point, not {entry.length}", stream, entry.index
                )
            if len(entry.payload) > MAX_JSON_PAYLOAD:
                raise MalformedEntryError(
                    f"JSON payload of {len(entry.payload)} bytes exceeds the "
                    f"{MAX_JSON_PAYLOAD} bytes a reader accepts",
                    stream,
                    entry.index,
                )
            payload = entry.payload
            if not isinstance(payload, (bytes, bytearray)):
                payload = bytes(payload)  # a memoryview (zero-copy read)
            try:
                values.append(json.loads(payload))
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting too
                raise MalformedEntryError(
                    f"Payload is not valid JSON: {exc}", stream, entry.index
                ) from None
        return values
