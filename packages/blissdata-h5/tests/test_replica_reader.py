"""blissdata_h5.File on a replica (issue #18): a URL is opened read-only, and
$BLISSDATA_READ_URL is preferred to $BLISSDATA_REDIS_URL."""

from __future__ import annotations

import time

import numpy as np
import redis
from helpers import entry_map, make_scan, send

import blissdata_h5
from blissdata_core import DataStore

NPOINTS = 20


def analysis(f):
    m = f["1.1"]["measurement"]
    return float(m["diode"][:].sum()), m["mca"][()].mean(axis=0), f["1.1/title"][()].decode()


def publish(data_store, path):
    tree = {
        "title": "loopscan 20 0.1",
        "measurement": {
            "type": "group",
            "children": {
                "diode": {"type": "stream", "stream": "diode"},
                "mca": {"type": "stream", "stream": "mca"},
            },
        },
    }
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, tree),
        streams={"diode": ("float64", ()), "mca": ("float64", (8,))},
    )
    rng = np.random.default_rng(1)
    for _ in range(NPOINTS):
        send(scan, "diode", rng.random())
        send(scan, "mca", rng.random(8))
    return scan


def _caught_up(primary, replica, guard=120.0):
    target = redis.Redis.from_url(primary.url).info("replication")["master_repl_offset"]
    deadline = time.monotonic() + guard
    while replica.replication_info().get("slave_repl_offset", -1) < target:
        assert time.monotonic() < deadline, "replica never caught up"
        time.sleep(0.02)


def test_file_reads_a_replica_like_the_primary(redis_server_factory, tmp_path, monkeypatch):
    primary = redis_server_factory()
    DataStore(primary.url, init_db=True).close()
    replica = redis_server_factory(replica_of=primary.url)
    path = str(tmp_path / "rep.h5")
    with DataStore(primary.url) as producer:
        scan = publish(producer, path)
        for stream in scan.streams.values():
            stream.join()
        with blissdata_h5.File(path, data_store=producer, source="redis") as f:
            expected = analysis(f)
        _caught_up(primary, replica)
        monkeypatch.setenv("BLISSDATA_REDIS_URL", "redis://127.0.0.1:1")  # not used
        monkeypatch.setenv("BLISSDATA_READ_URL", replica.url)
        with blissdata_h5.File(path, source="redis") as f:
            got = analysis(f)
            store = f._source.data_store
            assert store.read_only and store.url == replica.url
        assert got[0] == expected[0] and got[2] == expected[2]
        assert (got[1] == expected[1]).all()
        assert len(expected[1]) == 8 and NPOINTS == 20
        scan.stop()
        scan.close()
