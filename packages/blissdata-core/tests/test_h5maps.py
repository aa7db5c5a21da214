"""h5maps parsing and decoding (blissdata_core.h5maps): the one implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from blissdata_core import h5maps
from blissdata_core.errors import BlissdataError, H5MapError


@pytest.mark.parametrize(
    ("raw", "dtype"),
    [
        (2**64 - 1, np.uint64),
        ([0, 2**63, 2**64 - 1], np.uint64),
        ([True, 2**64 - 1], np.uint64),
        ([-1, 2**63 - 1], np.int64),
        ([1, 2**64 - 1.0], np.float64),
    ],
)
def test_raw_integers_beyond_int64_are_uint64(raw, dtype):
    # the writer used to store 2**64-1 as -1 (cast to int64)
    data = h5maps.decode_value(raw, "/x").data
    assert data.dtype == dtype
    assert data.tolist() == (np.asarray(raw, dtype=dtype).tolist())


@pytest.mark.parametrize("raw", [2**64, [-1, 2**64 - 1], [-(2**63) - 1]])
def test_raw_integers_beyond_uint64_are_refused(raw):
    with pytest.raises(H5MapError, match="fit neither int64 nor uint64"):
        h5maps.decode_value(raw, "/x")


@pytest.mark.parametrize(
    "raw",
    [None, [1, None], {"type": "inline", "dtype": "float32", "value": [[1.0], [None]]}],
)
def test_null_is_refused_everywhere(raw):
    with pytest.raises(H5MapError, match="null") as exc:
        h5maps.decode_value(raw, "/e/x")
    assert exc.value.path == "/e/x" and isinstance(exc.value, BlissdataError | ValueError)


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=5))
def test_raw_int64_lists_decode_as_numpy_does(values):
    assert np.array_equal(h5maps.decode_value(values, "/x").data, np.array(values, np.int64))


def test_scan_without_h5maps_gets_the_default_tree_at_its_path():
    class Plain:
        number, name, path = 4, "ct", "/data/x.h5"
        info: dict = {}
        streams: dict = {}

    assert list(h5maps.scan_h5maps(Plain())) == ["/data/x.h5"]
    Plain.info = {"h5maps": {}}
    assert h5maps.scan_h5maps(Plain()) == {}
    Plain.info, Plain.path = {}, None
    assert h5maps.scan_h5maps(Plain()) == {}
