"""Frame types of the reference's Lima API that stream plugins (lima2) build on."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, NamedTuple

from ..streams.plugins.lima import LimaStream
from ..streams.plugins.lima2 import Lima2Stream


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
# its live frame is at the Lima2 conductor: get_last_live_image() says so
LimaDirectAccess.register(Lima2Stream)
