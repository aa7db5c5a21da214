"""DataStore: initialisation, protocol checks, scan lookup, search, deletion."""

import threading

import pytest
import redis

from blissdata_core import (
    DatabaseNotEmptyError,
    DatabaseNotInitialisedError,
    DataStore,
    NoScanAvailable,
    ProtocolVersionError,
    ScanNotFoundError,
    ScanNotTerminatedError,
    ScanState,
    ScanValidationError,
    Stream,
)
from blissdata_core.protocol import PROTOCOL_KEY


def make_scan(ds, number=1, name="ascan", **identity):
    ident = {"name": name, "number": number, "data_policy": "no_policy", **identity}
    return ds.create_scan(ident, info={"title": f"{name} {number}"})


def test_uninitialised_database_is_reported(redis_url):
    redis.Redis.from_url(redis_url).flushall()
    with pytest.raises(DatabaseNotInitialisedError, match="not initialised"):
        DataStore(redis_url)


def test_other_protocol_version_is_refused(redis_url):
    redis.Redis.from_url(redis_url).set(PROTOCOL_KEY, 2)
    with pytest.raises(ProtocolVersionError, match="protocol 2"):
        DataStore(redis_url)


@pytest.mark.parametrize("version", [None, b"2"])
def test_a_refused_database_leaves_no_connection_open(redis_url, version):
    """A DataStore whose protocol check raises closes what it opened (issue #20, bug 3),
    even while the traceback keeps the half-built object alive."""
    import uuid

    client = redis.Redis.from_url(redis_url)
    if version is None:
        client.flushall()
    else:
        client.set(PROTOCOL_KEY, version)
    name = f"refused-{uuid.uuid4().hex}"
    publishers = sum(t.name == "blissdata-publisher" for t in threading.enumerate())
    with pytest.raises((DatabaseNotInitialisedError, ProtocolVersionError)) as excinfo:
        DataStore(redis_url, client_name=name)
    assert excinfo.traceback  # the half-built store is still referenced from here
    assert [c for c in client.client_list() if c.get("name") == name] == []
    assert sum(t.name == "blissdata-publisher" for t in threading.enumerate()) == publishers
    client.close()


def test_init_refuses_non_empty_database(redis_url):
    with pytest.raises(DatabaseNotEmptyError):
        DataStore(redis_url, init_db=True)


def test_init_writes_index_function_and_version(redis_url):
    r = redis.Redis.from_url(redis_url)
    r.flushall()
    DataStore(redis_url, init_db=True)
    assert r.get(PROTOCOL_KEY) == b"1"
    assert r.get("esrf:scan:index:hash") == b"53f88e5eee38ba1d63a533c6e3e2927beed34a08"
    assert b"mylib" in str(r.function_list()).encode()
    assert r.ft("esrf:scan:index").info()["index_name"] == "esrf:scan:index"


def test_create_and_load_scan(data_store):
    scan = make_scan(data_store, 7, path="/data/x.h5", session="demo")
    loaded = data_store.load_scan(scan.key)
    assert loaded.key == scan.key
    assert (loaded.name, loaded.number, loaded.path, loaded.session) == (
        "ascan",
        7,
        "/data/x.h5",
        "demo",
    )
    assert loaded.proposal is None
    assert loaded.state is ScanState.CREATED
    assert loaded.info == {"title": "ascan 7"}


@pytest.mark.parametrize(
    "identity",
    [
        {"name": "a", "data_policy": "p"},
        {"name": "a", "number": "1", "data_policy": "p"},
        {"name": "a", "number": 1, "data_policy": "p", "colour": "red"},
        {"name": 3, "number": 1, "data_policy": "p"},
        "not a dict",
    ],
)
def test_bad_identity_is_refused_before_writing(data_store, identity):
    before = data_store.get_last_scan_timetag()
    with pytest.raises(ScanValidationError):
        data_store.create_scan(identity)
    assert data_store.get_last_scan_timetag() == before


