import numpy as np
import pytest
from helpers import entry_map, make_scan, send, tmp_h5

import blissdata_h5


def test_live_scan_reads_like_h5py(data_store, tmp_path):
    path = tmp_h5(tmp_path)
    h5map = entry_map(
        3,
        {
            "title": "ascan sx 0 1 4 0.1",
            "measurement": {
                "type": "group",
                "attributes": {"NX_class": "NXcollection"},
                "children": {
                    "diode": {"type": "stream", "stream": "diode"},
                    "sx": {"type": "soft_link", "target_path": "/3.1/instrument/sx/value"},
                },
            },
            "instrument": {
                "type": "group",
                "children": {
                    "sx": {
                        "type": "group",
                        "children": {
                            "value": {
                                "type": "dataset",
                                "value": {"type": "stream", "stream": "axis:sx"},
                                "attributes": {"units": "mm"},
                            }
                        },
                    }
                },
            },
        },
    )
    scan = make_scan(
        data_store,
        path,
        3,
        h5maps=h5map,
        streams={"diode": ("float64", ()), "axis:sx": ("float64", ())},
    )
    send(scan, "diode", np.arange(5.0))
    send(scan, "axis:sx", np.arange(3.0))
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        assert list(f) == ["3.1"]
        assert f["3.1/title"][()] == b"ascan sx 0 1 4 0.1"
        diode = f["3.1/measurement/diode"]
        assert diode.shape == (5,)
        assert diode[-1] == 4.0
        assert f["/3.1/measurement/sx"].attrs["units"] == "mm"
        assert f["3.1/measurement/sx"].name == "/3.1/measurement/sx"
        np.testing.assert_array_equal(f["3.1"]["measurement/sx"][::-1], [2.0, 1.0, 0.0])
        with pytest.raises(IndexError):
            diode[5]
        send(scan, "diode", np.array([5.0]))
        assert diode[5] == 5.0
        scan.stop()
        scan.close()
        assert not diode.live
        names = []
        f.visit(names.append)
        assert names == [
            "3.1",
            "3.1/instrument",
            "3.1/instrument/sx",
            "3.1/instrument/sx/value",
            "3.1/measurement",
            "3.1/measurement/diode",
            "3.1/title",
        ]


def test_a_file_spelled_otherwise_in_h5maps_is_found(data_store, tmp_path):
    """The producer's spelling of the path and the reader's differ; both name one file."""
    path = tmp_h5(tmp_path)
    spelled = f"{tmp_path}/./sub/..//{path.rsplit('/', 1)[1]}"
    (tmp_path / "sub").mkdir()
    scan = make_scan(data_store, spelled, number=7, h5maps=entry_map(7, {"title": "t"}), streams={})
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        assert f["7.1/title"][()] in (b"t", "t")
    scan.stop()
    scan.close()
