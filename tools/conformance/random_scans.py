"""Hypothesis strategies: random h5maps item trees and the streams they reference.

The random scenarios of the interop matrix (``tools.conformance.scenarios``) are
drawn from :func:`random_scan` by ``python -m tools.conformance.random_scans COUNT``
(pickled on stdout): hypothesis draws from the constants of the modules a
process has loaded too, so only a fresh process draws the same scans every time.
They were the writer tests' ``writer_strategies``.
"""

from __future__ import annotations

import base64
import copy
import string
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

NAMES = st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=6)
# HDF5 variable-length strings end at NUL; surrogates are not UTF-8
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)
INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)

# --- values ---------------------------------------------------------------------


def _rect(elements: st.SearchStrategy) -> st.SearchStrategy:
    """A list, or a rectangular list of lists."""
    flat = st.lists(elements, min_size=1, max_size=4)
    nested = st.integers(1, 3).flatmap(
        lambda n: st.lists(st.lists(elements, min_size=n, max_size=n), min_size=1, max_size=3)
    )
    return flat | nested


RAW = st.one_of(
    INT64,
    FLOATS,
    st.booleans(),
    TEXT,
    _rect(INT64),
    _rect(FLOATS),
    _rect(st.booleans()),
    _rect(TEXT),
    st.lists(st.one_of(st.booleans(), st.integers(-1000, 1000), FLOATS), min_size=1, max_size=4),
)

_INLINE_ELEMENTS = {
    "int8": st.integers(-128, 127),
    "uint16": st.integers(0, 65535),
    "int64": INT64,
    "float32": st.one_of(
        st.floats(width=32, allow_nan=False, allow_infinity=False),
        st.sampled_from(["nan", "inf", "-inf"]),
    ),
    "float64": st.one_of(FLOATS, st.sampled_from(["nan", "inf", "-inf"])),
    "bool": st.booleans(),
}
INLINE = st.sampled_from(sorted(_INLINE_ELEMENTS)).flatmap(
    lambda dtype: st.one_of(
        _INLINE_ELEMENTS[dtype], st.lists(_INLINE_ELEMENTS[dtype], min_size=1, max_size=4)
    ).map(lambda value: {"type": "inline", "dtype": dtype, "value": value})
)


@st.composite
def inline_b64(draw) -> dict:
    dtype = draw(st.sampled_from(["<i4", "<f8", "|u1", ">i2", "<u8", "|b1", "<f4"]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))
    array = draw(hnp.arrays(np.dtype(dtype), shape))
    item = {
        "type": "inline_b64",
        "dtype": dtype,
        "value": base64.b64encode(array.tobytes()).decode(),
    }
    if draw(st.booleans()) or len(shape) > 1:
        item["shape"] = list(shape)
    return item


@st.composite
def compound(draw) -> dict:
    n = draw(st.integers(1, 4))
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    columns = []
    for name in names:
        column = draw(
            st.one_of(
                st.lists(INT64, min_size=n, max_size=n),
                st.lists(FLOATS, min_size=n, max_size=n),
                st.lists(TEXT, min_size=n, max_size=n),
                st.lists(st.integers(-128, 127), min_size=n, max_size=n).map(
                    lambda v: {"type": "inline", "dtype": "int8", "value": v}
                ),
            )
        )
        columns.append([name, column])
    return {"type": "compound", "columns": columns}


VALUES = st.one_of(RAW, INLINE, inline_b64(), compound())
ATTRIBUTES = st.dictionaries(NAMES, st.one_of(RAW, INLINE, inline_b64()), max_size=3)

# --- items ----------------------------------------------------------------------


def _dataset(value, attrs):
    return {"type": "dataset", "attributes": attrs, "value": value} if attrs else value


LEAVES = st.one_of(
    st.builds(_dataset, VALUES, ATTRIBUTES),
    st.builds(lambda p: {"type": "soft_link", "target_path": "/" + p}, NAMES),
    st.builds(
        lambda f, p: {"type": "external_link", "target_file": f + ".h5", "target_path": "/" + p},
        NAMES,
        NAMES,
    ),
    st.builds(
        lambda attrs, n: {
            "type": "external_binary_dataset",
            "attributes": attrs,
            "dtype": "<i4",
            "shape": [n],
            "files": [{"name": "raw.bin", "offset": 0, "size": 4 * n}],
        },
        ATTRIBUTES,
        st.integers(1, 5),
    ),
)


def _group(children, attrs):
    item = {"type": "group", "children": children}
    if attrs:
        item["attributes"] = attrs
    return item


GROUPS = st.recursive(
    st.builds(_group, st.dictionaries(NAMES, LEAVES, max_size=3), ATTRIBUTES),
    lambda inner: st.builds(
        _group, st.dictionaries(NAMES, st.one_of(LEAVES, inner), max_size=4), ATTRIBUTES
    ),
    max_leaves=12,
)

# --- streams ------------------------------------------------------------------


