"""Frame types of the reference's Lima API that stream plugins (lima2) build on."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..streams.plugins._lima_tango import ImageData
from ..streams.plugins.lima import LimaStream

__all__ = ["ImageData", "LimaDirectAccess"]


class LimaDirectAccess(ABC):
    """A stream whose newest frame can be asked of the detector server directly."""

    @abstractmethod
    def get_last_live_image(self) -> ImageData: ...


LimaDirectAccess.register(LimaStream)
