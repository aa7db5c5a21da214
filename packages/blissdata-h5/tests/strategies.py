"""Hypothesis strategies over the h5maps item types and stream data."""

from __future__ import annotations

import base64

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,6}", fullmatch=True)
# NUL cannot live in an HDF5 variable-length string
texts = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
ints = st.integers(-(2**62), 2**62)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
numbers = st.one_of(st.booleans(), ints, floats)


def _lists(element: st.SearchStrategy) -> st.SearchStrategy:
    flat = st.lists(element, min_size=1, max_size=4)
    square = st.integers(1, 3).flatmap(
        lambda n: st.lists(st.lists(element, min_size=n, max_size=n), min_size=1, max_size=3)
    )
    return st.one_of(flat, square)


raw_values = st.one_of(
    numbers,
    texts,
    _lists(numbers),
    _lists(texts),
    st.just([]),
)

_INLINE = {
    "bool": st.booleans(),
    "int8": st.integers(-128, 127),
    "uint16": st.integers(0, 2**16 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint64": st.integers(0, 2**63),
    "float32": st.one_of(
        st.floats(width=32, allow_nan=False, allow_infinity=False),
        st.sampled_from(["nan", "inf", "-inf"]),
    ),
    "float64": st.one_of(floats, st.sampled_from(["nan", "inf"])),
    "complex128": floats,
}


@st.composite
def inline_items(draw: st.DrawFn) -> dict:
    dtype = draw(st.sampled_from(sorted(_INLINE)))
    element = _INLINE[dtype]
    value = draw(st.one_of(element, st.lists(element, min_size=1, max_size=4)))
    return {"type": "inline", "dtype": dtype, "value": value}


_B64 = ["|b1", "|u1", "<i4", ">i2", "<u8", "<f4", ">f8", "<c16"]


@st.composite
def b64_items(draw: st.DrawFn) -> dict:
    dtype = np.dtype(draw(st.sampled_from(_B64)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))
    array = draw(hnp.arrays(dtype, shape))
    item = {
        "type": "inline_b64",
        "dtype": dtype.str,
        "value": base64.b64encode(array.tobytes()).decode(),
    }
    if len(shape) > 1 or draw(st.booleans()):
        item["shape"] = list(shape)
    return item


@st.composite
def compound_items(draw: st.DrawFn) -> dict:
    column_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    length = draw(st.one_of(st.none(), st.integers(1, 3)))
    columns = []
    for name in column_names:
        element = draw(st.sampled_from([ints, floats, texts]))
        value = (
            draw(element)
            if length is None
            else draw(st.lists(element, min_size=length, max_size=length))
        )
        columns.append([name, value])
    return {"type": "compound", "columns": columns}


data_items = st.one_of(raw_values, inline_items(), b64_items(), compound_items())
attributes = st.dictionaries(names, data_items, max_size=3)

STREAM_DTYPES = ["float64", "int32", "uint8", "bool", "float32"]


@st.composite
def streams(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Stream name -> the points to publish (possibly none)."""
    out = {}
    for name in draw(st.lists(names, min_size=0, max_size=3, unique=True)):
        dtype = np.dtype(draw(st.sampled_from(STREAM_DTYPES)))
        point = draw(st.sampled_from([(), (2,), (2, 3)]))
        npoints = draw(st.integers(0, 6))
        out[f"s_{name}"] = draw(hnp.arrays(dtype, (npoints,) + point))
    return out


@st.composite
def trees(draw: st.DrawFn, stream_names: list[str], entry: str) -> dict:
    """A root group holding one entry; every stream is mapped once somewhere."""
    groups: list[dict] = []
    paths: list[str] = []

    def group(depth: int, path: str) -> dict:
        children: dict = {}
        for name in draw(st.lists(names, max_size=4, unique=True)):
            child_path = f"{path}/{name}"
            if depth < 2 and draw(st.booleans()):
                children[name] = group(depth + 1, child_path)
            elif draw(st.booleans()):
                children[name] = {
                    "type": "dataset",
                    "value": draw(data_items),
                    "attributes": draw(attributes),
                }
            else:
                children[name] = draw(data_items)
            paths.append(child_path)
        item = {"type": "group", "children": children}
        attrs = draw(attributes)
        if attrs:
            item["attributes"] = attrs
        groups.append(item)
        return item

    top = group(0, f"/{entry}")
    for stream in stream_names:
        target = draw(st.sampled_from(groups))
        name = "_d_" + stream
        target["children"][name] = (
            {
                "type": "dataset",
                "value": {"type": "stream", "stream": stream},
                "attributes": draw(attributes),
            }
            if draw(st.booleans())
            else {"type": "stream", "stream": stream}
        )
    # links from the entry group: absolute, relative to it, or dangling
    prefix = f"/{entry}/"
    targets = st.one_of(
        st.sampled_from(paths) if paths else st.nothing(),
        st.sampled_from([p[len(prefix) :] for p in paths]) if paths else st.nothing(),
        st.sampled_from(["nowhere", f"/{entry}/missing/deeper", "../up"]),
    )
    for i, target_path in enumerate(draw(st.lists(targets, max_size=3))):
        top["children"][f"_link{i}"] = {"type": "soft_link", "target_path": target_path}
    root = {"type": "group", "children": {entry: top}}
    root_attrs = draw(attributes)
    if root_attrs:
        root["attributes"] = root_attrs
    return root
