"""``blissdata.exceptions``: the project's exceptions under the reference's names."""

from blissdata_core.errors import (  # noqa: F401
    BlissdataError,
    BrokenPluginException,
    EmptyViewException,
    EndOfStream,
    IndexNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
    MissingPluginException,
    NoScanAvailable,
    NoWritePermission,
    ScanLoadError,
    ScanNotFoundError,
    ScanValidationError,
    UnauthorizeStateTransition,
    UnknownEncodingError,
)
