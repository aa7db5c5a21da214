"""Recipes of the conformance vectors: what to publish, what to read back.

The generator turns each recipe into a vector by running the reference client;
expected results are what the reference client did, except where the vector
states a protocol rule the reference does not enforce (malformed entries).
"""

from __future__ import annotations

import base64
import math

import numpy as np

from tools.vectors.valuerepr import array_repr

# --- numeric kinds and byte orders ------------------------------------------------

_INT_BYTE_ORDERS = ["<", ">"]


def _ints(dt: np.dtype) -> list[list]:
    info = np.iinfo(dt)
    return [[0], [info.min, info.max, -1 if info.min < 0 else 1], [42, 7]]


def _floats(dt: np.dtype) -> list[list]:
    big = float(np.finfo(dt).max)
    return [[1.5], [math.nan, math.inf, -math.inf], [-0.0, big]]


def _complexes(dt: np.dtype) -> list[list]:
    return [
        [1 + 2j],
        [complex(math.nan, 1), complex(math.inf, -math.inf), 0j],
        [complex(-0.0, 0), 3.25 - 1j],
    ]


SCALAR_DTYPES = ["|b1", "|i1", "|u1"]
for _kind, _sizes in (("i", (2, 4, 8)), ("u", (2, 4, 8)), ("f", (2, 4, 8)), ("c", (8, 16))):
    for _size in _sizes:
        for _bo in _INT_BYTE_ORDERS:
            SCALAR_DTYPES.append(f"{_bo}{_kind}{_size}")


def scalar_values(dtype_str: str) -> list[list]:
    dt = np.dtype(dtype_str)
    if dt.kind == "b":
        return [[True], [False, True, True], [True, False]]
    if dt.kind in "iu":
        return _ints(dt)
    if dt.kind == "f":
        return _floats(dt)
    return _complexes(dt)


def scalar_sends(dtype_str: str) -> list[dict]:
    """One point, then a batch of three, then a batch of two."""
    dt = np.dtype(dtype_str)
    groups = scalar_values(dtype_str)
    sends = [array_repr(np.array(groups[0][0], dtype=dt))]
    sends += [array_repr(np.array(g, dtype=dt)) for g in groups[1:]]
    return [{"array": s} for s in sends]


CURSOR_READS = [{"op": "cursor"}, {"op": "cursor", "last_only": True}]

SCALAR_READS = [
    {"op": "len"},
    {"op": "is_sealed"},
    {"op": "slice"},
    {"op": "index", "index": 0},
    {"op": "index", "index": 2},
    {"op": "index", "index": 5},
    {"op": "index", "index": -1},
    {"op": "index", "index": -6},
    {"op": "index", "index": -7},
    {"op": "index", "index": 6},
    {"op": "slice", "start": 1, "stop": 5, "step": 2},
    {"op": "slice", "start": 3},
    {"op": "slice", "start": -2},
    {"op": "slice", "start": 10, "stop": 20},
]


def _arr(values, dtype: str) -> dict:
    return {"array": array_repr(np.array(values, dtype=np.dtype(dtype)))}


def _dtype_label(dtype_str: str) -> str:
    order = {"<": "le", ">": "be", "|": "na"}[dtype_str[0]]
    return f"{dtype_str[1:]}-{order}"


