"""After the memory manager trimmed a scan, the h5 facade reads it from the written file.

``source="auto"`` over the file blissdata_writer wrote, also under the read-only
ACL user (the ``hdf5_fallback`` way is in the core package's reliability suite).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import blissdata_h5
from blissdata_core import DataStore, IndexNoMoreThereError, Stream
from blissdata_core.acl import create_readonly_user
from blissdata_core.memory_manager import MemoryManager

pytestmark = pytest.mark.reliability

NPOINTS = 400
POINT = (256,)


def trim_everything(url: str) -> dict:
    # a budget of one byte: every closed scan is trimmed to its seal
    with MemoryManager(url, 1) as manager:
        return manager.run_once()


def data(i: int) -> np.ndarray:
    return np.full(POINT, float(i))


def test_h5_facade_reads_trimmed_scans_from_the_written_file(redis_server_factory, tmp_path):
    writer = shutil.which("blissdata-writer") or None
    server = redis_server_factory()  # a private server: the test adds an ACL user
    DataStore(server.url, init_db=True).close()
    path = str(tmp_path / "written.h5")
    h5map = {
        "type": "group",
        "attributes": {"NX_class": "NXroot"},
        "children": {
            "1.1": {
                "type": "group",
                "attributes": {"NX_class": "NXentry"},
                "children": {
                    "measurement": {
                        "type": "group",
                        "attributes": {"NX_class": "NXcollection"},
                        "children": {"det": {"type": "stream", "stream": "det"}},
                    }
                },
            }
        },
    }
    with DataStore(server.url) as store:
        scan = store.create_scan(
            {"name": "facade", "number": 1, "data_policy": "no_policy", "path": path}
        )
        det = scan.create_stream(Stream.make_definition("det", "float64", POINT))
        info = scan.info
        info["h5maps"] = {path: h5map}
        scan.info = info
        scan.prepare()
        scan.start()
        for i in range(NPOINTS):
            det.send(data(i))
        scan.stop()
        scan.close()
        command = ([writer] if writer else [sys.executable, "-m", "blissdata_writer.cli"]) + [
            "write",
            store.url,
            scan.key,
        ]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 and "No module named" in proc.stderr:
            pytest.skip(f"no blissdata-writer to write the file: {proc.stderr.strip()}")
        assert proc.returncode == 0, proc.stderr
        expected = np.stack([data(i) for i in range(NPOINTS)])
        with blissdata_h5.File(path, data_store=store.url, source="redis") as f:
            assert np.array_equal(f["1.1/measurement/det"][()], expected)

        assert trim_everything(store.url)["trimmed_closed"] == [scan.key]
        with pytest.raises(IndexNoMoreThereError):
            store.load_scan(scan.key).streams["det"][0]

        create_readonly_user(server.url, "reader", "pw")
        for url in (store.url, f"redis://reader:pw@127.0.0.1:{server.port}"):
            with blissdata_h5.File(path, data_store=url, source="auto") as f:
                dataset = f["1.1/measurement/det"]
                assert dataset.shape == (NPOINTS, *POINT)
                assert np.array_equal(dataset[()], expected)
                assert np.array_equal(dataset[5:9, 0], np.arange(5.0, 9.0))
