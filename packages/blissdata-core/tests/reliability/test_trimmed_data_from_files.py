"""After the memory manager trimmed a scan, readers get its data from the file.

Here the ``hdf5_fallback`` plugin (the producer saves the stream into an HDF5
dataset it declares), also under the read-only ACL user.  The other way, the h5
facade (``source="auto"``) over the file the writer wrote, is in
``tests/integration/test_trimmed_scans_from_files.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from blissdata_core import DataStore, EndOfStream, IndexNoMoreThereError, Stream
from blissdata_core.acl import create_readonly_user
from blissdata_core.memory_manager import MemoryManager

pytestmark = pytest.mark.reliability
h5py = pytest.importorskip("h5py")

NPOINTS = 400
POINT = (256,)


def trim_everything(url: str) -> dict:
    # a budget of one byte: every closed scan is trimmed to its seal
    with MemoryManager(url, 1) as manager:
        return manager.run_once()


def data(i: int) -> np.ndarray:
    return np.full(POINT, float(i))


def test_hdf5_fallback_stream_reads_trimmed_points_from_the_file(fault_server, tmp_path):
    from blissdata_core.streams.plugins.hdf5_fallback import Hdf5FallbackStream

    path = str(tmp_path / "saved.h5")
    with DataStore(fault_server.url) as store:
        scan = store.create_scan({"name": "fb", "number": 1, "data_policy": "no_policy"})
        definition = Hdf5FallbackStream.make_definition(
            "det", path, "/1.1/measurement/det", "float64", POINT
        )
        det = scan.create_stream(definition)
        scan.prepare()
        scan.start()
        with h5py.File(path, "w") as h5:
            dataset = h5.create_dataset(
                "/1.1/measurement/det", shape=(0, *POINT), maxshape=(None, *POINT), dtype="f8"
            )
            for i in range(NPOINTS):
                det.send(data(i))
                dataset.resize(i + 1, axis=0)
                dataset[i] = data(i)
        scan.stop()
        scan.close()
        summary = trim_everything(store.url)
        assert summary["trimmed_closed"] == [scan.key]

        create_readonly_user(fault_server.url, "reader", "pw")
        for url in (store.url, f"redis://reader:pw@127.0.0.1:{fault_server.port}"):
            with DataStore(url) as reader:
                stream = reader.load_scan(scan.key).streams["det"]
                assert stream.plugin == "hdf5_fallback"
                assert len(stream) == NPOINTS and stream.is_sealed()
                assert np.array_equal(stream[7], data(7))
                assert np.array_equal(stream[-1], data(NPOINTS - 1))
                assert np.array_equal(stream[10:20][:, 0], np.arange(10, 20))
                got = []
                cursor = stream.cursor()
                while True:
                    try:
                        view = cursor.read(timeout=1)
                    except EndOfStream:
                        break
                    got.append(np.asarray(view.get_data())[:, 0])
                assert np.array_equal(np.concatenate(got), np.arange(NPOINTS))
                # the plain stream class of the same data: trimmed points are gone
                plain = Stream(stream.event_stream)
                with pytest.raises(IndexNoMoreThereError):
                    plain[7]
