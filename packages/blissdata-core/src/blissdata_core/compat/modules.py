"""Every ``blissdata.*`` module path the layer provides, and the names callers take from each.

Collected from the imports of ewoksdata 2.2.1, blissoda 1.11.0, blisswriter
3.0.0, blissdata-lima2 2.0.2 and blissdata-mosca 2.0.5 (and BLISS-style scan
watchers).  ``tests/test_compat.py`` imports each path and each name.  Paths
marked "h5" are registered by blissdata-h5 (entry-point group
``blissdata_core.compat_modules``) and exist when it is installed.
"""

from __future__ import annotations

PROVIDED_MODULES: dict[str, tuple[str, ...]] = {
    "blissdata": ("DataStore", "Scan", "ScanState"),
    "blissdata.exceptions": (
        "EndOfStream", "EmptyViewException", "IndexNoMoreThereError", "IndexNotYetThereError",
        "IndexWontBeThereError", "MissingPluginException", "NoScanAvailable",
        "NoWritePermission", "ScanLoadError", "ScanNotFoundError", "ScanValidationError",
        "UnauthorizeStateTransition", "UnknownEncodingError",
    ),
    "blissdata.scan": ("Scan", "ScanState"),
    "blissdata.redis_engine": (),
    "blissdata.redis_engine.store": ("DataStore",),
    "blissdata.redis_engine.scan": ("Scan", "ScanState"),
    "blissdata.redis_engine.exceptions": (
        "EndOfStream", "IndexNoMoreThereError", "IndexNotYetThereError", "IndexWontBeThereError",
    ),
    "blissdata.redis_engine.event_stream": ("EventStream",),
    "blissdata.redis_engine.encoding.json": ("JsonStreamEncoder",),
    "blissdata.redis_engine.encoding.numeric": ("NumericStreamEncoder",),
    "blissdata.streams": (
        "BaseStream", "BaseView", "Cursor", "CursorGroup", "EventRange", "StreamDefinition",
        "EventStream",
    ),
    "blissdata.streams.base": ("BaseStream", "BaseView", "CursorGroup", "EventRange"),
    "blissdata.streams.default": (
        "Stream", "View", "BrokenStream", "BrokenPluginStream", "MissingPluginStream",
    ),
    "blissdata.streams.event_stream": ("EventStream",),
    "blissdata.streams.encoding": ("StreamEncoder",),
    "blissdata.streams.encoding.json": ("JsonStreamEncoder",),
    "blissdata.streams.encoding.numeric": ("NumericStreamEncoder",),
    "blissdata.streams.lima": ("LimaStream", "LimaView", "stream_cls", "view_cls"),
    "blissdata.streams.lima.stream": ("LimaStream", "LimaView", "LimaDirectAccess"),
    "blissdata.streams.lima_stream": ("LimaStream",),
    "blissdata.streams.hdf5_fallback": ("Hdf5BackedStream", "Hdf5BackedView", "stream_cls"),
    "blissdata.streams.hdf5_fallback.stream": ("Hdf5BackedStream", "Hdf5BackedView"),
    "blissdata.streams.scan_sequence": ("ScanStream", "ScanView", "stream_cls"),
    "blissdata.streams.scan_sequence.stream": ("ScanStream", "ScanView"),
    "blissdata.beacon": (),
    "blissdata.beacon.data": ("BeaconData",),
    "blissdata.beacon.config": ("get_beacon_address",),
    "blissdata.lima": (),
    "blissdata.lima.image_utils": ("ImageData",),
    "blissdata.h5api": (),
}  # fmt: skip

#: Provided by blissdata-h5 / blissdata-writer when installed (entry points).
PROVIDED_BY_UPPER_LAYERS: dict[str, tuple[str, ...]] = {
    "blissdata.h5api.dynamic_hdf5": ("File",),
}
