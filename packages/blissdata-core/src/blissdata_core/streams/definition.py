"""Stream definitions: what a producer declares before publishing a stream."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..encoding import Encoder, JsonEncoder, NumericEncoder


@dataclass(slots=True)
class StreamDefinition:
    """Name, free-form info and encoder of a stream to create."""

    name: str
    info: dict[str, Any] = field(default_factory=dict)
    encoder: Encoder = field(default_factory=JsonEncoder)


def make_definition(
    name: str, dtype: Any, shape: Any = None, info: dict[str, Any] | None = None
) -> StreamDefinition:
    """Definition of a numeric stream, or of a JSON stream when ``dtype == "json"``.

    Numeric stream info also records ``dtype`` (numpy name) and ``shape`` as the
    blissdata 2.x client does, so readers of either client see the same info.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Stream name must be a non-empty string, not {name!r}")
    info = copy.deepcopy(dict(info or {}))
    if isinstance(dtype, str) and dtype == "json":
        if shape not in (None, ()):
            raise ValueError("A JSON stream has no shape")
        return StreamDefinition(name, info, JsonEncoder())
    encoder = NumericEncoder(dtype, () if shape is None else shape)
    info["dtype"] = np.dtype(dtype).name
    info["shape"] = list(encoder.shape)
    return StreamDefinition(name, info, encoder)
