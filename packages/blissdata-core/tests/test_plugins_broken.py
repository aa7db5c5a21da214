"""A stream whose plugin is missing or broken fails alone; the rest of the scan stays readable."""

import types
from importlib.metadata import EntryPoint

import numpy as np
import pytest

from blissdata_core import Stream
from blissdata_core.errors import BrokenPluginException, MissingPluginException
from blissdata_core.streams import plugins
from blissdata_core.streams.stream import BrokenPluginStream, MissingPluginStream


@pytest.fixture
def fake_plugins(monkeypatch):
    """Register plugins for the producer only, and restore the registry afterwards."""
    monkeypatch.setattr(plugins, "_loaded", dict(plugins._loaded))
    monkeypatch.setattr(plugins, "_entry_points", dict(plugins._discover()))
    return plugins


def _scan_with(data_store, fake_plugins, plugin_name):
    fake_plugins._loaded[plugin_name] = types.SimpleNamespace(stream_cls=Stream)
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    good = scan.create_stream(Stream.make_definition("good", "float64"))
    odd = scan.create_stream(Stream.make_definition("odd", "float64", info={"plugin": plugin_name}))
    scan.prepare()
    scan.start()
    good.send(np.arange(3.0))
    odd.send(np.arange(3.0))
    scan.stop()
    scan.close()
    del fake_plugins._loaded[plugin_name]  # the reader does not have it
    return scan.key


def _check_only_that_stream_fails(scan, exc_type):
    np.testing.assert_array_equal(scan.streams["good"][:], np.arange(3.0))
    odd = scan.streams["odd"]
    assert (odd.name, odd.info["plugin"]) == ("odd", odd.plugin)
    for use in (len, lambda s: s[0], lambda s: s.cursor(), lambda s: s.dtype, lambda s: list(s)):
        with pytest.raises(exc_type):
            use(odd)


def test_missing_plugin(data_store, fake_plugins):
    key = _scan_with(data_store, fake_plugins, "no_such_plugin")
    scan = data_store.load_scan(key)
    assert isinstance(scan.streams["odd"], MissingPluginStream)
    assert scan.streams["odd"].kind == "missing_plugin"
    _check_only_that_stream_fails(scan, MissingPluginException)


def test_plugin_that_fails_to_import(data_store, fake_plugins):
    key = _scan_with(data_store, fake_plugins, "fails_import")
    fake_plugins._entry_points["fails_import"] = EntryPoint(
        "fails_import", "blissdata_no_such_module_xyz", plugins.ENTRY_POINT_GROUP
    )
    scan = data_store.load_scan(key)
    assert isinstance(scan.streams["odd"], BrokenPluginStream)
    _check_only_that_stream_fails(scan, BrokenPluginException)


def test_plugin_that_cannot_open_the_stream(data_store, fake_plugins):
    """A real plugin given a stream it cannot use (lima without lima_info)."""
    key = _scan_with(data_store, fake_plugins, "lima")
    scan = data_store.load_scan(key)
    assert isinstance(scan.streams["odd"], BrokenPluginStream)
    _check_only_that_stream_fails(scan, BrokenPluginException)


def test_cursor_group_over_the_good_streams(data_store, fake_plugins):
    from blissdata_core import CursorGroup

    key = _scan_with(data_store, fake_plugins, "no_such_plugin")
    scan = data_store.load_scan(key)
    readable = {n: s for n, s in scan.streams.items() if not isinstance(s, MissingPluginStream)}
    views = CursorGroup(readable).read()
    assert [s.name for s in views] == ["good"]


def test_cursor_group_over_every_stream_follows_the_readable_ones(data_store, fake_plugins):
    """A group over ``scan.streams`` reads the rest and shows the broken stream as skipped."""
    from blissdata_core import Cursor, CursorGroup, EndOfStream

    key = _scan_with(data_store, fake_plugins, "no_such_plugin")
    scan = data_store.load_scan(key)
    group = CursorGroup(scan.streams)
    odd = scan.streams["odd"]
    assert list(group.skipped) == [odd]
    assert isinstance(group.skipped[odd], MissingPluginException)
    assert "no_such_plugin" in str(group.skipped[odd])
    views = group.read(timeout=10)
    assert [s.name for s in views] == ["good"]
    np.testing.assert_array_equal(views[scan.streams["good"]].get_data(), np.arange(3.0))
    with pytest.raises(EndOfStream):
        group.read(timeout=10)
    with pytest.raises(MissingPluginException, match="no_such_plugin"):
        Cursor(odd).read(timeout=10)


def test_served_plugin_is_missing_again_afterwards(data_store):
    """``plugins.served`` plays a producer that has a plugin the reader lacks."""
    import types

    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    with plugins.served("producer_only", types.SimpleNamespace(stream_cls=Stream)):
        odd = scan.create_stream(
            Stream.make_definition("odd", "float64", info={"plugin": "producer_only"})
        )
    assert type(odd) is Stream
    scan.prepare()
    assert isinstance(data_store.load_scan(scan.key).streams["odd"], MissingPluginStream)