def test_load_missing_scan(data_store):
    with pytest.raises(ScanNotFoundError):
        data_store.load_scan("esrf:scan:01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    with pytest.raises(ScanNotFoundError):
        data_store.load_scan("not-a-scan-key")


def test_last_scan_and_timetag(data_store):
    with pytest.raises(NoScanAvailable):
        data_store.get_last_scan()
    assert data_store.get_last_scan_timetag() == "0-0"
    make_scan(data_store, 1)
    second = make_scan(data_store, 2)
    timetag, key = data_store.get_last_scan()
    assert key == second.key
    assert data_store.get_last_scan_timetag() == timetag


def test_get_next_scan_chained_misses_nothing(data_store):
    since = data_store.get_last_scan_timetag()
    created = [make_scan(data_store, i).key for i in range(5)]
    seen = []
    for _ in created:
        since, key = data_store.get_next_scan(since=since, timeout=1)
        seen.append(key)
    assert seen == created
    with pytest.raises(NoScanAvailable):
        data_store.get_next_scan(since=since, timeout=0.1)
    with pytest.raises(NoScanAvailable):
        data_store.get_next_scan(since=since, block=False)


def test_get_next_scan_blocks_until_created(data_store):
    result = {}

    def wait():
        result["value"] = data_store.get_next_scan(timeout=10)

    waiter = threading.Thread(target=wait)
    waiter.start()
    # the waiter may or may not be blocked yet: create until it returns
    scan = None
    for number in range(200):
        scan = make_scan(data_store, number)
        waiter.join(timeout=0.05)
        if not waiter.is_alive():
            break
    assert result["value"][1].startswith("esrf:scan:")
    assert scan is not None


def test_get_next_scan_skips_deleted(data_store):
    since = data_store.get_last_scan_timetag()
    doomed = make_scan(data_store, 1)
    kept = make_scan(data_store, 2)
    doomed.close()
    data_store.delete_scan(doomed.key)
    _, key = data_store.get_next_scan(since=since, timeout=1)
    assert key == kept.key
    _, last = data_store.get_last_scan()
    assert last == kept.key


def test_search(data_store):
    a = make_scan(data_store, 1, name="ascan", dataset="sample-1", path="/data/a b/x.h5")
    b = make_scan(data_store, 2, name="ascan", dataset="sample-2")
    c = make_scan(data_store, 3, name="dscan", dataset="other")
    assert data_store.search_existing_scans(name="ascan")[1] == [a.key, b.key]
    assert data_store.search_existing_scans(number=3)[1] == [c.key]
    assert data_store.search_existing_scans(dataset="sample*")[1] == [a.key, b.key]
    assert data_store.search_existing_scans(dataset="*-2")[1] == [b.key]
    assert data_store.search_existing_scans(dataset="*ple*")[1] == [a.key, b.key]
    assert data_store.search_existing_scans(path="/data/a b/x.h5")[1] == [a.key]
    assert data_store.search_existing_scans(name="ascan", number=2)[1] == [b.key]
    assert data_store.search_existing_scans(name="nothing")[1] == []
    timetag, everything = data_store.search_existing_scans()
    assert everything == [a.key, b.key, c.key]
    d = make_scan(data_store, 4)
    assert data_store.get_next_scan(since=timetag, timeout=1)[1] == d.key


def test_search_rejects_bad_queries(data_store):
    with pytest.raises(ValueError):
        data_store.search_existing_scans(name="a*b")
    with pytest.raises(ValueError, match="2 literal"):
        data_store.search_existing_scans(name="*b")
    with pytest.raises(ValueError):
        data_store.search_existing_scans(colour="red")
    with pytest.raises(TypeError):
        data_store.search_existing_scans(name=None)


def test_scans_state(data_store):
    a = make_scan(data_store, 1)
    b = make_scan(data_store, 2)
    b.prepare()
    assert data_store.get_scans_state([a.key, b.key]) == {
        a.key: ScanState.CREATED,
        b.key: ScanState.PREPARED,
    }
    assert data_store.get_scans_state([]) == {}


def test_delete_scan(data_store):
    scan = make_scan(data_store, 1)
    stream = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    scan.start()
    stream.send(1.0)
    with pytest.raises(ScanNotTerminatedError):
        data_store.delete_scan(scan.key)
    reader = data_store.load_scan(scan.key)
    data_store.delete_scan(scan.key, force=True)
    with pytest.raises(ScanNotFoundError):
        data_store.load_scan(scan.key)
    with pytest.raises(ScanNotFoundError):
        reader.update()
    r = data_store.redis
    assert 0 < r.ttl(scan.key) <= 10
    assert 0 < r.ttl(stream.key) <= 10
    data_store.delete_scan(scan.key)  # deleting again is a no-op
    assert data_store.search_existing_scans(number=1)[1] == []


def test_force_delete_closes_and_seals(data_store):
    scan = make_scan(data_store, 1)
    stream = scan.create_stream(Stream.make_definition("x", "int32"))
    scan.prepare()
    scan.start()
    stream.send(3)
    stream.join()
    reader = data_store.load_scan(scan.key)
    data_store.delete_scan(scan.key, force=True)
    assert reader.streams["x"].is_sealed()
    assert len(reader.streams["x"]) == 1
