"""h5maps vectors: maps, and the items they decode to or the error they raise.

    python -m tools.vectors.h5maps_cases [--out spec/vectors]

Unlike the other kinds, these come from ``blissdata_core.h5maps`` (the
reference client does not decode h5maps; its writer is not part of it):
PROTOCOL.md section 11 is the rule, this implementation its worked example.
:func:`items_repr` is the representation a conformance adapter returns.
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from tools import ROOT
from tools.vectors.valuerepr import array_repr

FILE = "/data/id00/sample/sample_0001.h5"


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode()


def _entry(children: dict, attributes: dict | None = None) -> dict:
    entry = {"type": "group", "children": children}
    if attributes is not None:
        entry["attributes"] = attributes
    return {
        FILE: {"type": "group", "attributes": {"NX_class": "NXroot"}, "children": {"1.1": entry}}
    }


def _one(value: Any) -> dict:
    return _entry({"x": value})


# (name, description, h5maps)
VALID: list[tuple[str, str, dict]] = [
    (
        "raw-scalars",
        "raw JSON scalars: bool, int64, float64, string",
        _entry({"b": True, "i": -3, "f": 0.5, "s": "ascan sx 0 1 10 0.1"}),
    ),
    (
        "raw-promotion",
        "mixed raw arrays promote bool < int64 < float64 < string",
        _entry({"bi": [True, 2], "if": [1, 2.5], "fs": [1.5, "a"], "bs": [True, "x"]}),
    ),
    ("raw-nested", "a rectangular nested array", _one([[1, 2, 3], [4, 5, 6]])),
    ("raw-empty-list", "an empty array is float64 of shape [0]", _one([])),
    (
        "raw-uint64-max",
        "an integer beyond int64 (all non-negative) is uint64 (revision 2)",
        _one(2**64 - 1),
    ),
    ("raw-uint64-array", "an array with an integer beyond int64 is uint64", _one([0, 2**63])),
    ("raw-int64-limits", "int64 limits stay int64", _one([-(2**63), 2**63 - 1])),
    (
        "inline-float32-nan",
        "inline: strings nan/inf parsed by dtype",
        _one({"type": "inline", "dtype": "float32", "value": ["nan", "-inf", 1]}),
    ),
    (
        "inline-uint64-limits",
        "inline uint64 at its limits",
        _one({"type": "inline", "dtype": "uint64", "value": [0, 2**64 - 1]}),
    ),
    (
        "inline-int8-strings",
        "inline int8 from a string, a float and a bool",
        _one({"type": "inline", "dtype": "int8", "value": ["-128", 127.0, True]}),
    ),
    (
        "inline-complex",
        "inline complex128 from strings",
        _one({"type": "inline", "dtype": "complex128", "value": ["1+2j", 3]}),
    ),
    (
        "inline-b64-shaped",
        "inline_b64 with a shape, little-endian",
        _one(
            {
                "type": "inline_b64",
                "dtype": "<i2",
                "shape": [2, 2],
                "value": _b64(np.arange(4, dtype="<i2")),
            }
        ),
    ),
    (
        "inline-b64-big-endian",
        "inline_b64 without shape is 1-D; big-endian kept",
        _one({"type": "inline_b64", "dtype": ">f8", "value": _b64(np.array([1.5, -2], ">f8"))}),
    ),
    (
        "compound",
        "compound columns: raw ints, strings, inline float32",
        _one(
            {
                "type": "compound",
                "columns": [
                    ["n", [1, 2]],
                    ["name", ["a", "bc"]],
                    ["v", {"type": "inline", "dtype": "float32", "value": [0.5, 1]}],
                ],
            }
        ),
    ),
    (
        "compound-nested",
        "a compound column that is a compound",
        _one(
            {
                "type": "compound",
                "columns": [
                    ["p", {"type": "compound", "columns": [["x", 1.0], ["y", 2.0]]}],
                    ["ok", True],
                ],
            }
        ),
    ),
    (
        "dataset-with-attributes",
        "a dataset item: value and attributes; a streamed dataset",
        _entry(
            {
                "x": {
                    "type": "dataset",
                    "value": [1, 2],
                    "attributes": {"units": "mm", "scale": 2.5},
                },
                "diode": {
                    "type": "dataset",
                    "value": {"type": "stream", "stream": "simu:diode"},
                    "attributes": {"interpretation": "spectrum"},
                },
                "sx": {"type": "stream", "stream": "axis:sx"},
            },
            attributes={"NX_class": "NXentry", "tags": ["a", "b"]},
        ),
    ),
    (
        "links",
        "soft and external links",
        _entry(
            {
                "data": {"type": "soft_link", "target_path": "/1.1/x"},
                "ext": {"type": "external_link", "target_file": "other.h5", "target_path": "/2.1"},
            }
        ),
    ),
    (
        "external-binary",
        "an external binary dataset (size null = to the end)",
        _one(
            {
                "type": "external_binary_dataset",
                "dtype": "<u2",
                "shape": [2, 3],
                "files": [
                    {"name": "a.raw", "offset": 0, "size": 6},
                    {"name": "b.raw", "offset": 16, "size": None},
                ],
            }
        ),
    ),
    (
        "virtual",
        "a virtual dataset of one source",
        _one(
            {
                "type": "virtual_dataset",
                "dtype": "<f4",
                "shape": [2, 4],
                "virtual_sources": [
                    {
                        "vspace": {"start": [0, 0], "count": [2, 4]},
                        "src_file": "lima_0000.h5",
                        "src_dataset": "/entry_0000/data",
                        "src_space": {"start": [0, 0], "count": [2, 4], "stride": None},
                    }
                ],
            }
        ),
    ),
]

# (name, description, h5maps, path of the error)
INVALID: list[tuple[str, str, dict, str]] = [
    ("raw-null", "null is not a raw value", _one(None), "/1.1/x"),
    ("raw-nested-null", "null inside a raw array", _one([1, None]), "/1.1/x"),
    (
        "inline-nested-null",
        "null inside an inline value (revision 2: was NaN in one reader)",
        _one({"type": "inline", "dtype": "float64", "value": [1.0, None]}),
        "/1.1/x",
    ),
    ("raw-ragged", "a raw array must be rectangular", _one([[1, 2], [3]]), "/1.1/x"),
    ("raw-beyond-uint64", "an integer beyond uint64", _one(2**64), "/1.1/x"),
    (
        "raw-negative-and-beyond-int64",
        "no integer type holds -1 and 2**64-1 both",
        _one([-1, 2**64 - 1]),
        "/1.1/x",
    ),
    ("raw-object-in-array", "an object inside a raw array", _one([1, {"a": 1}]), "/1.1/x"),
    ("unknown-type", "an unknown item type", _one({"type": "bogus", "value": 1}), "/1.1/x"),
    (
        "inline-bad-dtype",
        "inline dtype must be a numpy number name",
        _one({"type": "inline", "dtype": "str", "value": "a"}),
        "/1.1/x",
    ),
    (
        "inline-out-of-range",
        "inline int8 cannot hold 1000",
        _one({"type": "inline", "dtype": "int8", "value": [1, 1000]}),
        "/1.1/x",
    ),
    (
        "inline-no-value",
        "inline without a value",
        _one({"type": "inline", "dtype": "int8"}),
        "/1.1/x",
    ),
    (
        "b64-bad-base64",
        "inline_b64 value is not base64",
        _one({"type": "inline_b64", "dtype": "<f8", "value": "!!"}),
        "/1.1/x",
    ),
    (
        "b64-bad-shape",
        "inline_b64 bytes do not fill the shape",
        _one({"type": "inline_b64", "dtype": "<f8", "shape": [3], "value": _b64(np.zeros(2))}),
        "/1.1/x",
    ),
    (
        "b64-bad-dtype",
        "inline_b64 dtype needs a byte order",
        _one({"type": "inline_b64", "dtype": "f8", "value": _b64(np.zeros(1))}),
        "/1.1/x",
    ),
    (
        "compound-repeated-names",
        "compound column names are unique",
        _one({"type": "compound", "columns": [["a", 1], ["a", 2]]}),
        "/1.1/x",
    ),
    (
        "compound-shapes-differ",
        "compound columns have equal shapes",
        _one({"type": "compound", "columns": [["a", [1, 2]], ["b", [1, 2, 3]]]}),
        "/1.1/x",
    ),
    (
        "compound-stream-column",
        "a compound column cannot be a stream",
        _one({"type": "compound", "columns": [["a", {"type": "stream", "stream": "s"}]]}),
        "/1.1/x['a']",
    ),
    (
        "compound-empty",
        "a compound has at least one column",
        _one({"type": "compound", "columns": []}),
        "/1.1/x",
    ),
    (
        "stream-attribute",
        "an attribute cannot be a stream",
        _entry({}, attributes={"a": {"type": "stream", "stream": "s"}}),
        "/1.1@a",
    ),
    (
        "stream-without-name",
        "a stream reference names its stream",
        _one({"type": "stream", "stream": ""}),
        "/1.1/x",
    ),
    ("dataset-without-value", "a dataset item has a value", _one({"type": "dataset"}), "/1.1/x"),
    (
        "soft-link-without-target",
        "a soft link has a non-empty target_path",
        _one({"type": "soft_link", "target_path": ""}),
        "/1.1/x",
    ),
    (
        "external-binary-no-files",
        "external_binary_dataset needs files",
        _one({"type": "external_binary_dataset", "dtype": "<u2", "shape": [2], "files": []}),
        "/1.1/x",
    ),
    (
        "virtual-no-sources",
        "virtual_dataset needs sources",
        _one({"type": "virtual_dataset", "dtype": "<u2", "shape": [2], "virtual_sources": []}),
        "/1.1/x",
    ),
    (
        "children-not-mapping",
        "group children are a mapping",
        _one({"type": "group", "children": [1]}),
        "/1.1/x",
    ),
    (
        "root-not-group",
        "the root of a file is a group",
        {FILE: {"type": "soft_link", "target_path": "/x"}},
        FILE,
    ),
]


# --- the representation of parsed items ----------------------------------------


def value_repr(data: Any) -> dict:
    """A decoded value: numbers as ``array``, ``strings``, ``compound`` or ``stream``."""
    from blissdata_core.h5maps import StreamRef

    if isinstance(data, StreamRef):
        return {"stream": data.stream}
    if data.dtype.fields is not None:
        return {
            "compound": {
                "shape": list(data.shape),
                "columns": [[name, value_repr(data[name])] for name in data.dtype.names],
            }
        }
    if data.dtype.kind == "O":
        return {"strings": {"shape": list(data.shape), "list": data.tolist()}}
    return {"array": array_repr(data)}


def _item_repr(item: Any) -> dict:
    from blissdata_core import h5maps

    out: dict[str, Any] = {"type": "group"}
    if isinstance(item, h5maps.Dataset):
        out = {"type": "dataset", "value": value_repr(item.value.data)}
    elif isinstance(item, h5maps.SoftLink):
        return {"type": "soft_link", "target_path": item.target_path}
    elif isinstance(item, h5maps.ExternalLink):
        return {
            "type": "external_link",
            "target_file": item.target_file,
            "target_path": item.target_path,
        }
    elif isinstance(item, h5maps.ExternalBinaryDataset):
        out = {
            "type": "external_binary_dataset",
            "dtype": item.dtype,
            "shape": list(item.shape),
            "files": [list(f) for f in item.files],
        }
    elif isinstance(item, h5maps.VirtualDataset):
        out = {
            "type": "virtual_dataset",
            "dtype": item.dtype,
            "shape": list(item.shape),
            "virtual_sources": [
                {
                    "vspace": s.vspace,
                    "src_file": s.src_file,
                    "src_dataset": s.src_dataset,
                    "src_space": s.src_space,
                }
                for s in item.sources
            ],
        }
    out["attributes"] = {k: value_repr(v.data) for k, v in item.attributes.items()}
    return out


def items_repr(maps: dict) -> dict:
    """``{file: {item path: item}}`` of parsed maps (``blissdata_core.h5maps.parse_maps``)."""
    from blissdata_core import h5maps

    def walk(item: Any, path: str, out: dict) -> dict:
        out[path] = _item_repr(item)
        if isinstance(item, h5maps.Group):
            for name, child in item.children.items():
                walk(child, h5maps.join_path(path, name), out)
        return out

    return {file: walk(root, "/", {}) for file, root in maps.items()}


def core_result(h5maps_json: dict) -> dict:
    """What the core does with a map: ``{"items": ...}`` or ``{"error", "path"}``."""
    from blissdata_core import h5maps

    try:
        return {"items": items_repr(h5maps.parse_maps(h5maps_json))}
    except h5maps.H5MapError as exc:
        return {"error": type(exc).__name__, "path": exc.path}


def _case(name: str, description: str, h5map: dict, result: dict) -> dict:
    return {
        "name": name,
        "kind": "h5maps",
        "description": description,
        "h5maps": h5map,
        "expect": result,
    }


def vector_cases() -> list[dict]:
    out = []
    for name, description, h5map in VALID:
        result = core_result(h5map)
        assert "items" in result, (name, result)
        out.append(_case(name, description, h5map, result))
    for name, description, h5map, path in INVALID:
        result = core_result(h5map)
        assert result == {"error": "H5MapError", "path": path}, (name, result)
        out.append(_case(name, description, h5map, result))
    return out


DESCRIPTION = (
    "h5maps (PROTOCOL.md section 11): valid maps with the items they decode to, "
    "invalid ones with the path of the error"
)


def write(out: Path) -> None:
    cases = vector_cases()
    doc = {"format": 1, "kind": "h5maps", "description": DESCRIPTION, "cases": cases}
    text = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    (out / "h5maps.json").write_text(text + "\n")
    print(f"h5maps.json: {len(cases)} cases")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "spec" / "vectors"))
    write(Path(parser.parse_args().out))
