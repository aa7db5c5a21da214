"""Frame types of the reference's Lima API that stream plugins (lima2) build on."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..streams.plugins._lima_tango import ImageData
from ..streams.plugins.lima import LimaStream
from ..streams.plugins.lima2 import Lima2Stream

__all__ = ["ImageData", "LimaDirectAccess"]


class LimaDirectAccess(ABC):
    """A stream whose newest frame can be asked of the detector server directly."""

    @abstractmethod
    def get_last_live_image(self) -> ImageData: ...


LimaDirectAccess.register(LimaStream)
# its live frame is at the Lima2 conductor: get_last_live_image() says so
LimaDirectAccess.register(Lima2Stream)
