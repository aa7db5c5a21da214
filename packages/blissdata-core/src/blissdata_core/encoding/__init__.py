"""Stream encodings: how points become entry payloads and back.

An encoding is named by ``encoding["type"]`` in the scan document.  Encoders
are found by that name, first among the built-in ones, then through the
``blissdata_core.encodings`` entry-point group (like zarr codecs), so a new
encoding can be added by installing a package.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from ..errors import UnknownEncodingError
from .base import Encoder, RawEntry
from .json_encoding import JsonEncoder
from .numeric import NumericEncoder

__all__ = ["Encoder", "RawEntry", "NumericEncoder", "JsonEncoder", "encoder_from_info"]

_BUILTIN: dict[str, type[Encoder]] = {"numeric": NumericEncoder, "json": JsonEncoder}
_discovered: dict[str, type[Encoder]] | None = None


def _registry() -> dict[str, type[Encoder]]:
    global _discovered
    if _discovered is None:
        found: dict[str, type[Encoder]] = {}
        for ep in entry_points(group="blissdata_core.encodings"):
            if ep.name in _BUILTIN:
                continue
            try:
                found[ep.name] = ep.load()
            except Exception:  # a broken third-party encoder must not break the rest
                continue
        _discovered = found
    return {**_discovered, **_BUILTIN}


def encoder_from_info(encoding: Any) -> Encoder:
    """The encoder described by a stream's ``encoding`` document."""
    if not isinstance(encoding, dict) or not isinstance(encoding.get("type"), str):
        raise UnknownEncodingError(f"Stream encoding must be an object with a 'type': {encoding!r}")
    cls = _registry().get(encoding["type"])
    if cls is None:
        raise UnknownEncodingError(f"Unknown stream encoding type {encoding['type']!r}")
    return cls.from_info(encoding)
