"""silx takes the facade's objects for h5py's: type checks, NXdata, defaults, reads."""

from __future__ import annotations

import numpy as np
import pytest
from live_scan import LiveScan

import blissdata_h5

silx_utils = pytest.importorskip("silx.io.utils")
nxdata = pytest.importorskip("silx.io.nxdata")
H5Type = silx_utils.H5Type


def check_silx_view(f, scan: LiveScan) -> None:
    entry = f[scan.entry]
    diode = entry["measurement/diode1"]
    assert silx_utils.get_h5_class(f) is H5Type.FILE
    assert silx_utils.get_h5_class(entry) is H5Type.GROUP
    assert silx_utils.get_h5_class(diode) is H5Type.DATASET
    assert silx_utils.is_file(f) and silx_utils.is_group(f)
    assert silx_utils.is_group(entry) and not silx_utils.is_file(entry)
    assert silx_utils.is_dataset(diode) and not silx_utils.is_group(diode)
    np.testing.assert_array_equal(silx_utils.h5py_read_dataset(diode), scan.values("diode:diode1"))
    np.testing.assert_array_equal(
        silx_utils.h5py_read_dataset(diode, 1), scan.values("diode:diode1")[1]
    )
    assert silx_utils.h5py_read_dataset(entry["title"]).startswith("ascan")

    plot = entry["plotselect"]
    assert nxdata.is_valid_nxdata(plot)
    default = nxdata.get_default(f)
    assert default is not None and default.group.name == plot.name
    assert nxdata.get_default(entry).group.name == plot.name
    nx = nxdata.NXdata(plot)
    assert nx.is_valid and nx.signal_is_1d
    np.testing.assert_array_equal(nx.signal[()], scan.values("diode:diode1"))
    assert [axis.name.rsplit("/", 1)[-1] for axis in nx.axes] == ["sx"]
    np.testing.assert_array_equal(nx.axes[0][()], scan.values("axis:sx"))


@pytest.mark.parametrize("source", ["redis", "auto"])
def test_silx_reads_a_running_scan(data_store, tmp_path, source):
    scan = LiveScan(data_store, str(tmp_path / "live.h5"))
    for _ in range(2):
        scan.publish(3)
        with blissdata_h5.File(scan.path, data_store=data_store, source=source) as f:
            assert f[f"{scan.entry}/measurement/diode1"].live
            check_silx_view(f, scan)


@pytest.mark.parametrize("source", ["file", "auto", "redis"])
def test_silx_reads_a_written_scan(data_store, tmp_path, source):
    scan = LiveScan(data_store, str(tmp_path / "done.h5"), npoints=4)
    scan.finish(data_store)
    with blissdata_h5.File(scan.path, data_store=data_store, source=source) as f:
        check_silx_view(f, scan)


def test_without_silx_h5_class_is_none(data_store, tmp_path, monkeypatch):
    """silx is optional: the attribute exists and says "unknown" instead of failing."""
    import sys

    scan = LiveScan(data_store, str(tmp_path / "live.h5"))
    scan.publish(1)
    monkeypatch.setitem(sys.modules, "silx.io.utils", None)
    with blissdata_h5.File(scan.path, data_store=data_store, source="redis") as f:
        assert f.h5_class is None
