"""``blissdata.streams.lima.stream``."""

from blissdata_core.compat.lima_access import LimaDirectAccess  # noqa: F401
from blissdata_core.streams.plugins.lima import LimaStream, LimaView  # noqa: F401