def produced_streams() -> list[dict]:
    """Streams published by the reference client; each yields a decode and an encode vector."""
    out = []
    for dt in SCALAR_DTYPES:
        out.append(
            {
                "case": f"numeric-{_dtype_label(dt)}-scalar",
                "description": f"Scalar points of dtype {dt}: one point, then batches of 3 and 2, sealed. "
                "Covers the extreme values of the type (and NaN, infinities, -0.0 for floats).",
                "name": "s",
                "dtype": dt,
                "shape": [],
                "sends": scalar_sends(dt),
                "seal": True,
                "reads": SCALAR_READS,
            }
        )
    vec_reads = [
        {"op": "len"},
        {"op": "is_sealed"},
        {"op": "slice"},
        {"op": "index", "index": 0},
        {"op": "index", "index": -1},
        {"op": "slice", "start": 1, "stop": 3},
        {"op": "index", "index": 3},
    ]
    out += [
        {
            "case": "numeric-u4-le-shape-8",
            "description": "Fixed 1D points (8,) of <u4: a batch of 2, then one point.",
            "name": "mca",
            "dtype": "<u4",
            "shape": [8],
            "sends": [_arr(np.arange(16).reshape(2, 8), "<u4"), _arr(np.arange(100, 108), "<u4")],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-f4-be-shape-2x3",
            "description": "Fixed 2D points (2, 3) of >f4 (big endian): one point, then a batch of 2.",
            "name": "img",
            "dtype": ">f4",
            "shape": [2, 3],
            "sends": [
                _arr(np.arange(6).reshape(2, 3) / 4, ">f4"),
                _arr(np.arange(12).reshape(2, 2, 3) - 5.5, ">f4"),
            ],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-b1-shape-3",
            "description": "Boolean vectors (3,): a batch of 2 then one point.",
            "name": "flags",
            "dtype": "|b1",
            "shape": [3],
            "sends": [
                _arr([[True, False, True], [False, False, True]], "|b1"),
                _arr([True, True, False], "|b1"),
            ],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-c16-le-shape-2",
            "description": "Complex vectors (2,) of <c16, one point then a batch of 2.",
            "name": "z",
            "dtype": "<c16",
            "shape": [2],
            "sends": [
                _arr([1 + 1j, -2j], "<c16"),
                _arr([[3, 4 + 0.5j], [math.nan, math.inf]], "<c16"),
            ],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-i2-le-free-homogeneous",
            "description": "Free dimension (-1,) of <i2 where every point has 3 values: the decoded "
            "stream is one regular array. Payload is msgpack [point_shape, bytes].",
            "name": "dyn",
            "dtype": "<i2",
            "shape": [-1],
            "sends": [_arr([0, 1, 2], "<i2"), _arr([[3, 4, 5], [6, 7, 8]], "<i2")],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-i2-le-free-ragged",
            "description": "Free dimension (-1,) of <i2 with points of 3 then 5 values: the decoded "
            "stream is a list of arrays of their own shapes.",
            "name": "dyn",
            "dtype": "<i2",
            "shape": [-1],
            "sends": [_arr([0, 1, 2], "<i2"), _arr(np.arange(10).reshape(2, 5), "<i2")],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-f8-le-free-first-of-2",
            "description": "Free first dimension (-1, 2) of <f8, points (1,2) then a batch of two (3,2).",
            "name": "pts",
            "dtype": "<f8",
            "shape": [-1, 2],
            "sends": [_arr([[0.5, 1.5]], "<f8"), _arr(np.arange(12).reshape(2, 3, 2) * 0.5, "<f8")],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-u1-free-second",
            "description": "Free second dimension (2, -1) of |u1, two single points of (2, 4).",
            "name": "rows",
            "dtype": "|u1",
            "shape": [2, -1],
            "sends": [
                _arr(np.arange(8).reshape(2, 4), "|u1"),
                _arr(np.arange(8, 16).reshape(2, 4), "|u1"),
            ],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-f4-be-free",
            "description": "Free dimension (-1,) of >f4 (big endian bytes inside the msgpack payload).",
            "name": "dynbe",
            "dtype": ">f4",
            "shape": [-1],
            "sends": [_arr([1.0, math.nan], ">f4"), _arr([[2.5], [-math.inf]], ">f4")],
            "seal": True,
            "reads": vec_reads,
        },
        {
            "case": "numeric-f8-le-unsealed",
            "description": "An open (unsealed) stream of 3 points: indexes past the end are not yet there, "
            "negative indexes have no meaning yet.",
            "name": "open",
            "dtype": "<f8",
            "shape": [],
            "sends": [_arr(0.0, "<f8"), _arr([0.25, 0.5], "<f8")],
            "seal": False,
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "slice"},
                {"op": "index", "index": 2},
                {"op": "index", "index": 3},
                {"op": "index", "index": -1},
                {"op": "slice", "start": 1, "stop": 10},
                {"op": "slice", "start": -1},
            ],
        },
        {
            "case": "json-values",
            "description": "JSON stream: objects, lists, unicode text, numbers, booleans and null, one per entry.",
            "name": "events",
            "dtype": "json",
            "shape": None,
            "sends": [
                {"json": {"a": 1, "b": [1.5, None]}},
                {"json": [1, 2, "x"]},
                {"json": "h\u00e9llo \u20ac \U0001f600"},
                {"json": 3},
                {"json": -0.125},
                {"json": None},
                {"json": True},
            ],
            "seal": True,
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "slice"},
                {"op": "index", "index": 0},
                {"op": "index", "index": 2},
                {"op": "index", "index": 5},
                {"op": "index", "index": -1},
                {"op": "slice", "start": 1, "stop": 6, "step": 2},
                {"op": "index", "index": 7},
            ],
        },
        {
            "case": "json-unsealed",
            "description": "Open JSON stream of two entries.",
            "name": "events",
            "dtype": "json",
            "shape": None,
            "sends": [{"json": {"k": "v"}}, {"json": [[]]}],
            "seal": False,
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "slice"},
                {"op": "index", "index": 2},
                {"op": "index", "index": -1},
            ],
        },
    ]
    return out


