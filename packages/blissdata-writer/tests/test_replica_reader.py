"""The writer reading from a replica while its statuses go to the primary (issue #18)."""

from __future__ import annotations

import threading

import h5py
from writer_helpers import wait_status

from blissdata_core import DataStore
from blissdata_writer.producer import simulate_scan
from blissdata_writer.service import WritingService


def test_writer_reads_a_replica_and_writes_statuses_to_the_primary(redis_server_factory, tmp_path):
    primary = redis_server_factory()
    DataStore(primary.url, init_db=True).close()
    replica = redis_server_factory(replica_of=primary.url)
    service = WritingService(primary.url, roots=[str(tmp_path)], read_url=replica.url)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        assert service.ready.wait(120), "service did not start"
        assert service._ds is not None and service._ds.read_only
        assert service._ds.url == replica.url
        path = tmp_path / "rep.h5"
        scan = simulate_scan(
            DataStore(primary.url), "ascan", npoints=5, count_time=0.0, path=str(path),
            detectors=("diode",),
        )  # fmt: skip
        assert wait_status(primary.url, scan.key)["state"] == "complete"
        with h5py.File(path, "r") as f:
            assert list(f) == ["1.1"]
    finally:
        service.stop()
        thread.join(60)
    assert not thread.is_alive()
