"""Scan: state machine, info rules, permissions, following a scan."""

import json
import math
import threading

import numpy as np
import pytest

from blissdata_core import (
    NoWritePermission,
    ScanInfoError,
    ScanState,
    Stream,
    UnauthorizeStateTransition,
)
from blissdata_core.errors import StreamAlreadyExistsError


def test_full_lifecycle(data_store, new_scan):
    scan, streams = new_scan(x="float64")
    assert scan.state is ScanState.CREATED
    scan.prepare()
    scan.start()
    streams["x"].send(1.0)
    scan.stop()
    assert streams["x"].is_sealed()
    scan.close()
    reader = data_store.load_scan(scan.key)
    assert reader.state is ScanState.CLOSED
    assert len(reader.streams["x"]) == 1


@pytest.mark.parametrize(
    "steps, bad",
    [
        ([], "start"),
        ([], "stop"),
        (["prepare"], "prepare"),
        (["prepare"], "stop"),
        (["prepare", "start"], "start"),
        (["prepare", "start", "stop", "close"], "close"),
        (["prepare", "start", "stop", "close"], "prepare"),
    ],
)
def test_forbidden_transitions(new_scan, steps, bad):
    scan, _ = new_scan()
    for step in steps:
        getattr(scan, step)()
    state = scan.state
    with pytest.raises(UnauthorizeStateTransition):
        getattr(scan, bad)()
    assert scan.state is state


def test_close_from_any_state(data_store, new_scan):
    for steps in ([], ["prepare"], ["prepare", "start"]):
        scan, _ = new_scan()
        for step in steps:
            getattr(scan, step)()
        scan.close()
        assert data_store.load_scan(scan.key).state is ScanState.CLOSED


def test_info_is_sanitised(data_store):
    info = {
        "nan": math.nan,
        "inf": [math.inf, 1.0],
        "np": np.float32(2.5),
        "arr": np.arange(3),
        "ok": "x",
    }
    scan = data_store.create_scan({"name": "a", "number": 1, "data_policy": "p"}, info=info)
    loaded = data_store.load_scan(scan.key)
    assert loaded.info == {"nan": None, "inf": [None, 1.0], "np": 2.5, "arr": [0, 1, 2], "ok": "x"}


def test_info_too_large(data_store):
    with pytest.raises(ScanInfoError, match="1 MiB"):
        data_store.create_scan(
            {"name": "a", "number": 1, "data_policy": "p"}, info={"x": "y" * 2**20}
        )


def test_info_not_serialisable(data_store):
    with pytest.raises(ScanInfoError):
        data_store.create_scan({"name": "a", "number": 1, "data_policy": "p"}, info={"x": object()})


def test_info_changes_only_when_allowed(data_store, new_scan):
    scan, _ = new_scan()
    scan.info["before_prepare"] = 1
    scan.prepare()
    assert data_store.load_scan(scan.key).info["before_prepare"] == 1
    scan.info["during"] = 2
    with pytest.raises(ScanInfoError):
        scan.start()
    assert scan.state is ScanState.PREPARED
    assert data_store.load_scan(scan.key).state is ScanState.PREPARED
    del scan.info["during"]
    scan.start()
    scan.stop()
    scan.info["end_reason"] = "SUCCESS"
    scan.close()
    assert data_store.load_scan(scan.key).info["end_reason"] == "SUCCESS"


def test_read_only_scan(data_store, new_scan):
    scan, _ = new_scan(x="float64")
    scan.prepare()
    reader = data_store.load_scan(scan.key)
    for call in (reader.prepare, reader.start, reader.stop, reader.close):
        with pytest.raises(NoWritePermission):
            call()
    with pytest.raises(NoWritePermission):
        reader.info = {}
    with pytest.raises(NoWritePermission):
        reader.create_stream(Stream.make_definition("y", "float64"))
    with pytest.raises(NoWritePermission):
        reader.streams["x"].send(1.0)


def test_duplicate_stream(new_scan):
    scan, _ = new_scan(x="float64")
    with pytest.raises(StreamAlreadyExistsError):
        scan.create_stream(Stream.make_definition("x", "int8"))


def test_streams_visible_from_prepared(data_store, new_scan):
    scan, _ = new_scan(x="float64", e="json")
    assert data_store.load_scan(scan.key).streams == {}
    scan.prepare()
    reader = data_store.load_scan(scan.key)
    assert set(reader.streams) == {"x", "e"}
    assert reader.streams["x"].kind == "array"
    assert reader.streams["e"].kind == "json"
    assert reader.streams["x"].info == {"dtype": "float64", "shape": []}


def test_update_follows_states(data_store, new_scan):
    scan, _ = new_scan(x="float64")
    reader = data_store.load_scan(scan.key)
    assert reader.update(block=False) is False
    assert reader.update(timeout=0.05) is False
    scan.prepare()
    assert reader.update(timeout=5) is True
    assert reader.state is ScanState.PREPARED
    assert "x" in reader.streams
    seen = []

    def follow():
        while reader.update(timeout=10):
            seen.append(reader.state)

    follower = threading.Thread(target=follow)
    follower.start()
    scan.start()
    scan.stop()
    scan.info["end"] = True
    scan.close()
    follower.join(timeout=20)
    assert not follower.is_alive()
    assert seen[-1] is ScanState.CLOSED
    assert reader.info["end"] is True
    assert reader.update() is False


def test_update_not_for_writer(new_scan):
    scan, _ = new_scan()
    with pytest.raises(NoWritePermission):
        scan.update()