# --- hand-written entries (trimmed, empty, edge cases) -----------------------------


def _b64(b: bytes) -> dict:
    return {"base64": base64.b64encode(b).decode()}


def _f8(*values: float) -> bytes:
    return np.array(values, dtype="<f8").tobytes()


SEAL_ID = "18446744073709551615-18446744073709551615"
F8 = {"type": "numeric", "dtype_str": "<f8", "shape": []}
F8_INFO = {"dtype": "float64", "shape": []}


def _seal(n: int) -> dict:
    return {"id": SEAL_ID, "fields": [["id", {"text": str(n)}]]}


def _entry(index: int, payload: bytes, n: int | None = None) -> dict:
    fields = [["payload", _b64(payload)]]
    if n is not None:
        fields.append(["len", {"text": str(n)}])
    return {"id": f"{index}-1", "fields": fields}


def _msgpack_free(shape: list[int], raw: bytes) -> bytes:
    import msgpack

    return msgpack.packb([shape, raw])


TRIM_READS = [
    {"op": "len"},
    {"op": "is_sealed"},
    {"op": "index", "index": 0},
    {"op": "index", "index": 4},
    {"op": "index", "index": 5},
    {"op": "index", "index": 6},
    {"op": "index", "index": 8},
    {"op": "index", "index": -1},
    {"op": "slice", "start": 5, "stop": 9},
    {"op": "slice", "start": 6, "stop": 8},
    {"op": "slice", "start": 2, "stop": 7},
    {"op": "slice"},
    {"op": "index", "index": 9},
]


