"""Document samples: a scan published with plugins, broken variants, h5maps."""

from __future__ import annotations

import copy
from collections.abc import Callable

H5MAPS = {
    "/data/id00/sample/sample_0001/sample_0001.h5": {
        "type": "group",
        "attributes": {"NX_class": "NXroot", "creator": "conformance"},
        "children": {
            "7.1": {
                "type": "group",
                "attributes": {"NX_class": "NXentry"},
                "children": {
                    "title": "ascan sx 0 1 3 0.1",
                    "start_time": {"type": "inline", "dtype": "int64", "value": 17},
                    "measurement": {
                        "type": "group",
                        "attributes": {"NX_class": "NXcollection"},
                        "children": {
                            "sx": {"type": "stream", "stream": "axis:sx"},
                            "diode": {
                                "type": "dataset",
                                "attributes": {"units": "counts", "interpretation": "scalar"},
                                "value": {"type": "stream", "stream": "diode"},
                            },
                            "alias": {"type": "soft_link", "target_path": "/7.1/measurement/sx"},
                        },
                    },
                    "instrument": {
                        "type": "group",
                        "children": {
                            "positioners": {
                                "type": "group",
                                "children": {
                                    "sx": {
                                        "type": "inline",
                                        "dtype": "float32",
                                        "value": [1.5, "nan", "inf"],
                                    },
                                    "sy": 2.25,
                                    "flags": [True, False],
                                    "matrix": [[1, 2], [3, 4]],
                                    "names": ["a", "bb"],
                                },
                            },
                            "raw": {
                                "type": "inline_b64",
                                "dtype": "<u2",
                                "shape": [2, 2],
                                "value": "AQACAAMABAA=",
                            },
                            "flat": {"type": "inline_b64", "dtype": ">f8", "value": "P/AAAAAAAAA="},
                            "table": {
                                "type": "compound",
                                "columns": [
                                    ["x", [1, 2, 3]],
                                    ["y", {"type": "inline", "dtype": "uint8", "value": [4, 5, 6]}],
                                    [
                                        "z",
                                        {"type": "inline_b64", "dtype": "<i2", "value": "AQACAAMA"},
                                    ],
                                ],
                            },
                        },
                    },
                    "other_file": {
                        "type": "external_link",
                        "target_file": "other.h5",
                        "target_path": "/1.1",
                    },
                    "frames": {
                        "type": "external_binary_dataset",
                        "dtype": "<u2",
                        "shape": [2, 4, 4],
                        "files": [
                            {"name": "frames_0.edf", "offset": 1024, "size": 64},
                            {"name": "frames_1.edf", "offset": 1024},
                        ],
                    },
                    "vds": {
                        "type": "virtual_dataset",
                        "attributes": {"interpretation": "image"},
                        "dtype": "<i4",
                        "shape": [4, 8],
                        "virtual_sources": [
                            {
                                "vspace": {"start": [0, 0], "count": [2, 8]},
                                "src_file": "lima_0000.h5",
                                "src_dataset": "/entry/data",
                                "src_space": {
                                    "start": [0, 0],
                                    "count": [2, 8],
                                    "stride": [1, 2],
                                    "block": [1, 1],
                                },
                            }
                        ],
                    },
                    "empty": {"type": "group"},
                },
            }
        },
    },
    "/data/id00/sample/sample.h5": {"type": "group", "children": {}},
}


def _root(h: dict) -> dict:
    return h["/data/id00/sample/sample_0001/sample_0001.h5"]


def _entry(h: dict) -> dict:
    return _root(h)["children"]["7.1"]["children"]


def _instr(h: dict) -> dict:
    return _entry(h)["instrument"]["children"]


def _set(fn: Callable[[dict], None]) -> Callable[[dict], dict]:
    def apply(doc: dict) -> dict:
        doc = copy.deepcopy(doc)
        fn(doc)
        return doc

    return apply


