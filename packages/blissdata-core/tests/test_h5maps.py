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


def test_file_keys_have_one_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert h5maps.file_key("/data/./x//y/../a.h5") == "/data/x/a.h5"
    assert h5maps.file_key("a.h5") == str(tmp_path / "a.h5")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert h5maps.file_key(tmp_path / "link" / "a.h5") == str(tmp_path / "link" / "a.h5")
    assert h5maps.same_file(tmp_path / "link" / "a.h5", f"{tmp_path}/real/./a.h5")
    assert not h5maps.same_file(tmp_path / "real" / "a.h5", tmp_path / "real" / "b.h5")


def test_maps_are_keyed_by_the_one_spelling():
    root = {"type": "group"}
    maps = h5maps.parse_maps({"/data//x/./a.h5": root, "relative.h5": root})
    assert list(maps) == [
        "/data/x/a.h5",
        "relative.h5",
    ]  # a relative key is left for writers to refuse
    with pytest.raises(H5MapError, match="twice"):
        h5maps.parse_maps({"/data/a.h5": root, "/data/x/../a.h5": root})