def handmade_decode() -> list[dict]:
    free_i2 = {"type": "numeric", "dtype_str": "<i2", "shape": [-1]}
    return [
        {
            "name": "empty-unsealed",
            "description": "A declared stream with no entry yet (the Redis key does not exist): length 0, "
            "not sealed, every index is not yet there.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [],
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "index", "index": 0},
                {"op": "index", "index": -1},
                {"op": "slice"},
            ],
        },
        {
            "name": "empty-sealed",
            "description": "A stream sealed before any point: only the seal entry, with id field 0.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_seal(0)],
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "index", "index": 0},
                {"op": "slice"},
                {"op": "slice", "start": 0, "stop": 5},
            ],
        },
        {
            "name": "json-empty-sealed",
            "description": "An empty sealed JSON stream.",
            "stream": {"encoding": {"type": "json"}, "info": {}},
            "entries": [_seal(0)],
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "index", "index": 0},
                {"op": "slice"},
            ],
        },
        {
            "name": "trimmed-sealed",
            "description": "A sealed stream of 9 points whose first entries (points 0..4) were trimmed: "
            "reading them raises IndexNoMoreThereError, the rest reads normally.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_entry(5, _f8(5, 6, 7), 3), _entry(8, _f8(8)), _seal(9)],
            "reads": TRIM_READS,
        },
        {
            "name": "trimmed-only-seal-left",
            "description": "A sealed stream of 9 points trimmed down to its seal (what the memory manager "
            "leaves after its last, exact trim): length is still 9, every index is no more there.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_seal(9)],
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "index", "index": 0},
                {"op": "index", "index": 8},
                {"op": "index", "index": -1},
                {"op": "index", "index": 9},
                {"op": "slice", "start": 3, "stop": 5},
            ],
        },
        {
            "name": "trimmed-unsealed",
            "description": "An open stream whose first 4 points were trimmed; entry 4-1 holds points 4 and 5.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_entry(4, _f8(4, 5), 2)],
            "reads": [
                {"op": "len"},
                {"op": "is_sealed"},
                {"op": "index", "index": 3},
                {"op": "index", "index": 5},
                {"op": "index", "index": 6},
                {"op": "slice", "start": 4},
                {"op": "slice", "start": 0, "stop": 2},
            ],
        },
        {
            "name": "trimmed-json",
            "description": "A sealed JSON stream of 3 points whose first entry was trimmed.",
            "stream": {"encoding": {"type": "json"}, "info": {}},
            "entries": [
                {"id": "1-1", "fields": [["payload", {"text": '{"n": 1}'}]]},
                {"id": "2-1", "fields": [["payload", {"text": '{"n": 2}'}]]},
                _seal(3),
            ],
            "reads": [
                {"op": "len"},
                {"op": "index", "index": 0},
                {"op": "index", "index": 1},
                {"op": "slice", "start": 1},
                {"op": "index", "index": -1},
            ],
        },
        {
            "name": "trimmed-free-dimension",
            "description": "A sealed free-dimension stream whose first entry (2 points) was trimmed.",
            "stream": {"encoding": free_i2, "info": {"dtype": "int16", "shape": [-1]}},
            "entries": [
                {
                    "id": "2-1",
                    "fields": [
                        ["payload", _b64(_msgpack_free([2], np.array([7, 8], "<i2").tobytes()))]
                    ],
                },
                _seal(3),
            ],
            "reads": [
                {"op": "len"},
                {"op": "index", "index": 1},
                {"op": "index", "index": 2},
                {"op": "slice", "start": 2},
            ],
        },
        {
            "name": "explicit-len-1",
            "description": "Writers omit `len` for one point, but a reader must accept an explicit len of 1.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_entry(0, _f8(1.0), 1), _entry(1, _f8(2.0, 3.0), 2), _seal(3)],
            "reads": [{"op": "len"}, {"op": "slice"}, {"op": "index", "index": 0}],
        },
        {
            "name": "extra-fields-ignored",
            "description": "Fields other than payload and len are ignored by readers.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [
                {
                    "id": "0-1",
                    "fields": [
                        ["payload", _b64(_f8(1.0, 2.0))],
                        ["len", {"text": "2"}],
                        ["x", {"text": "y"}],
                    ],
                },
                _seal(2),
            ],
            "reads": [{"op": "len"}, {"op": "slice"}],
        },
        {
            "name": "seal-after-batch",
            "description": "Reading the last index when the seal directly follows a batch entry: the seal's "
            "id field (total length) equals last entry index + its len.",
            "stream": {"encoding": F8, "info": F8_INFO},
            "entries": [_entry(0, _f8(0, 1, 2, 3), 4), _seal(4)],
            "reads": [
                {"op": "len"},
                {"op": "index", "index": -1},
                {"op": "index", "index": 3},
                {"op": "index", "index": 4},
                {"op": "slice", "start": -3, "step": 2},
            ],
        },
    ]