def test_document_layout_matches_protocol(data_store, new_scan):
    scan, _ = new_scan(x=("uint16", (2, 3)))
    scan.prepare()
    doc = json.loads(data_store.redis.execute_command("JSON.GET", scan.key))
    assert set(doc) == {"pk", "id", "info", "state_stream", "data_streams"}
    assert scan.key == f"esrf:scan:{doc['pk']}"
    assert set(doc["id"]) == {"pk", "name", "number", "data_policy", "session", "proposal",
                              "collection", "dataset", "path"}  # fmt: skip
    assert doc["state_stream"]["encoding"] is None and doc["state_stream"]["info"] is None
    model = doc["data_streams"]["x"]
    assert model["encoding"] == {"type": "numeric", "dtype_str": "<u2", "shape": [2, 3]}
    assert model["info"] == {"dtype": "uint16", "shape": [2, 3]}
    assert len(model["pk"]) == 26


def test_writer_stream_from_elsewhere(data_store, new_scan):
    scan, _ = new_scan(x="int64")
    scan.prepare()
    scan.start()
    other = type(data_store)(data_store.url)
    remote = other.load_scan(scan.key).get_writer_stream("x")
    remote.send(np.arange(5))
    remote.seal()
    reader = data_store.load_scan(scan.key)
    assert list(reader.streams["x"][:]) == [0, 1, 2, 3, 4]
    scan.stop()
    scan.close()


def _two_stream_scan(raw_scan, mutate):
    from blissdata_core.ulid import new_ulid

    return raw_scan(
        {
            "good": {"pk": new_ulid(), "encoding": {"type": "json"}, "info": {}},
            "bad": {
                "pk": new_ulid(),
                "encoding": {"type": "numeric", "dtype_str": "<f8", "shape": []},
                "info": {},
            },
        },  # fmt: skip
        mutate,
    )


def test_document_validated_on_load(data_store, raw_scan):
    from blissdata_core import ScanValidationError

    key = _two_stream_scan(raw_scan, lambda d: d["id"].pop("number"))
    with pytest.raises(ScanValidationError, match="number"):
        data_store.load_scan(key)
    key = _two_stream_scan(raw_scan, lambda d: d.update(info=[1, 2]))
    with pytest.raises(ScanValidationError):
        data_store.load_scan(key)


def test_a_document_changed_after_a_valid_load_is_validated_again(data_store, raw_scan):
    """Valid documents are remembered by their bytes: any change is checked anew."""
    from blissdata_core import ScanValidationError

    key = _two_stream_scan(raw_scan, lambda d: None)
    data_store.load_scan(key)
    data_store.load_scan(key)  # the same bytes: remembered as valid
    data_store.redis.execute_command("JSON.SET", key, "$.info", json.dumps([1, 2]))
    with pytest.raises(ScanValidationError):
        data_store.load_scan(key)


def test_bad_stream_model_breaks_only_that_stream(data_store, raw_scan):
    from blissdata_core import ScanValidationError

    key = _two_stream_scan(
        raw_scan, lambda d: d["data_streams"]["bad"]["encoding"].update(dtype_str=8)
    )
    scan = data_store.load_scan(key)
    assert len(scan.streams["good"]) == 0
    with pytest.raises(ScanValidationError, match="dtype_str"):
        len(scan.streams["bad"])


# --- a publication that failed (issue #20, bug 1) -------------------------------------


@pytest.mark.parametrize("ending", [("stop", "close"), ("close",)])
def test_a_scan_ends_after_a_publish_failure(
    data_store, new_scan, fail_publication, caplog, ending
):
    """One failed XADD used to make stop() and close() raise the stored PublishError
    forever, the scan stuck in STARTED and every consumer waiting on it.  The
    transitions happen; the points lost are in the document for every consumer."""
    from blissdata_core import PublishError
    from blissdata_core.schemas import validate_scan_document

    scan, streams = new_scan(x="float64", y="float64")
    x, y = streams["x"], streams["y"]
    scan.prepare()
    scan.start()
    follower = data_store.load_scan(scan.key)
    x.send(0.0)
    y.send(np.arange(3.0))
    x.join()
    repair = fail_publication(x)
    x.send(np.array([1.0, 2.0]))  # two points in one entry: both lost
    with pytest.raises(PublishError, match="WRONGTYPE"):
        x.join()
    repair()
    with caplog.at_level("WARNING", logger="blissdata_core"):
        for step in ending:
            getattr(scan, step)()
    assert scan.state is ScanState.CLOSED
    assert set(scan.publish_errors) == {"x"}
    assert scan.publish_errors["x"]["lost"] == 2
    assert "WRONGTYPE" in scan.publish_errors["x"]["error"]
    assert any("'x'" in m and "2 point(s) lost" in m for m in caplog.messages), caplog.messages
    with pytest.raises(PublishError):  # the stream itself still says so
        x.seal()

    assert follower.update(timeout=10) and follower.state >= ScanState.STOPPED
    reader = data_store.load_scan(scan.key)
    assert reader.state is ScanState.CLOSED
    assert reader.publish_errors == scan.publish_errors
    assert reader.streams["x"].is_sealed() and len(reader.streams["x"]) == 1
    assert list(reader.streams["y"][:]) == [0.0, 1.0, 2.0]
    doc = json.loads(data_store.redis.execute_command("JSON.GET", scan.key))
    assert doc["publish_errors"] == scan.publish_errors
    validate_scan_document(doc)


def test_no_publish_errors_member_without_failure(data_store, new_scan):
    scan, streams = new_scan(x="float64")
    scan.prepare()
    scan.start()
    streams["x"].send(1.0)
    scan.stop()
    scan.close()
    assert scan.publish_errors == {}
    assert data_store.load_scan(scan.key).publish_errors == {}
    doc = json.loads(data_store.redis.execute_command("JSON.GET", scan.key))
    assert "publish_errors" not in doc