H5MAPS_BROKEN: list[tuple[str, str, Callable[[dict], dict]]] = [
    (
        "root-not-group",
        "a file maps to a dataset, not a group",
        _set(lambda h: h.update({"/x.h5": {"type": "dataset", "value": 1}})),
    ),
    (
        "unknown-item-type",
        "an item type that does not exist",
        _set(lambda h: _entry(h).update({"bad": {"type": "hard_link", "target_path": "/a"}})),
    ),
    (
        "soft-link-no-target",
        "soft_link without target_path",
        _set(lambda h: _entry(h).update({"bad": {"type": "soft_link"}})),
    ),
    (
        "external-link-no-file",
        "external_link without target_file",
        _set(lambda h: _entry(h).update({"bad": {"type": "external_link", "target_path": "/a"}})),
    ),
    (
        "inline-bad-dtype",
        "inline with a dtype that is not a numeric numpy name",
        _set(lambda h: _entry(h).update({"bad": {"type": "inline", "dtype": "str", "value": "a"}})),
    ),
    (
        "inline-no-value",
        "inline without value",
        _set(lambda h: _entry(h).update({"bad": {"type": "inline", "dtype": "int8"}})),
    ),
    (
        "inline-null-value",
        "inline value null",
        _set(
            lambda h: _entry(h).update({"bad": {"type": "inline", "dtype": "int8", "value": None}})
        ),
    ),
    (
        "inline-b64-bad-dtype",
        "inline_b64 dtype without byte order for a multi-byte type",
        _set(
            lambda h: _entry(h).update(
                {"bad": {"type": "inline_b64", "dtype": "f8", "value": "AAAAAAAAAAA="}}
            )
        ),
    ),
    (
        "inline-b64-not-base64",
        "inline_b64 value that is not base64",
        _set(
            lambda h: _entry(h).update(
                {"bad": {"type": "inline_b64", "dtype": "|u1", "value": "***"}}
            )
        ),
    ),
    (
        "stream-no-name",
        "stream value without the stream name",
        _set(lambda h: _entry(h).update({"bad": {"type": "stream"}})),
    ),
    (
        "compound-empty",
        "compound without columns",
        _set(lambda h: _instr(h).update({"bad": {"type": "compound", "columns": []}})),
    ),
    (
        "compound-stream-column",
        "a compound column cannot be a stream",
        _set(
            lambda h: _instr(h).update(
                {"bad": {"type": "compound", "columns": [["a", {"type": "stream", "stream": "x"}]]}}
            )
        ),
    ),
    (
        "raw-object-value",
        "a raw JSON object is not a value",
        _set(lambda h: _entry(h).update({"bad": {"dataset": {"a": 1}}})),
    ),
    (
        "raw-null-value",
        "null is not a dataset value",
        _set(lambda h: _entry(h).update({"bad": None})),
    ),
    (
        "raw-ragged-array",
        "raw arrays must be rectangular",
        _set(lambda h: _entry(h).update({"bad": [[1, 2], [3]]})),
    ),
    (
        "compound-duplicate-names",
        "compound column names must be unique",
        _set(
            lambda h: _instr(h).update(
                {"bad": {"type": "compound", "columns": [["a", [1, 2]], ["a", [3, 4]]]}}
            )
        ),
    ),
    (
        "compound-shape-mismatch",
        "compound columns must have equal shapes",
        _set(
            lambda h: _instr(h).update(
                {"bad": {"type": "compound", "columns": [["a", [1, 2]], ["b", [3, 4, 5]]]}}
            )
        ),
    ),
    (
        "dataset-no-value",
        "dataset without value",
        _set(lambda h: _entry(h).update({"bad": {"type": "dataset", "attributes": {}}})),
    ),
    (
        "ebd-no-files",
        "external_binary_dataset with an empty file list",
        _set(lambda h: _entry(h)["frames"].update({"files": []})),
    ),
    (
        "ebd-negative-offset",
        "external_binary_dataset file offset below zero",
        _set(lambda h: _entry(h)["frames"]["files"][0].update({"offset": -1})),
    ),
    (
        "vds-no-sources",
        "virtual_dataset without sources",
        _set(lambda h: _entry(h)["vds"].update({"virtual_sources": []})),
    ),
    (
        "vds-missing-count",
        "virtual source selection without count",
        _set(lambda h: _entry(h)["vds"]["virtual_sources"][0]["vspace"].pop("count")),
    ),
    (
        "attribute-stream-name-type",
        "attribute value of a wrong type (object without type)",
        _set(lambda h: _root(h)["attributes"].update({"bad": {"x": 1}})),
    ),
    (
        "children-not-object",
        "group children must be an object",
        _set(lambda h: _entry(h)["empty"].update({"children": []})),
    ),
]


