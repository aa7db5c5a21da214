"""blissdata_core: the protocol 1 client (data store, scans, streams, cursors)."""

from . import compat
from .errors import (
    BlissdataError,
    BrokenPluginException,
    DatabaseNotEmptyError,
    DatabaseNotInitialisedError,
    EndOfStream,
    ExternalDataError,
    IndexNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
    MalformedEntryError,
    MissingPluginException,
    NoScanAvailable,
    NoWritePermission,
    ProtocolVersionError,
    PublishError,
    PublishQueueFull,
    ScanInfoError,
    ScanLoadError,
    ScanNotFoundError,
    ScanValidationError,
    ServerConnectionError,
    UnauthorizeStateTransition,
    UnknownEncodingError,
)
from .scan import Scan, ScanState
from .store import DataStore, ScanNotTerminatedError
from .streams.cursor import BaseView, Cursor, CursorGroup, View
from .streams.definition import StreamDefinition
from .streams.stream import BaseStream, Stream

__version__ = "0.1.0"


def install_as_blissdata() -> compat.Installation:
    """Let unmodified blissdata 2.x code run on this project: ``import blissdata`` and
    its submodules resolve here, and plugins of the entry-point group ``blissdata``
    load.  Never active unless called (see :mod:`blissdata_core.compat`)."""
    return compat.install_as_blissdata()


__all__ = [
    "DataStore", "Scan", "ScanState", "Stream", "BaseStream", "StreamDefinition", "Cursor",
    "CursorGroup", "View", "BaseView", "BlissdataError", "DatabaseNotEmptyError",
    "DatabaseNotInitialisedError", "EndOfStream", "ExternalDataError", "BrokenPluginException",
    "MissingPluginException", "IndexNoMoreThereError", "IndexNotYetThereError",
    "IndexWontBeThereError", "MalformedEntryError", "NoScanAvailable", "NoWritePermission",
    "ProtocolVersionError", "PublishError", "PublishQueueFull", "ScanInfoError", "ScanLoadError",
    "ScanNotFoundError", "ScanNotTerminatedError", "ScanValidationError", "ServerConnectionError",
    "UnauthorizeStateTransition", "UnknownEncodingError", "install_as_blissdata",
]  # fmt: skip
