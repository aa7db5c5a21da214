"""Validate protocol 1 documents against the JSON Schemas of ``spec/schemas``.

The schemas ship inside the package (``_spec/schemas``, a copy kept identical
to ``spec/schemas`` by ``tools/sync_spec.py``).  Validators are compiled on
first use and cached: loading a scan should not pay for schema parsing.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from .errors import H5MapError, ScanValidationError, UnknownEncodingError

SCHEMA_NAMES = ("identity", "encoding", "stream-info", "scan", "h5maps", "state-entry")
KNOWN_ENCODINGS = ("numeric", "json")


def schema_text(name: str) -> str:
    """The text of one packaged schema, e.g. ``schema_text("scan")``."""
    return (files(__package__) / "_spec" / "schemas" / f"{name}.schema.json").read_text("utf-8")


@cache
def _schemas() -> dict[str, dict]:
    return {name: json.loads(schema_text(name)) for name in SCHEMA_NAMES}


@cache
def validator(name: str) -> Any:
    """The compiled (cached) jsonschema validator of one schema."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = _schemas()
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return Draft202012Validator(schemas[name], registry=registry)


def _check(name: str, obj: Any, what: str) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise ScanValidationError(f"Invalid {what} at {where}: {error.message}")


_STREAM_MODEL_REF = "https://blissdata.esrf.fr/spec/protocol-1/scan.schema.json#/$defs/data_stream"
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
_PLACEHOLDER_PK = "00000000000000000000000000"
_MODEL_CACHE_SIZE = 4096
_valid_models: dict[str, None] = {}


@cache
def _stream_model_validator() -> Any:
    return validator("scan").evolve(schema={"$ref": _STREAM_MODEL_REF})


def validate_scan_document(doc: Any) -> None:
    """Raise ScanValidationError unless ``doc`` is a protocol 1 scan document.

    ``info.h5maps`` is not checked here (see :func:`validate_h5maps`), so that
    a scan whose file mapping is broken still loads.
    """
    streams = doc.get("data_streams") if isinstance(doc, dict) else None
    if not isinstance(streams, dict):
        _check("scan", doc, "scan document")
        return
    _check("scan", {**doc, "data_streams": {}}, "scan document")
    for name, model in streams.items():
        validate_stream_model(name, model)


def validate_stream_model(name: str, model: Any) -> None:
    """Raise ScanValidationError unless ``model`` is a valid ``data_streams`` entry.

    Models already seen valid (apart from their pk) are not validated again:
    a scan of hundreds of alike streams loads fast.
    """
    if not isinstance(model, dict) or not _ULID.match(str(model.get("pk", ""))):
        _check_stream_model(name, model)
        return
    key = json.dumps({**model, "pk": _PLACEHOLDER_PK}, sort_keys=True)
    if key in _valid_models:
        return
    _check_stream_model(name, model)
    if len(_valid_models) >= _MODEL_CACHE_SIZE:
        _valid_models.clear()
    _valid_models[key] = None


def _check_stream_model(name: str, model: Any) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(_stream_model_validator().iter_errors(model))
    if error is not None:
        where = "/".join(["data_streams", name, *(str(p) for p in error.absolute_path)])
        raise ScanValidationError(f"Invalid scan document at {where}: {error.message}")


def validate_encoding(encoding: Any) -> None:
    """Raise UnknownEncodingError for an unknown type, ScanValidationError when malformed."""
    if isinstance(encoding, dict) and isinstance(encoding.get("type"), str):
        if encoding["type"] not in KNOWN_ENCODINGS:
            raise UnknownEncodingError(f"Unknown stream encoding {encoding['type']!r}")
    _check("encoding", encoding, "stream encoding")


def validate_stream_info(info: Any) -> None:
    """Raise ScanValidationError unless ``info`` is a valid stream info object."""
    _check("stream-info", info, "stream info")


def validate_h5maps(obj: Any) -> None:
    """Raise ScanValidationError unless ``obj`` is a valid ``h5maps`` mapping.

    The schema first, then the parser the writer and the h5 facade use
    (:mod:`blissdata_core.h5maps`), which adds what JSON Schema cannot say:
    rectangular raw arrays, unique compound columns of equal shapes, values
    that fit their dtype.
    """
    from .h5maps import parse_maps

    _check("h5maps", obj, "h5maps")
    try:
        parse_maps(obj)
    except H5MapError as exc:
        raise ScanValidationError(f"Invalid h5maps at {exc.path}: {exc.message}") from None
