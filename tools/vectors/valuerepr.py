"""Language-neutral JSON representation of decoded stream values.

Shared by the vector generator (run inside the reference client's venv) and
the conformance runner, so it depends on numpy and the standard library only.

A value is one of:

``{"array": {"dtype": <numpy dtype.str>, "shape": [...], "base64": <C-order bytes>, "list": [...]}}``
    A numeric array (a 0-d array for a single scalar point). ``base64`` is
    authoritative and holds the bytes in the byte order ``dtype`` names;
    ``list`` is for humans (non-finite floats as the strings "nan", "inf",
    "-inf"; complex numbers as ``[real, imag]``).
``{"arrays": [<array>, ...]}``
    Points of a stream with a free dimension whose shapes differ.
``{"json": <value>}``
    Decoded JSON (one value for an index, a list of values for a slice).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np


def _scalar_to_json(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (complex, np.complexfloating)):
        return [_scalar_to_json(float(x.real)), _scalar_to_json(float(x.imag))]
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return int(x)


def _tolist(a: np.ndarray) -> Any:
    if a.ndim == 0:
        return _scalar_to_json(a[()])
    return [_tolist(a[i]) for i in range(a.shape[0])]


def array_repr(a: Any) -> dict:
    a = np.asarray(a)
    return {
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "base64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode(),
        "list": _tolist(a),
    }


def to_repr(value: Any, json_stream: bool) -> dict:
    """Represent what a client returned for an index or a slice read."""
    if json_stream:
        return {"json": value}
    if isinstance(value, list):
        if value and not all(isinstance(v, np.ndarray) for v in value):
            raise TypeError("a list of points must hold arrays")
        return {"arrays": [array_repr(v) for v in value]}
    return {"array": array_repr(value)}


def array_from_repr(r: dict) -> np.ndarray:
    dtype = np.dtype(r["dtype"])
    raw = base64.b64decode(r["base64"])
    return np.frombuffer(raw, dtype=dtype).reshape(r["shape"]).copy()


def from_repr(r: dict) -> Any:
    """Rebuild the value a repr stands for (numpy arrays, lists, JSON values)."""
    if "json" in r:
        return r["json"]
    if "arrays" in r:
        return [array_from_repr(a) for a in r["arrays"]]
    return array_from_repr(r["array"])


def _same_array(expected: np.ndarray, actual: Any) -> str | None:
    try:
        actual = np.asarray(actual)
    except Exception as exc:  # pragma: no cover - defensive
        return f"not an array: {exc}"
    if actual.dtype.kind != expected.dtype.kind or actual.dtype.itemsize != expected.dtype.itemsize:
        return f"dtype {actual.dtype.str} != expected {expected.dtype.str}"
    if list(actual.shape) != list(expected.shape):
        return f"shape {list(actual.shape)} != expected {list(expected.shape)}"
    # Compare bit patterns in one byte order so NaN payloads and -0.0 count.
    if actual.astype(expected.dtype).tobytes() != expected.tobytes():
        return f"values differ: got {_tolist(actual)} expected {_tolist(expected)}"
    return None


def compare(expected_repr: dict, actual: Any) -> str | None:
    """Return None when ``actual`` is what ``expected_repr`` describes, else why not.

    Arrays compare by kind, item size, shape and exact bits; a byte-swapped
    native representation of the same values is accepted.
    """
    if "json" in expected_repr:
        if actual != expected_repr["json"] or type(actual) is not type(expected_repr["json"]):
            return f"json {actual!r} != expected {expected_repr['json']!r}"
        return None
    if "arrays" in expected_repr:
        exp = [array_from_repr(a) for a in expected_repr["arrays"]]
        if not isinstance(actual, (list, tuple)) or len(actual) != len(exp):
            return f"expected a list of {len(exp)} arrays, got {type(actual).__name__}"
        for i, (e, a) in enumerate(zip(exp, actual)):
            why = _same_array(e, a)
            if why:
                return f"point {i}: {why}"
        return None
    return _same_array(array_from_repr(expected_repr["array"]), actual)


def encode_field(value: bytes) -> dict:
    """A stream field value: text when it is printable ASCII, else base64."""
    try:
        text = value.decode("ascii")
        if text.isprintable():
            return {"text": text}
    except UnicodeDecodeError:
        pass
    return {"base64": base64.b64encode(value).decode()}


def decode_field(value: dict) -> bytes:
    if "text" in value:
        return value["text"].encode("utf-8")
    if "base64" in value:
        return base64.b64decode(value["base64"])
    if "hex" in value:
        return bytes.fromhex(value["hex"])
    raise ValueError(f"bad field value {value!r}")


def entries_to_json(raw: list) -> list[dict]:
    """XRANGE output (``[(id, {field: value})]`` with bytes) to vector entries."""
    out = []
    for entry_id, fields in raw:
        if isinstance(entry_id, bytes):
            entry_id = entry_id.decode()
        items = fields.items() if isinstance(fields, dict) else fields
        out.append(
            {
                "id": entry_id,
                "fields": [
                    [k.decode() if isinstance(k, bytes) else k, encode_field(v)] for k, v in items
                ],
            }
        )
    return out
