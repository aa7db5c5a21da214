"""One analysis function, four ways to read the same scan: identical results."""

from __future__ import annotations

import numpy as np
import pytest
from h5_scans import entry_map, make_scan, send

import blissdata_h5
from blissdata_core.errors import IndexNoMoreThereError
from blissdata_writer.scan_writer import ScanWriter


def analysis(f: blissdata_h5.File, entry: str = "1.1") -> tuple[float, np.ndarray, str]:
    """Sum of a counter, average spectrum, title: plain h5py-style code."""
    measurement = f[entry]["measurement"]
    diode = measurement["diode"][:]
    spectrum = measurement["mca"][()].mean(axis=0)
    title = f[f"{entry}/title"][()].decode()
    return float(diode.sum()), spectrum, title


NPOINTS = 20


def publish(data_store, path):
    h5map = entry_map(
        1,
        {
            "title": "loopscan 20 0.1",
            "measurement": {
                "type": "group",
                "attributes": {"NX_class": "NXcollection"},
                "children": {
                    "diode": {"type": "stream", "stream": "diode"},
                    "mca": {"type": "soft_link", "target_path": "/1.1/instrument/mca/data"},
                },
            },
            "instrument": {
                "type": "group",
                "children": {
                    "mca": {
                        "type": "group",
                        "children": {"data": {"type": "stream", "stream": "mca"}},
                    }
                },
            },
        },
    )
    scan = make_scan(
        data_store, path, h5maps=h5map, streams={"diode": ("float64", ()), "mca": ("float64", (8,))}
    )
    rng = np.random.default_rng(1)
    for _ in range(NPOINTS):
        send(scan, "diode", rng.random())
        send(scan, "mca", rng.random(8))
    return scan


def trim_first_entries(data_store, scan, count: int) -> None:
    """What the memory manager does: drop the oldest entries, keep the seal."""
    for stream in scan.streams.values():
        data_store.redis.xdel(stream.key, *[f"{i}-1" for i in range(count)])


def test_same_results_live_closed_file_and_trimmed(data_store, tmp_path):
    path = str(tmp_path / "analysis.h5")
    scan = publish(data_store, path)
    results = {}
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        assert f["1.1/measurement/diode"].live
        results["redis mid-scan"] = analysis(f)
        scan.stop()
        scan.close()
        assert not f["1.1/measurement/diode"].live
        results["redis closed"] = analysis(f)
    assert ScanWriter(data_store, scan.key).run().state == "complete"
    with blissdata_h5.File(path, source="file") as f:
        results["file"] = analysis(f)
        file_diode = f["1.1/measurement/diode"][:]
    trim_first_entries(data_store, scan, NPOINTS // 2)
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        with pytest.raises(IndexNoMoreThereError):
            analysis(f)
    with blissdata_h5.File(path, data_store=data_store, source="auto") as f:
        assert f.source == "auto"
        results["auto trimmed"] = analysis(f)
        # single points too: the trimmed ones from the file, the others from Redis
        diode = f["1.1/measurement/diode"]
        assert diode[0] + diode[NPOINTS - 1] == file_diode[0] + file_diode[-1]
    reference = results["file"]
    for name, result in results.items():
        assert result[0] == reference[0], name
        np.testing.assert_array_equal(result[1], reference[1], err_msg=name)
        assert result[2] == reference[2], name


def test_auto_reads_entries_only_in_the_file(data_store, tmp_path):
    """A scan deleted from Redis still shows, from the file."""
    path = str(tmp_path / "deleted.h5")
    scan = publish(data_store, path)
    scan.stop()
    scan.close()
    assert ScanWriter(data_store, scan.key).run().state == "complete"
    with blissdata_h5.File(path, source="file") as f:
        expected = analysis(f)
    data_store.delete_scan(scan.key, force=True)
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        assert "1.1" not in f
    with blissdata_h5.File(path, data_store=data_store, source="auto") as f:
        assert list(f) == ["1.1"]
        result = analysis(f)
    assert result[0] == expected[0]
    np.testing.assert_array_equal(result[1], expected[1])
