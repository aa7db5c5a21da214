"""Every name of the public API contract (shared/design/api-contract.md) exists."""

import inspect

import blissdata_core

TOP_LEVEL = [
    "DataStore", "Scan", "ScanState", "Stream", "StreamDefinition", "Cursor", "CursorGroup", "View",
    "EndOfStream", "IndexNoMoreThereError", "IndexNotYetThereError", "IndexWontBeThereError",
    "NoScanAvailable", "NoWritePermission", "ScanNotFoundError", "ScanValidationError",
    "UnauthorizeStateTransition", "UnknownEncodingError", "BlissdataError", "ProtocolVersionError",
]  # fmt: skip


def test_top_level_exports():
    for name in TOP_LEVEL:
        assert hasattr(blissdata_core, name), name
        assert name in blissdata_core.__all__, name
    for name in TOP_LEVEL[8:]:
        assert issubclass(getattr(blissdata_core, name), blissdata_core.BlissdataError), name


def test_signatures():
    ds = blissdata_core.DataStore
    assert list(inspect.signature(ds).parameters)[:2] == ["url", "init_db"]
    for method in ("create_scan", "load_scan", "get_last_scan", "get_last_scan_timetag", "get_next_scan",
                   "search_existing_scans", "get_scans_state", "delete_scan"):  # fmt: skip
        assert callable(getattr(ds, method)), method
    assert list(inspect.signature(ds.get_next_scan).parameters) == [
        "self",
        "since",
        "block",
        "timeout",
    ]
    assert list(inspect.signature(ds.delete_scan).parameters) == ["self", "scan_key", "force"]
    scan = blissdata_core.Scan
    for name in ("key", "state", "info", "streams", "name", "number", "data_policy", "session", "proposal",
                 "collection", "dataset", "path", "create_stream", "prepare", "start", "stop", "close",
                 "update", "get_writer_stream"):  # fmt: skip
        assert hasattr(scan, name), name
    assert list(inspect.signature(scan.update).parameters) == ["self", "block", "timeout"]
    stream = blissdata_core.Stream
    for name in ("name", "key", "info", "dtype", "shape", "kind", "plugin", "send", "join", "seal",
                 "is_sealed", "wait_seal", "cursor", "__len__", "__getitem__", "__iter__",
                 "make_definition"):  # fmt: skip
        assert hasattr(stream, name), name
    assert list(inspect.signature(stream.make_definition).parameters) == [
        "name",
        "dtype",
        "shape",
        "info",
    ]
    read = inspect.signature(blissdata_core.Cursor.read).parameters
    assert list(read) == ["self", "block", "timeout", "last_only"]
    assert list(inspect.signature(blissdata_core.CursorGroup.read).parameters) == list(read)
    view = blissdata_core.View
    assert hasattr(view, "index") and hasattr(view, "__len__") and hasattr(view, "get_data")
    states = blissdata_core.ScanState
    assert [(s.name, s.value) for s in states] == [
        ("CREATED", 0),
        ("PREPARED", 1),
        ("STARTED", 2),
        ("STOPPED", 3),
        ("CLOSED", 4),
    ]


def test_console_script_declared():
    from importlib.metadata import entry_points

    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("blissdata") == "blissdata_core.cli:main"
