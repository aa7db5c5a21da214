"""Consumers on replicas (issue #18): embedded replicas and chains, read-only stores.

Real servers: a primary from ``redis_server_factory``, replicas following it.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import redis

from blissdata_core import DataStore, EndOfStream, NoWritePermission, ScanState, Stream
from blissdata_core.errors import NotPrimaryError
from blissdata_core.replication import parse_info, replica_offsets, replication_lag
from blissdata_core.server import replica_args

#: Safety net only, so a broken replica cannot hang the suite; never a measured bound.
HANG_GUARD = 120


@pytest.fixture
def chain(redis_server_factory):
    """(primary, replica, replica of the replica), the primary initialised."""
    primary = redis_server_factory()
    DataStore(primary.url, init_db=True).close()
    replica = redis_server_factory(replica_of=primary.url)
    second = redis_server_factory(replica_of=replica.url)
    return primary, replica, second


def wait_offset(primary, *replicas):
    """Wait until each replica has applied everything the primary wrote so far."""
    client = redis.Redis.from_url(primary.url)
    target = client.info("replication")["master_repl_offset"]
    deadline = time.monotonic() + HANG_GUARD
    for replica in replicas:
        while replica.replication_info().get("slave_repl_offset", -1) < target:
            assert time.monotonic() < deadline, "replica never caught up"
            time.sleep(0.02)


def test_replica_args():
    assert replica_args("redis://10.0.0.1:7000") == [
        "--replicaof", "10.0.0.1", "7000", "--replica-read-only", "yes",
    ]  # fmt: skip
    args = replica_args("rediss://reader:s3cret@host")
    assert args[:3] == ["--replicaof", "host", "6379"]
    assert args[5:] == [
        "--masterauth",
        "s3cret",
        "--masteruser",
        "reader",
        "--tls-replication",
        "yes",
    ]
    with pytest.raises(ValueError, match="redis://"):
        replica_args("http://host:1")


def test_replicas_and_chains_have_the_modules_and_the_data(chain):
    primary, replica, second = chain
    for server in (replica, second):
        info = server.replication_info()
        assert info["role"] == "slave"
        assert info["master_link_status"] == "up"
        names = {
            m["name"] for m in redis.Redis.from_url(server.url, decode_responses=True).module_list()
        }
        assert {"ReJSON", "search"} <= names
    assert replica.replication_info()["master_port"] == primary.port
    assert second.replication_info()["master_port"] == replica.port
    wait_offset(primary, replica, second)
    for server in (replica, second):
        DataStore(server.url, read_only=True).close()  # protocol key and index are there


def test_consumer_on_a_chained_replica_reads_every_point_and_the_seal(chain):
    primary, replica, second = chain
    producer = DataStore(primary.url)
    consumer = DataStore(second.url, read_only=True)
    try:
        scan = producer.create_scan({"name": "rep", "number": 1, "data_policy": "no_policy"})
        x = scan.create_stream(Stream.make_definition("x", "float64"))
        scan.prepare()
        scan.start()
        deadline = time.monotonic() + HANG_GUARD
        while True:  # the scan reaches the replica in its own time
            try:
                seen = consumer.load_scan(scan.key)
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        while seen.state < ScanState.PREPARED:
            seen.update(timeout=1)
            assert time.monotonic() < deadline
        cursor = seen.streams["x"].cursor()
        got = []
        for i in range(50):
            x.send(float(i))
        x.join()
        for i in range(50, 100):
            x.send(float(i))
        x.seal()
        while True:
            try:
                view = cursor.read(timeout=HANG_GUARD)
            except EndOfStream:
                break
            assert view is not None, "no data within the hang guard"
            got.extend(view.get_data().tolist())
        assert got == [float(i) for i in range(100)]
        scan.stop()
        scan.close()
        while seen.state < ScanState.CLOSED:
            seen.update(timeout=1)
            assert time.monotonic() < deadline
    finally:
        producer.close()
        consumer.close()


def test_read_only_store_refuses_writes_before_the_server(chain, monkeypatch):
    primary, replica, _ = chain
    with DataStore(primary.url) as producer:
        scan = producer.create_scan({"name": "ro", "number": 1, "data_policy": "no_policy"})
        scan.create_stream(Stream.make_definition("x", "float64"))
        scan.prepare()
    wait_offset(primary, replica)
    # read-only even on the primary: nothing may reach the server
    for url in (primary.url, replica.url):
        store = DataStore(url, read_only=True)
        sent = []
        real = store.runtime.conn._get
        monkeypatch.setattr(store.runtime.conn, "_get", lambda s=sent, r=real: s.append(1) or r())
        try:
            assert store.read_only
            with pytest.raises(NoWritePermission):
                store.create_scan({"name": "no", "number": 1, "data_policy": "no_policy"})
            with pytest.raises(NoWritePermission):
                store.load_scan_for_writing(scan.key)
            with pytest.raises(NoWritePermission):
                store.delete_scan(scan.key, force=True)
            with pytest.raises(NoWritePermission):
                store.runtime.conn.call("SET", "k", "v")
            with pytest.raises(NoWritePermission):
                store.runtime.conn.call_many([("GET", "a"), ("XADD", "s", "*", "a", "1")])
            with pytest.raises(NoWritePermission):
                store.runtime.conn.transaction([("JSON.SET", "k", "$", "{}")])
            with pytest.raises(NoWritePermission):
                store.runtime.conn.call("FCALL", "seal", 1, "k")
            assert sent == []
            loaded = store.load_scan(scan.key)  # reads go through
            assert sent and loaded.state == ScanState.PREPARED
        finally:
            store.close()
    with pytest.raises(NoWritePermission):
        DataStore(replica.url, init_db=True, read_only=True)


def test_read_only_store_redis_client_refuses_writes_before_the_server(chain):
    """``store.redis`` of a read-only store: tools meet the data path's allow-list."""
    primary, replica, _ = chain
    for url in (primary.url, replica.url):
        with DataStore(url, read_only=True) as store:
            client = store.redis
            assert client.get("_PROTOCOL_VERSION_") is not None or url == replica.url
            assert client.exists("nothing") == 0
            with pytest.raises(NoWritePermission, match="SET refused"):
                client.set("written", 1)
            with pytest.raises(NoWritePermission, match="XADD refused"):
                client.xadd("s", {"a": 1})
            with pytest.raises(NoWritePermission, match="DEL refused"):
                client.execute_command("DEL", "_PROTOCOL_VERSION_")
            pipe = client.pipeline()
            pipe.get("a")
            with pytest.raises(NoWritePermission):
                pipe.set("written", 1)  # refused when queued: nothing of it is sent
            assert pipe.execute() == [None]
    with DataStore(primary.url) as producer:
        assert producer.redis.exists("written", "s") == 0  # the writable store's client writes
        producer.redis.set("written", 1)
        assert producer.redis.get("written") == b"1"


