"""Streamed datasets against numpy: whatever the batches, the file holds the stream.

Batches arrive in any sizes and at any offsets (a resumed writer re-reads a
stream from its start); whole aligned chunks take the direct path, the rest
HDF5's ordinary write. Both must give the same file content.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_writer.datasets import ArrayDatasetWriter

DTYPES = ["<f8", ">f4", "<u2", ">i4", "|u1", "|b1", "<c8"]
# chunks of 4096 scalars, 16 points of 16 KiB, 1 point of 2 MiB split in two
POINT_SHAPES = [(), (4,), (3, 5), (64, 64), (1024, 1024)]


def _write(path, writer: ArrayDatasetWriter, stream: np.ndarray, cuts: list[int], replay: int):
    """Feed ``stream`` in batches cut at ``cuts``, then again from ``replay`` (a resume)."""
    bounds = [0, *sorted(set(cuts)), len(stream)]
    batches = [(a, stream[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a]
    batches += [(a, stream[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a and a >= replay]
    with h5py.File(path, "w") as f:
        for index, batch in batches:
            writer.add(f, index, batch)
        writer.close(f)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from(POINT_SHAPES[:4]),
    npoints=st.integers(1, 300),
    data=st.data(),
)
def test_any_batches_give_the_stream(tmp_path, dtype, shape, npoints, data):
    rng = np.random.default_rng(npoints)
    stream = (rng.random((npoints, *shape)) * 100).astype(dtype)
    cuts = data.draw(st.lists(st.integers(1, npoints), max_size=8))
    replay = data.draw(st.integers(0, npoints))
    expected = data.draw(st.none() | st.integers(1, 400))
    writer = ArrayDatasetWriter("entry/data", dtype, shape, expected)
    path = tmp_path / "f.h5"
    _write(path, writer, stream, cuts, replay)
    with h5py.File(path, "r") as f:
        dset = f["entry/data"]
        assert dset.dtype == np.dtype(dtype)
        assert dset.chunks == writer.chunks()
        np.testing.assert_array_equal(dset[()], stream)


def test_whole_chunks_bypass_the_chunk_cache(tmp_path, monkeypatch):
    """Aligned whole chunks are written directly; the file content is the same."""
    written = []
    real = ArrayDatasetWriter._write_chunks

    def spy(self, dset, first, points):
        written.append((first, len(points)))
        real(self, dset, first, points)

    monkeypatch.setattr(ArrayDatasetWriter, "_write_chunks", spy)
    stream = np.arange(10 * 512 * 512, dtype="<u2").reshape(10, 512, 512)
    writer = ArrayDatasetWriter("entry/frames", "<u2", (512, 512), None)
    _write(tmp_path / "f.h5", writer, stream, [3, 4, 8], replay=10)
    assert writer.chunks()[0] == 2
    # batches 0..2, 3, 4..7, 8..9: points 0-1, 4-7, 8-9 direct; 2 and 3 through the cache
    assert written == [(0, 2), (4, 4), (8, 2)]
    with h5py.File(tmp_path / "f.h5", "r") as f:
        np.testing.assert_array_equal(f["entry/frames"][()], stream)


def test_points_bigger_than_a_chunk(tmp_path):
    stream = np.random.default_rng(0).random((3, 1024, 1024)).astype("<f4")
    writer = ArrayDatasetWriter("d", "<f4", (1024, 1024), None)
    assert writer.chunks()[1:] != (1024, 1024)
    _write(tmp_path / "f.h5", writer, stream, [1], replay=2)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        np.testing.assert_array_equal(f["d"][()], stream)


@pytest.mark.parametrize("shape", [(-1,), (2, -1)])
def test_free_dimensions_are_padded(tmp_path, shape):
    writer = ArrayDatasetWriter("d", "<f8", shape, None)
    points = [
        np.ones((2, 3) if len(shape) == 2 else (3,)),
        np.ones((2, 5) if len(shape) == 2 else (5,)),
    ]
    with h5py.File(tmp_path / "f.h5", "w") as f:
        writer.add(f, 0, [points[0]])
        writer.add(f, 1, [points[1]])
        writer.close(f)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        out = f["d"][()]
    assert out.shape == (2, *points[1].shape)
    assert np.isnan(out[0, ..., 3:]).all() and (out[1] == 1).all()


def test_space_guard_reads_again_near_the_reserve(tmp_path, monkeypatch):
    import shutil

    from blissdata_writer import space
    from blissdata_writer.errors import DiskFullError

    readings = []
    real = shutil.disk_usage

    def disk_usage(path):
        readings.append(path)
        return real(path)

    monkeypatch.setattr(space.shutil, "disk_usage", disk_usage)
    monkeypatch.setattr(space, "REREAD_SECONDS", 3600.0)
    monkeypatch.setattr(space, "REREAD_MARGIN", 0)
    allowed = real(tmp_path).free - space.RESERVE_BYTES
    guard = space.SpaceGuard(str(tmp_path / "f.h5"))
    for _ in range(10):
        guard.check(2**20)
    assert len(readings) == 1  # far from the reserve: counted, not read
    guard.check(allowed - 5 * 2**20)  # the count says: near the reserve, read again
    assert len(readings) == 2
    with pytest.raises(DiskFullError, match="disk full"):
        guard.check(allowed + 2**30)


def test_whole_chunks_from_several_threads(tmp_path):
    """Scans are written by threads of their own, each into its file: direct
    chunk writes must take h5py's lock (before h5py 3.16 they did not)."""
    import threading

    stream = np.arange(300 * 32 * 32, dtype="<u2").reshape(300, 32, 32)
    errors = []

    def write(i):
        try:
            writer = ArrayDatasetWriter("d", "<u2", (32, 32), 1)  # a chunk per point
            _write(tmp_path / f"f{i}.h5", writer, stream, list(range(0, 300, 3)), replay=300)
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(6):
        with h5py.File(tmp_path / f"f{i}.h5", "r") as f:
            np.testing.assert_array_equal(f["d"][()], stream)
