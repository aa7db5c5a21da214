"""``blissdata.streams.default``: the default stream and its broken stand-ins."""

from blissdata_core.streams.cursor import View  # noqa: F401
from blissdata_core.streams.stream import (  # noqa: F401
    BrokenPluginStream,
    BrokenStream,
    MissingPluginStream,
    Stream,
)