def test_wait_for_replicas_counts_the_replicas_holding_every_point(chain):
    primary, replica, second = chain
    with DataStore(primary.url) as producer:
        scan = producer.create_scan({"name": "w", "number": 1, "data_policy": "no_policy"})
        x = scan.create_stream(Stream.make_definition("x", "float64"))
        scan.prepare()
        scan.start()
        for i in range(1000):
            x.send(float(i))  # queued: wait_for_replicas sends them first
        # the primary lists its direct replica only (the second follows that one)
        assert producer.wait_for_replicas(1, timeout=HANG_GUARD) == 1
        with DataStore(replica.url, read_only=True) as consumer:
            assert len(consumer.load_scan(scan.key).streams["x"]) == 1000
        assert producer.wait_for_replicas(2, timeout=0.2) <= 1  # fewer than asked: told
        x.seal()
        scan.stop()
        scan.close()
    with DataStore(replica.url, read_only=True) as consumer:
        with pytest.raises(NoWritePermission):
            consumer.wait_for_replicas()
    with DataStore(replica.url) as writable_on_a_replica:
        with pytest.raises(NotPrimaryError, match="not a primary"):
            writable_on_a_replica.wait_for_replicas()


def test_replica_offsets_from_info_text():
    info = parse_info(
        b"# Replication\r\nrole:master\r\nconnected_slaves:3\r\n"
        b"slave0:ip=127.0.0.1,port=6380,state=online,offset=120,lag=0\r\n"
        b"slave1:ip=127.0.0.1,port=6381,state=wait_bgsave,offset=0,lag=0\r\n"
        b"slave2:ip=127.0.0.1,port=6382,state=online,offset=100,lag=1\r\n"
        b"master_repl_offset:120\r\n"
    )
    assert info["role"] == "master"
    assert replica_offsets(info) == [120, 100]  # online ones only
    assert replication_lag(info) == [0, 20]