@st.composite
def stream_spec(draw) -> tuple[str, tuple, list]:
    dtype = draw(st.sampled_from(["float64", "int32", "uint8", "float32"]))
    shape = draw(st.sampled_from([(), (3,), (2, 2), (-1,)]))
    npoints = draw(st.integers(0, 12))
    if -1 in shape:
        batches = [
            draw(
                hnp.arrays(
                    np.dtype(dtype),
                    (draw(st.integers(1, 4)),),
                    elements={"allow_nan": False} if dtype.startswith("float") else None,
                )
            )
            for _ in range(npoints)
        ]
        return dtype, shape, batches
    data = draw(hnp.arrays(np.dtype(dtype), (npoints,) + shape))
    cuts = sorted(draw(st.lists(st.integers(0, npoints), max_size=3)))
    batches = [data[a:b] for a, b in zip([0, *cuts], [*cuts, npoints]) if b > a]
    return dtype, shape, batches


@dataclass
class RandomScan:
    """A random map for one entry, its streams, and what changes at CLOSED."""

    entry: dict
    streams: dict[str, tuple]
    stream_attrs: dict[str, dict]
    root_attrs: dict
    close_attrs: dict | None
    removed: str | None
    end_time: str
    #: a second target file: (when it appears: "prepare" or "close", its entry group)
    extra: tuple[str, dict] | None = None
    #: root attributes at CLOSED (None: unchanged)
    close_root_attrs: dict | None = None
    #: an entry child replaced at CLOSED by another item: (name, new item)
    replaced: tuple[str, dict] | None = None

    def _build(self, entry_name: str, closing: bool) -> dict:
        entry = copy.deepcopy(self.entry)
        children = entry.setdefault("children", {})
        data = {
            name: _dataset({"type": "stream", "stream": name}, self.stream_attrs.get(name, {}))
            for name in self.streams
        }
        if data:
            children["streamed"] = {
                "type": "group",
                "attributes": {"NX_class": "NXcollection"},
                "children": data,
            }
        if closing:
            children["end_time"] = self.end_time
            if self.removed in children and self.removed != "streamed":
                del children[self.removed]
            if self.close_attrs is not None:
                entry["attributes"] = self.close_attrs
            if self.replaced is not None and self.replaced[0] in children:
                children[self.replaced[0]] = copy.deepcopy(self.replaced[1])
        attrs = self.root_attrs
        if closing and self.close_root_attrs is not None:
            attrs = self.close_root_attrs
        root = {"type": "group", "attributes": dict(attrs), "children": {entry_name: entry}}
        return root

    def maps(self, path: str, extra_path: str, entry_name: str, closing: bool) -> dict:
        """{file: root item} at PREPARED or at CLOSED (the extra file, if any, has no streams)."""
        maps = {path: self._build(entry_name, closing)}
        if self.extra is not None and (closing or self.extra[0] == "prepare"):
            maps[extra_path] = {
                "type": "group",
                "children": {entry_name: copy.deepcopy(self.extra[1])},
            }
        return maps

    def files(self, path: str, extra_path: str) -> list[str]:
        return [path] if self.extra is None else [path, extra_path]


@st.composite
def random_scan(draw) -> RandomScan:
    entry = draw(GROUPS)
    entry.get("children", {}).pop("streamed", None)
    entry.get("children", {}).pop("end_time", None)
    names = draw(st.lists(st.sampled_from(["s0", "s1", "s2"]), max_size=3, unique=True))
    streams = {name: draw(stream_spec()) for name in names}
    stream_attrs = {name: draw(ATTRIBUTES) for name in names}
    children = sorted(entry.get("children", {}))
    return RandomScan(
        entry=entry,
        streams=streams,
        stream_attrs=stream_attrs,
        root_attrs={"NX_class": "NXroot", **draw(ATTRIBUTES)},
        close_attrs=draw(st.none() | ATTRIBUTES),
        removed=draw(st.sampled_from(children)) if children and draw(st.booleans()) else None,
        end_time=draw(TEXT),
        extra=draw(st.none() | st.tuples(st.sampled_from(["prepare", "close"]), GROUPS)),
        close_root_attrs=draw(st.none() | ATTRIBUTES.map(lambda a: {"NX_class": "NXroot", **a})),
        replaced=draw(st.none() | st.tuples(st.sampled_from(children), LEAVES | GROUPS))
        if children
        else None,
    )


def draw(count: int) -> list[RandomScan]:
    """``count`` random scans, derandomized (the same ones in the same fresh process)."""
    from hypothesis import HealthCheck, Phase, given, settings

    drawn: list[RandomScan] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(spec=random_scan())
    def collect(spec: RandomScan) -> None:
        drawn.append(spec)

    if count:
        collect()
    return drawn[:count]


if __name__ == "__main__":
    import pickle
    import sys

    # the classes of the importable module, not of __main__, so that the parent unpickles them
    from tools.conformance import random_scans

    sys.stdout.buffer.write(pickle.dumps(random_scans.draw(int(sys.argv[1]))))