def handmade_malformed() -> list[dict]:
    free_i2 = {"type": "numeric", "dtype_str": "<i2", "shape": [-1]}
    free_f8_2 = {"type": "numeric", "dtype_str": "<f8", "shape": [-1, 2]}
    u4_8 = {"type": "numeric", "dtype_str": "<u4", "shape": [8]}
    json_enc = {"type": "json"}
    whole = [{"op": "slice"}]
    m = "MalformedEntryError"
    return [
        (
            "payload-not-multiple-of-item",
            "payload of 7 bytes in a <f8 stream",
            F8,
            [_entry(0, b"\0" * 7), _seal(1)],
            whole,
            m,
        ),
        (
            "len-more-than-payload",
            "len says 3 points, payload holds 2 <f8",
            F8,
            [_entry(0, _f8(1, 2), 3), _seal(3)],
            whole,
            m,
        ),
        (
            "len-less-than-payload",
            "len says 2 points, payload holds 3 <f8",
            F8,
            [_entry(0, _f8(1, 2, 3), 2), _seal(2)],
            whole,
            m,
        ),
        (
            "no-len-two-points",
            "no len field (one point) but payload holds 2 <f8",
            F8,
            [_entry(0, _f8(1, 2)), _seal(1)],
            whole,
            m,
        ),
        (
            "fixed-shape-short-payload",
            "shape (8,) of <u4 needs 32 bytes a point; payload has 28",
            u4_8,
            [_entry(0, b"\1" * 28), _seal(1)],
            whole,
            m,
        ),
        (
            "len-not-decimal",
            "len field is not a decimal integer",
            F8,
            [
                {"id": "0-1", "fields": [["payload", _b64(_f8(1, 2))], ["len", {"text": "two"}]]},
                _seal(2),
            ],
            whole,
            m,
        ),
        (
            "len-signed",
            "len field '+2': a decimal integer is ASCII digits only, no sign (revision 5)",
            F8,
            [
                {"id": "0-1", "fields": [["payload", _b64(_f8(1, 2))], ["len", {"text": "+2"}]]},
                _seal(2),
            ],
            whole,
            m,
        ),
        (
            "len-padded",
            "len field ' 2 ': no whitespace around the digits (revision 5)",
            F8,
            [
                {"id": "0-1", "fields": [["payload", _b64(_f8(1, 2))], ["len", {"text": " 2 "}]]},
                _seal(2),
            ],
            whole,
            m,
        ),
        (
            "len-zero",
            "len field is 0",
            F8,
            [
                {"id": "0-1", "fields": [["payload", _b64(b"")], ["len", {"text": "0"}]]},
                _entry(0 + 1, _f8(1.0)),
                _seal(2),
            ],
            whole,
            m,
        ),
        (
            "payload-missing",
            "a data entry without payload field",
            F8,
            [{"id": "0-1", "fields": [["len", {"text": "1"}]]}, _seal(1)],
            whole,
            m,
        ),
        (
            "msgpack-garbage",
            "free-dimension payload is not msgpack",
            free_i2,
            [_entry(0, b"\xc1\xc1\xc1")],
            whole,
            m,
        ),
        (
            "msgpack-not-pair",
            "free-dimension payload is msgpack but not [shape, bytes]",
            free_i2,
            [_entry(0, _msgpack_dict())],
            whole,
            m,
        ),
        (
            "msgpack-shape-vs-bytes",
            "embedded point shape [3] but 4 <i2 values",
            free_i2,
            [_entry(0, _msgpack_free([3], np.arange(4, dtype="<i2").tobytes()))],
            whole,
            m,
        ),
        (
            "msgpack-fixed-dim-mismatch",
            "declared shape (-1, 2) but embedded point shape [3, 3]",
            free_f8_2,
            [_entry(0, _msgpack_free([3, 3], np.zeros(9, "<f8").tobytes()))],
            whole,
            m,
        ),
        (
            "msgpack-rank-mismatch",
            "declared shape (-1,) but embedded point shape [2, 2]",
            free_i2,
            [_entry(0, _msgpack_free([2, 2], np.zeros(4, "<i2").tobytes()))],
            whole,
            m,
        ),
        (
            "json-invalid",
            "JSON payload that does not parse",
            json_enc,
            [{"id": "0-1", "fields": [["payload", {"text": "{not json"}]]}],
            whole,
            m,
        ),
        (
            "json-not-utf8",
            "JSON payload that is not UTF-8",
            json_enc,
            [{"id": "0-1", "fields": [["payload", _b64(b'"\xff\xfe"')]]}],
            whole,
            m,
        ),
        (
            "json-batch",
            "JSON entries hold one point each; len 2 is malformed",
            json_enc,
            [{"id": "0-1", "fields": [["payload", {"text": "[1, 2]"}], ["len", {"text": "2"}]]}],
            whole,
            m,
        ),
        (
            "unknown-encoding",
            "an encoding type no client knows",
            {"type": "zstd-numeric", "dtype_str": "<f8", "shape": []},
            [_entry(0, _f8(1.0))],
            whole,
            ["UnknownEncodingError"],
        ),
        (
            "numeric-non-numeric-dtype",
            "numeric encoding with a string dtype (kind U is not one of biufc)",
            {"type": "numeric", "dtype_str": "<U4", "shape": []},
            [_entry(0, b"a\0\0\0" * 4)],
            whole,
            ["UnknownEncodingError", "ScanValidationError"],
        ),
        (
            "numeric-object-dtype",
            "numeric encoding with dtype |O",
            {"type": "numeric", "dtype_str": "|O", "shape": []},
            [_entry(0, b"\0" * 8)],
            whole,
            ["UnknownEncodingError", "ScanValidationError"],
        ),
    ]