def test_a_write_sent_to_a_replica_is_no_write_permission(chain):
    """Without read_only, the replica itself refuses (READONLY) and it is told alike."""
    primary, replica, _ = chain
    wait_offset(primary, replica)
    with DataStore(replica.url) as store:
        with pytest.raises(NoWritePermission):
            store.create_scan({"name": "no", "number": 1, "data_policy": "no_policy"})


def test_cli_server_replica_of(chain):
    primary, _, _ = chain
    proc = subprocess.Popen(
        [sys.executable, "-m", "blissdata_core.cli", "server", "--replica-of", primary.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("redis://127.0.0.1:"), proc.stderr.read() if not line else line
        client = redis.Redis.from_url(line, decode_responses=True)
        assert client.info("replication")["role"] == "slave"
        wait = time.monotonic() + HANG_GUARD
        while True:  # initialised by replication, not by the command
            try:
                DataStore(line, read_only=True).close()
                break
            except Exception:
                assert time.monotonic() < wait
                time.sleep(0.05)
        client.close()
    finally:
        proc.terminate()
        assert proc.wait(HANG_GUARD) == 0


def test_cli_reads_from_the_read_url(chain, monkeypatch, capsys):
    """The reading subcommands prefer $BLISSDATA_READ_URL and open it read-only."""
    from blissdata_core.cli import main

    primary, replica, _ = chain
    with DataStore(primary.url) as producer:
        scan = producer.create_scan({"name": "clirep", "number": 7, "data_policy": "no_policy"})
    wait_offset(primary, replica)
    monkeypatch.setenv("BLISSDATA_REDIS_URL", "redis://127.0.0.1:1")  # unreachable: not used
    monkeypatch.setenv("BLISSDATA_READ_URL", replica.url)
    assert main(["ls"]) == 0
    out = capsys.readouterr().out
    assert scan.key in out and "clirep" in out


def test_replica_of_a_password_protected_primary(redis_server_factory):
    """The URL's password becomes --masterauth; the replica serves the data."""
    primary = redis_server_factory(["--requirepass", "pw1"], password="pw1")
    url = f"redis://:pw1@127.0.0.1:{primary.port}"
    DataStore(url, init_db=True).close()
    replica = redis_server_factory(replica_of=url)
    assert replica.replication_info()["master_link_status"] == "up"
    DataStore(replica.url, read_only=True).close()


def test_cli_server_passes_server_args_and_inits_with_the_password():
    proc = subprocess.Popen(
        [sys.executable, "-m", "blissdata_core.cli", "server", "--", "--requirepass", "pw2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("redis://127.0.0.1:"), proc.stderr.read() if not line else line
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(line).ping()
        DataStore(line.replace("://", "://:pw2@"), read_only=True).close()  # initialised
    finally:
        proc.terminate()
        assert proc.wait(HANG_GUARD) == 0


def test_sentinel_urls():
    from blissdata_core.connection import make_client

    client = make_client("redis+sentinel://u:p%40ss@h1:26380,h2/bd?role=replica")
    pool = client.connection_pool
    assert pool.service_name == "bd" and not pool.is_master
    manager = pool.sentinel_manager
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
            for s in manager.sentinels] == [("h1", 26380), ("h2", 26379)]  # fmt: skip
    assert pool.connection_kwargs["password"] == "p@ss"
    assert make_client("redis+sentinel://h1:1/bd").connection_pool.is_master
    with pytest.raises(ValueError, match="Sentinel URL"):
        make_client("redis+sentinel://h1:1/")


def test_acl_reader_on_a_replica(chain):
    """ACL users are not replicated: the reader user is made on the replica itself."""
    from blissdata_core.acl import create_readonly_user

    primary, replica, _ = chain
    with DataStore(primary.url) as producer:
        scan = producer.create_scan({"name": "acl", "number": 1, "data_policy": "no_policy"})
    wait_offset(primary, replica)
    create_readonly_user(replica.url, "reader", "rpw")
    url = f"redis://reader:rpw@127.0.0.1:{replica.port}"
    with DataStore(url, read_only=True) as store:
        assert store.load_scan(scan.key).state == ScanState.CREATED
    with redis.Redis.from_url(primary.url, decode_responses=True) as client:
        assert "reader" not in client.acl_users()
