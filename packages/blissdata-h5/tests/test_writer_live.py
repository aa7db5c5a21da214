"""auto mode while the scan runs and the writer writes in its own process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from helpers import entry_map, make_scan, send

import blissdata_h5

WRITER = shutil.which("blissdata-writer") or os.path.join(
    os.path.dirname(sys.executable), "blissdata-writer"
)


def start_writer(redis_url: str, scan_key: str) -> subprocess.Popen:
    """``blissdata-writer write``: writes this scan as it runs, exits when it closed."""
    if not os.path.exists(WRITER):
        pytest.skip("blissdata-writer is not installed")
    return subprocess.Popen(
        [WRITER, "write", redis_url, scan_key],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_in_file(path: str, name: str, length: int, deadline: float = 120.0) -> None:
    """Poll the file (a condition, not a timing) until the writer flushed ``length`` rows."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with h5py.File(path, "r", locking=False) as h5:
                if name in h5 and len(h5[name]) >= length:
                    return
        except (OSError, RuntimeError):
            # a file read while another process writes it (no SWMR) can show
            # half-written metadata: read again, as the facade's file source does
            pass
        time.sleep(0.05)
    pytest.fail(f"the writer did not write {length} rows of {name}")


def test_auto_mid_scan_reads_trimmed_points_from_the_file_being_written(
    redis_url, data_store, tmp_path
):
    path = str(tmp_path / "live.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, {"x": {"type": "stream", "stream": "x"}}),
        streams={"x": ("float64", ())},
    )
    writer = start_writer(redis_url, scan.key)
    data = np.arange(20.0) ** 2
    for value in data:
        send(scan, "x", value)
    wait_in_file(path, "/1.1/x", len(data))
    # the memory manager drops the oldest points, once saved, while the scan still runs
    data_store.redis.xdel(scan.streams["x"].key, *[f"{i}-1" for i in range(5)])
    with blissdata_h5.File(path, data_store=data_store, source="auto", retry_timeout=120) as f:
        x = f["1.1/x"]
        assert x.live
        # retried until the writer has flushed these points to the file
        np.testing.assert_array_equal(x[:], data)
    scan.stop()
    scan.close()
    output = writer.communicate(timeout=120)[0]
    assert writer.returncode == 0, output