def _msgpack_dict() -> bytes:
    import msgpack

    return msgpack.packb({"shape": [1], "data": b"\0\0"})


# --- scan life cycles (what a producer writes) ------------------------------------

LIFECYCLES = [
    {
        "name": "minimal",
        "description": "Only the required identity fields, empty info, no stream; every transition.",
        "identity": {"name": "ct", "number": 1, "data_policy": "no_policy"},
        "info": {},
        "streams": [],
    },
    {
        "name": "esrf-policy-with-streams",
        "description": "Every identity field, scan info with a NaN (stored as null), four plain streams, "
        "h5maps added before prepare and end_reason at close.",
        "identity": {
            "name": "ascan",
            "number": 42,
            "data_policy": "ESRF",
            "session": "blc1234",
            "proposal": "ihch1234",
            "collection": "sample",
            "dataset": "0001",
            "path": "/data/visitor/ihch1234/id00/sample/sample_0001/sample_0001.h5",
        },
        "info": {"title": "ascan sx 0 1 3 0.1", "npoints": 4, "count_time": 0.1},
        "info_nan_keys": ["missing"],
        "info_before_prepare": {
            "h5maps": {
                "/data/visitor/ihch1234/id00/sample/sample_0001/sample_0001.h5": {
                    "type": "group",
                    "children": {
                        "42.1": {
                            "type": "group",
                            "children": {"sx": {"type": "stream", "stream": "axis:sx"}},
                        }
                    },
                }
            }
        },
        "info_at_close": {"end_reason": "SUCCESS"},
        "streams": [
            {"name": "axis:sx", "dtype": "float64", "shape": [], "info": {"unit": "mm"}},
            {"name": "mca1:spectrum", "dtype": "<u4", "shape": [8], "info": {}},
            {"name": "dyn", "dtype": ">i2", "shape": [-1, 3], "info": {"note": "free"}},
            {"name": "events", "dtype": "json", "shape": None, "info": {"k": [1, 2]}},
        ],
    },
]


# --- data store operations on prepared databases -----------------------------------


