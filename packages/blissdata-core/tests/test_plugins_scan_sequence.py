"""The scan_sequence plugin: a stream whose points are scans."""

import pytest

from blissdata_core import Scan, Stream
from blissdata_core.errors import IndexNoMoreThereError, MalformedEntryError
from blissdata_core.streams.plugins.scan_sequence import ScanSequenceStream, ScanSequenceView


def _scan(data_store, number, name="ascan"):
    return data_store.create_scan({"name": name, "number": number, "data_policy": "no_policy"})


def _sequence(data_store, nchildren=3, definition=None):
    parent = _scan(data_store, 1, "sequence")
    stream = parent.create_stream(
        definition or ScanSequenceStream.make_definition("scans", info={"a": 1})
    )
    parent.prepare()
    parent.start()
    children = []
    for i in range(nchildren):
        child = _scan(data_store, 2 + i)
        children.append(child.key)
        stream.send(child if i % 2 else child.key)  # a Scan or its key
    parent.stop()
    parent.close()
    return data_store.load_scan(parent.key), children


def test_make_definition():
    d = ScanSequenceStream.make_definition("scans", info={"a": 1})
    assert d.info == {"a": 1, "format": "subscan", "plugin": "scan_sequence"}
    assert d.encoder.info() == {"type": "json"}


def test_points_are_scans(data_store):
    parent, children = _sequence(data_store)
    stream = parent.streams["scans"]
    assert isinstance(stream, ScanSequenceStream)
    assert (stream.kind, stream.plugin, stream.shape, stream.dtype) == (
        "scan",
        "scan_sequence",
        (),
        object,
    )
    assert len(stream) == 3
    first = stream[0]
    assert isinstance(first, Scan) and first.key == children[0] and first.number == 2
    assert [s.key for s in stream[1:]] == children[1:]
    assert [s.key for s in stream] == children
    assert stream.get_keys(slice(None)) == children
    assert stream.get_keys(-1) == children[-1]
    raw = Stream(stream.event_stream)[:]
    assert raw == [{"key": k} for k in children]  # wire format of the reference client


def test_cursor_views_load_scans(data_store):
    parent, children = _sequence(data_store, 4)
    view = parent.streams["scans"].cursor().read()
    assert isinstance(view, ScanSequenceView)
    assert (view.index, len(view)) == (0, 4)
    assert [s.key for s in view.get_data()] == children
    assert view.get_keys(1, 3) == children[1:3]


def test_trimmed_references_are_reported(data_store):
    parent, children = _sequence(data_store, 4)
    stream = parent.streams["scans"]
    data_store.redis.xtrim(stream.key, minid=2, approximate=False)
    with pytest.raises(IndexNoMoreThereError):
        stream[0]
    assert stream[3].key == children[3]
    view = stream.cursor().read()
    assert (view.index, len(view)) == (0, 4)
    assert view.get_keys(2) == children[2:]
    with pytest.raises(IndexNoMoreThereError):
        view.get_data()


def test_legacy_subscan_format_without_plugin(data_store):
    definition = Stream.make_definition("scans", "json", info={"format": "subscan"})
    parent, children = _sequence(data_store, 2, definition)
    stream = parent.streams["scans"]
    assert isinstance(stream, ScanSequenceStream)
    assert [s.key for s in stream[:]] == children


def test_bad_events(data_store):
    parent = _scan(data_store, 1, "sequence")
    stream = parent.create_stream(ScanSequenceStream.make_definition("scans"))
    with pytest.raises(TypeError):
        stream.send(3)
    parent.prepare()
    parent.start()
    stream.event_stream.send({"nokey": 1})
    parent.stop()
    reader = data_store.load_scan(parent.key).streams["scans"]
    with pytest.raises(MalformedEntryError):
        reader[0]
