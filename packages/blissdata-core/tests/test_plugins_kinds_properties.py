"""Property tests of lima2 and mosca streams: indexing, slicing and views, numpy as the oracle."""

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blissdata_core.streams.cursor import EventRange
from blissdata_core.streams.plugins.lima2 import Lima2Stream
from blissdata_core.streams.plugins.mosca import MoscaSaving, MoscaStream

N = 23
SHAPE = (2, 3)
NCH = 5
MASTER = "/entry_0000/frames"

bounds = st.one_of(st.none(), st.integers(-2 * N, 2 * N))
steps = st.one_of(st.none(), st.integers(1, 7))
fixture_ok = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def oracle():
    rng = np.random.default_rng(7)
    return {
        "lima2": rng.integers(0, 60000, (N, *SHAPE)).astype(np.uint16),
        "mosca": rng.integers(0, 2**31, (N, NCH)).astype(np.uint32),
    }


@pytest.fixture
def sealed(data_store, tmp_path, oracle):
    """Both kinds, sealed with every point saved, as loaded by a reader."""
    with h5py.File(tmp_path / "master.h5", "w") as f:
        f[MASTER] = oracle["lima2"]
    ppf = 4
    for number in range(-(-N // ppf)):
        with h5py.File(tmp_path / f"m_spectra_{number:04d}.h5", "w") as f:
            f["/d/spectra_03"] = oracle["mosca"][number * ppf : (number + 1) * ppf]
    scan = data_store.create_scan({"name": "ascan", "number": 1, "data_policy": "no_policy"})
    l2 = scan.create_stream(
        Lima2Stream.make_definition(
            "l2", "raw", "h", 1, "u", (str(tmp_path / "master.h5"), MASTER), "uint16", SHAPE
        )
    )
    saving = {"file_path": str(tmp_path), "data_path": "/d", "file_format": "hdf5",
              "file_prefix": "m_", "points_per_file": ppf, "saving_enabled": True,
              "enabled_detectors": [3]}  # fmt: skip
    mca = scan.create_stream(
        MoscaStream.make_definition("mca", 3, 0, "uint32", [NCH], "tango://x", 1, saving=saving)
    )
    scan.prepare()
    scan.start()
    for count in (5, 17, N):
        l2.send(count)
        mca.send_status(count - 1, count - 1)
    scan.stop()
    scan.close()
    loaded = data_store.load_scan(scan.key)
    return {"lima2": loaded.streams["l2"], "mosca": loaded.streams["mca"]}


@fixture_ok
@given(kind=st.sampled_from(["lima2", "mosca"]), start=bounds, stop=bounds, step=steps)
def test_slices_match_numpy(sealed, oracle, kind, start, stop, step):
    got = sealed[kind][start:stop:step]
    want = oracle[kind][start:stop:step]
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@fixture_ok
@given(kind=st.sampled_from(["lima2", "mosca"]), index=st.integers(-N, N - 1))
def test_indexes_match_numpy(sealed, oracle, kind, index):
    got = sealed[kind][index]
    np.testing.assert_array_equal(got, oracle[kind][index])
    assert got.shape == oracle[kind][index].shape


@fixture_ok
@given(
    kind=st.sampled_from(["lima2", "mosca"]),
    first=st.integers(0, N - 1),
    start=bounds,
    stop=bounds,
)
def test_views_match_numpy(sealed, oracle, kind, first, start, stop):
    stream = sealed[kind]
    cursor = stream.cursor()
    view = cursor.read(timeout=5)
    assert (view.index, len(view)) == (0, N)
    # a view from a later point: what a cursor that already read up to ``first`` gets
    events = EventRange(first, 0, [N if kind == "lima2" else _status(N)], True)
    stream.need_last_only(False)
    later = stream.build_view(first, events, False)
    assert (later.index, len(later)) == (first, N - first)
    np.testing.assert_array_equal(later.get_data(start, stop), oracle[kind][first:][start:stop])


def _status(n):
    return {"last_read_index": n - 1, "last_saved_index": n - 1}


@given(
    ppf=st.integers(0, 9),
    start=st.integers(0, 40),
    count=st.integers(0, 40),
)
def test_mosca_runs_cover_the_range_file_by_file(ppf, start, count):
    saving = MoscaSaving("/d", "p_", "/x", ppf)
    runs = saving.runs(start, start + count, "/x/spectra_00")
    points = [(run.file_path, run.file_index + i) for run in runs for i in range(run.count)]
    assert [run.start for run in runs] == [
        start + sum(r.count for r in runs[:k]) for k in range(len(runs))
    ]
    expected = [
        (f"/d/p_spectra_{(p // ppf if ppf else 0):04d}.h5", p % ppf if ppf else p)
        for p in range(start, start + count)
    ]
    assert points == expected
    assert all(run.count > 0 for run in runs)