#: Broken h5maps that only a validator's extra checks catch (not JSON Schema alone).
BEYOND_SCHEMA = {"raw-ragged-array", "compound-duplicate-names", "compound-shape-mismatch"}


def _stream(doc: dict, name: str = "axis:sx") -> dict:
    return doc["data_streams"][name]


SCAN_BROKEN: list[tuple[str, str, Callable[[dict], dict]]] = [
    (
        "dtype-str-not-string",
        "numeric encoding with a non-string dtype_str",
        _set(lambda d: _stream(d)["encoding"].update({"dtype_str": 8})),
    ),
    ("missing-id-number", "identity without number", _set(lambda d: d["id"].pop("number"))),
    (
        "id-number-string",
        "identity number given as text",
        _set(lambda d: d["id"].update({"number": "7"})),
    ),
    ("missing-id-name", "identity without name", _set(lambda d: d["id"].pop("name"))),
    (
        "missing-data-policy",
        "identity without data_policy",
        _set(lambda d: d["id"].pop("data_policy")),
    ),
    ("missing-pk", "document without pk", _set(lambda d: d.pop("pk"))),
    (
        "missing-state-stream",
        "document without state_stream",
        _set(lambda d: d.pop("state_stream")),
    ),
    ("state-stream-no-pk", "state_stream without pk", _set(lambda d: d["state_stream"].pop("pk"))),
    ("info-not-object", "info is a list", _set(lambda d: d.update({"info": [1, 2]}))),
    ("data-streams-list", "data_streams is a list", _set(lambda d: d.update({"data_streams": []}))),
    ("stream-no-pk", "a data stream without pk", _set(lambda d: _stream(d).pop("pk"))),
    (
        "encoding-no-type",
        "encoding without type",
        _set(lambda d: _stream(d)["encoding"].pop("type")),
    ),
    (
        "numeric-no-shape",
        "numeric encoding without shape",
        _set(lambda d: _stream(d)["encoding"].pop("shape")),
    ),
    (
        "numeric-shape-minus-2",
        "shape dimension below -1",
        _set(lambda d: _stream(d)["encoding"].update({"shape": [-2]})),
    ),
    (
        "numeric-shape-float",
        "shape dimension that is not an integer",
        _set(lambda d: _stream(d)["encoding"].update({"shape": [2.5]})),
    ),
    (
        "numeric-dtype-kind-unicode",
        "numeric encoding with a string dtype",
        _set(lambda d: _stream(d)["encoding"].update({"dtype_str": "<U8"})),
    ),
    (
        "numeric-dtype-no-byteorder",
        "dtype_str without its byte order character",
        _set(lambda d: _stream(d)["encoding"].update({"dtype_str": "f8"})),
    ),
    (
        "pk-wrong-length",
        "pk that is not a 26-character ULID",
        _set(lambda d: d.update({"pk": "123"})),
    ),
    (
        "session-number",
        "identity session given as a number",
        _set(lambda d: d["id"].update({"session": 3})),
    ),
    (
        "stream-info-string",
        "stream info given as a non-empty string",
        _set(lambda d: _stream(d).update({"info": "x"})),
    ),
]


ENCODING_BROKEN = [
    ("no-type", {"dtype_str": "<f8", "shape": []}),
    ("numeric-no-dtype", {"type": "numeric", "shape": []}),
    ("numeric-shape-string", {"type": "numeric", "dtype_str": "<f8", "shape": "3"}),
    ("numeric-dtype-object", {"type": "numeric", "dtype_str": "|O", "shape": []}),
    ("numeric-dtype-bool-bad-order", {"type": "numeric", "dtype_str": "<b1x", "shape": []}),
    ("type-number", {"type": 1}),
]
