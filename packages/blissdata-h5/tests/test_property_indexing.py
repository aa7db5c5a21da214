"""Indexing a live dataset behaves like indexing the numpy array of its points."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import entry_map, make_scan, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import blissdata_h5

_counter = itertools.count()
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def published(data_store, tmp_path, array: np.ndarray, close: bool):
    path = str(tmp_path / f"i{next(_counter)}.h5")
    h5map = entry_map(1, {"data": {"type": "stream", "stream": "data"}})
    scan = make_scan(
        data_store, path, h5maps=h5map, streams={"data": (str(array.dtype), array.shape[1:])}
    )
    if len(array):
        send(scan, "data", array)
    if close:
        scan.stop()
        scan.close()
    return path


@st.composite
def arrays_and_keys(draw: st.DrawFn):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    array = draw(hnp.arrays(np.int32, shape, elements=st.integers(-1000, 1000)))
    key = draw(
        st.one_of(
            hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True),
            hnp.integer_array_indices(shape[:1]),
            st.integers(-2 * shape[0], 2 * shape[0]),
            st.tuples(st.slices(2 * shape[0]), st.just(Ellipsis), st.integers(-1, 0)),
            hnp.arrays(bool, shape[:1]),
        )
    )
    return array, key


def outcome(getter, key):
    try:
        return "value", getter(key)
    except (IndexError, TypeError, ValueError) as exc:
        return "error", type(exc)


@pytest.mark.parametrize("close", [False, True], ids=["live", "closed"])
@SETTINGS
@given(case=arrays_and_keys())
def test_indexing_equals_numpy(data_store, tmp_path, close, case):
    array, key = case
    path = published(data_store, tmp_path, array, close)
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        dataset = f["1.1/data"]
        assert dataset.shape == array.shape
        kind, ours = outcome(dataset.__getitem__, key)
        expected_kind, expected = outcome(array.__getitem__, key)
        assert kind == expected_kind, (key, ours, expected)
        if kind == "value":
            if isinstance(expected, np.ndarray) and expected.ndim == 0:
                expected = expected[()]  # h5py gives a scalar where numpy gives a 0-d view
            assert type(ours) is type(expected), key
            np.testing.assert_array_equal(ours, expected)
            assert np.shape(ours) == np.shape(expected)
        else:
            assert issubclass(ours, IndexError) == issubclass(expected, IndexError), key
