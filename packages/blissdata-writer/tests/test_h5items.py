"""Parsing and decoding h5maps items: good values decode, bad maps raise H5MapError."""

from __future__ import annotations

import base64

import h5py
import numpy as np
import pytest

from blissdata_core.h5maps import (
    Dataset,
    Group,
    decode_value,
    diff,
    parse_item,
    parse_root,
    stream_datasets,
)
from blissdata_writer.errors import H5MapError


@pytest.mark.parametrize(
    ("raw", "dtype", "shape"),
    [
        (3, np.int64, ()),
        (2.5, np.float64, ()),
        (True, np.bool_, ()),
        ([True, 2, 3.5], np.float64, (3,)),
        ([[1, 2], [3, 4]], np.int64, (2, 2)),
        ({"type": "inline", "dtype": "float32", "value": ["nan", 1]}, np.float32, (2,)),
        (
            {
                "type": "inline_b64",
                "dtype": "<i2",
                "shape": [2],
                "value": base64.b64encode(b"\x01\x00\x02\x00").decode(),
            },
            np.int16,
            (2,),
        ),
    ],
)
def test_values_decode(raw, dtype, shape):
    data = decode_value(raw, "/x").data
    assert data.dtype == np.dtype(dtype)
    assert data.shape == shape


def test_strings_are_variable_length_utf8():
    data = decode_value(["a", "é"], "/x").data
    assert h5py.check_string_dtype(data.dtype).encoding == "utf-8"
    assert data.tolist() == ["a", "é"]


def test_compound_columns():
    data = decode_value(
        {"type": "compound", "columns": [["a", [1, 2]], ["b", ["x", "y"]]]}, "/x"
    ).data
    assert data.dtype.names == ("a", "b")
    assert data["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [[1], [1, 2]],
        {"type": "nope"},
        {"type": "inline", "dtype": "str", "value": "a"},
        {"type": "inline", "dtype": "int8", "value": {"a": 1}},
        {"type": "inline", "dtype": "int8", "value": 1000},
        {"type": "inline", "dtype": "uint16", "value": [1, -1]},
        {"type": "inline_b64", "dtype": "<i4", "value": "!!!"},
        {"type": "compound", "columns": [["a", [1]], ["a", [2]]]},
        {"type": "compound", "columns": [["a", [1]], ["b", [2, 3]]]},
    ],
)
def test_bad_values_raise(raw):
    with pytest.raises(H5MapError):
        decode_value(raw, "/x")


def test_streams_only_in_datasets():
    with pytest.raises(H5MapError):
        parse_item({"type": "group", "attributes": {"a": {"type": "stream", "stream": "s"}}})
    with pytest.raises(H5MapError):
        decode_value(
            {"type": "compound", "columns": [["a", {"type": "stream", "stream": "s"}]]}, "/x"
        )


def test_root_must_be_a_group():
    with pytest.raises(H5MapError):
        parse_root(3, "/f.h5")


def test_stream_datasets_and_diff():
    before = parse_root(
        {"type": "group", "children": {"e": {"type": "group", "children": {
            "s": {"type": "stream", "stream": "x"}, "t": "title"}}}},
        "/f.h5",
    )  # fmt: skip
    after = parse_root(
        {"type": "group", "children": {"e": {"type": "group", "attributes": {"a": 1}, "children": {
            "s": {"type": "stream", "stream": "x"}, "t": "other", "end": "now"}}}},
        "/f.h5",
    )  # fmt: skip
    assert stream_datasets(before) == {"/e/s": "x"}
    assert diff(before, after) == {"/e", "/e/t", "/e/end"}
    assert isinstance(before.children["e"], Group)
    assert isinstance(before.children["e"].children["s"], Dataset)


def test_virtual_and_external_binary_items(tmp_path):
    """Items blisswriter 3.0.0 cannot write (no VDS, no unlimited external size): ours are readable."""
    from blissdata_writer import nexus

    with h5py.File(tmp_path / "src.h5", "w") as f:
        f["data"] = np.arange(10, dtype="<i4")
    (tmp_path / "raw.bin").write_bytes(np.arange(4, dtype="<i4").tobytes())
    root = parse_root(
        {"type": "group", "children": {
            "vds": {"type": "virtual_dataset", "dtype": "<i4", "shape": [4], "virtual_sources": [
                {"vspace": {"start": [0], "count": [2]}, "src_file": "src.h5", "src_dataset": "/data",
                 "src_space": {"start": [2], "count": [2]}},
                {"vspace": {"start": [2], "count": [2]}, "src_file": "src.h5", "src_dataset": "/data",
                 "src_space": {"start": [5], "stride": [2], "count": [2]}},
            ]},
            "ext": {"type": "external_binary_dataset", "dtype": "<i4", "shape": [4],
                    "files": [{"name": str(tmp_path / "raw.bin"), "offset": 0}]},
        }},
        "/f.h5",
    )  # fmt: skip
    with nexus.open_file(str(tmp_path / "t.h5")) as f:
        nexus.write_root(f, root)
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert f["vds"][()].tolist() == [2, 3, 5, 7]
        assert f["ext"][()].tolist() == [0, 1, 2, 3]
