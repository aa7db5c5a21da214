"""Frame types of the reference's Lima API that stream plugins (lima2) build on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from ..streams.plugins.lima import LimaStream


class ImageData(NamedTuple):
    """One decoded frame: its pixels, its index in the acquisition, and a control tag."""

    array: Any
    frame_id: int | None
    acq_tag: int | None


class LimaDirectAccess(ABC):
    """A stream whose newest frame can be asked of the detector server directly."""

    @abstractmethod
    def get_last_live_image(self) -> ImageData: ...


LimaDirectAccess.register(LimaStream)