def _scan(label: str, state: int = 4, ttl: int | None = None, **identity) -> dict:
    ident = {"name": "ascan", "number": 1, "data_policy": "no_policy", **identity}
    out = {"label": label, "identity": ident, "state": state}
    if ttl is not None:
        out["ttl"] = ttl
    return out


STORE_CASES = [
    {
        "name": "search-wildcards-and-escaping",
        "description": "Search by identity fields: exact values with characters RediSearch needs escaped "
        "(/ . - : space), prefix, suffix and infix wildcards, numbers, several fields, no field.",
        "scans": [
            _scan("a", name="ascan", number=1, path="/data/id00/a.h5", session="s-1"),
            _scan("b", name="ascan", number=2, path="/data/id00/b.h5", session="s-1"),
            _scan("c", name="dscan", number=2, path="/data/id00/c.h5", dataset="sample 1"),
            _scan("d", name="timescan", number=3, dataset="sample:2", collection="x.y"),
            _scan("e", name="loopscan", number=30),
        ],
        "ops": [
            {"op": "search", "query": {}},
            {"op": "search", "query": {"name": "ascan"}},
            {"op": "search", "query": {"name": "asc*"}},
            {"op": "search", "query": {"name": "*scan"}},
            {"op": "search", "query": {"name": "*esc*"}},
            {"op": "search", "query": {"number": 2}},
            {"op": "search", "query": {"name": "ascan", "number": 2}},
            {"op": "search", "query": {"path": "/data/id00/a.h5"}},
            {"op": "search", "query": {"path": "/data/id00/*"}},
            {"op": "search", "query": {"session": "s-1"}},
            {"op": "search", "query": {"dataset": "sample 1"}},
            {"op": "search", "query": {"dataset": "sample:2"}},
            {"op": "search", "query": {"collection": "x.y"}},
            {"op": "search", "query": {"name": "nothing"}},
            {"op": "search", "query": {"data_policy": "no_policy", "name": "loopscan"}},
        ],
    },
    {
        "name": "deleted-scans",
        "description": "Scans whose keys expire within 10 s count as deleted: loading them fails, the "
        "last/next scan skip them; a TTL above 10 s is a live scan.",
        "scans": [
            _scan("old", number=1),
            _scan("live-ttl", number=2, ttl=1000),
            _scan("deleted", number=3, ttl=8),
            _scan("deleted-last", number=4, ttl=5),
        ],
        "ops": [
            {"op": "load", "scan": "old"},
            {"op": "load", "scan": "live-ttl"},
            {"op": "load", "scan": "deleted"},
            {"op": "load", "scan": "deleted-last"},
            {"op": "last_scan"},
            {"op": "last_timetag"},
            {"op": "next_scan", "after": None},
            {"op": "next_scan", "after": "live-ttl"},
            {"op": "scans_state", "scans": ["old", "live-ttl"]},
        ],
    },
    {
        "name": "states-and-history",
        "description": "Scan states read from the state streams, last and next scans by timetag.",
        "scans": [
            _scan("created", state=0, number=1),
            _scan("prepared", state=1, number=2),
            _scan("started", state=2, number=3),
            _scan("stopped", state=3, number=4),
            _scan("closed", state=4, number=5),
        ],
        "ops": [
            {"op": "scans_state", "scans": ["created", "prepared", "started", "stopped", "closed"]},
            {"op": "scans_state", "scans": []},
            {"op": "last_scan"},
            {"op": "next_scan", "after": None},
            {"op": "next_scan", "after": "created"},
            {"op": "next_scan", "after": "stopped"},
            {"op": "next_scan", "after": "closed"},
            {"op": "load", "scan": "created"},
        ],
    },
    {
        "name": "empty-database",
        "description": "No scan at all.",
        "scans": [],
        "ops": [
            {"op": "last_scan"},
            {"op": "last_timetag"},
            {"op": "next_scan", "after": None},
            {"op": "search", "query": {}},
        ],
    },
]
