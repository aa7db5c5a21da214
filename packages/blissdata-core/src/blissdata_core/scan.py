"""Scans: identity, info, the state machine, and the streams they own.

A scan is a JSON document (``esrf:scan:<pk>``) plus a state stream.  The
document is rewritten, and a state entry appended, in one transaction at each
transition, so readers that wake up on a state entry always find the document
that goes with it.  ``info`` may change only before PREPARED and at CLOSED.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import protocol_commands as cmd
from .errors import (
    BlissdataError,
    BrokenPluginException,
    NoWritePermission,
    ScanInfoError,
    ScanNotFoundError,
    ScanValidationError,
    StreamAlreadyExistsError,
    UnauthorizeStateTransition,
)
from .protocol import (
    DELETION_GRACE_SECONDS,
    IDENTITY_FIELDS,
    MAX_INFO_BYTES,
    REQUIRED_IDENTITY_FIELDS,
    SCAN_KEY_PREFIX,
    scan_key,
    stream_key,
)
from .schemas import validate_scan_document, validate_stream_model
from .streams import plugins
from .streams.definition import StreamDefinition
from .streams.event_stream import EventStream
from .streams.stream import (
    BaseStream,
    BrokenPluginStream,
    BrokenStream,
    MissingPluginStream,
    Stream,
)
from .ulid import new_ulid

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store import DataStore

_logger = logging.getLogger(__name__)


#: Largest scan document a reader parses (info is capped at 1 MiB on write;
#: the rest is stream descriptions): a hostile document is refused unparsed.
MAX_SCAN_DOCUMENT_BYTES = 64 * 2**20


class ScanState(enum.IntEnum):
    """Scan states; a scan only ever moves to a greater state."""

    CREATED = 0
    PREPARED = 1
    STARTED = 2
    STOPPED = 3
    CLOSED = 4


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serialisable")


def _replace_non_finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _replace_non_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_non_finite(v) for v in value]
    return value


def normalise_info(info: Any) -> tuple[dict[str, Any], str]:
    """Info as stored: numpy values converted, NaN/inf -> null, at most 1 MiB of JSON."""
    if not isinstance(info, dict):
        raise ScanInfoError(f"Scan info must be a dict, not {type(info).__name__}")
    try:
        text = json.dumps(info, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ScanInfoError(f"Scan info is not JSON serialisable: {exc}") from exc
    if len(text) > MAX_INFO_BYTES:
        raise ScanInfoError(f"Scan info takes {len(text) / 2**20:.2f} MiB of JSON (limit 1 MiB)")
    if "NaN" in text or "Infinity" in text:
        normalised = _replace_non_finite(json.loads(text))
        text = json.dumps(normalised)
    else:
        normalised = json.loads(text)
    return normalised, text


def _validate_identity(identity: Any) -> dict[str, Any]:
    if not isinstance(identity, dict):
        raise ScanValidationError(f"Scan identity must be a dict, not {type(identity).__name__}")
    unknown = set(identity) - set(IDENTITY_FIELDS)
    if unknown:
        raise ScanValidationError(
            f"Unknown scan identity field(s) {sorted(unknown)}; known fields: {list(IDENTITY_FIELDS)}"
        )
    missing = [f for f in REQUIRED_IDENTITY_FIELDS if identity.get(f) is None]
    if missing:
        raise ScanValidationError(f"Scan identity misses required field(s) {missing}")
    number = identity["number"]
    if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
        raise ScanValidationError(f"Scan identity 'number' must be an integer, not {number!r}")
    out: dict[str, Any] = {"pk": new_ulid()}
    for field in IDENTITY_FIELDS:
        value = identity.get(field)
        if field == "number":
            value = int(value)
        elif value is not None and not isinstance(value, str):
            raise ScanValidationError(
                f"Scan identity {field!r} must be a string or None, not {value!r}"
            )
        out[field] = value
    return out


#: Digests of raw scan documents that passed the schema, so that loading the
#: same document again (a writer reloading, many readers of one scan) does not
#: pay for the schema validation, the largest part of a load.
_VALID_DOCUMENTS: dict[bytes, None] = {}
_VALID_DOCUMENTS_SIZE = 1024


def check_scan_document(doc: Any, key: str, schema: bool = True) -> dict[str, Any]:
    """Structural checks on a scan document read from Redis (the subset of
    ``scan.schema.json`` the client relies on; the schema tests keep both in
    step), then the schema itself unless ``schema`` is False."""

    def bad(why: str) -> ScanValidationError:
        return ScanValidationError(f"Scan {key} is not a valid protocol 1 document: {why}")

    if not isinstance(doc, dict):
        raise bad("not an object")
    for field, kind in (
        ("pk", str),
        ("id", dict),
        ("info", dict),
        ("state_stream", dict),
        ("data_streams", dict),
    ):
        if not isinstance(doc.get(field), kind):
            raise bad(f"{field!r} missing or not a {kind.__name__}")
    ident = doc["id"]
    for field in REQUIRED_IDENTITY_FIELDS:
        if field not in ident:
            raise bad(f"id.{field} missing")
    if isinstance(ident["number"], bool) or not isinstance(ident["number"], int):
        raise bad("id.number is not an integer")
    if not isinstance(doc["state_stream"].get("pk"), str):
        raise bad("state_stream.pk missing")
    for name, model in doc["data_streams"].items():
        if not isinstance(model, dict) or not isinstance(model.get("pk"), str):
            raise bad(f"data stream {name!r} has no pk")
        encoding = model.get("encoding")
        if encoding == "":  # written by old clients for 'no encoding'
            model["encoding"] = None
        if model.get("info") == "":
            model["info"] = {}
    # The spec's schema, after the legacy fix-ups above.  Streams are checked one
    # by one when opened, so a single bad stream model leaves the scan readable.
    if schema:
        validate_scan_document({**doc, "data_streams": {}})
    return doc


def resolve_stream_class(scan: Scan, event_stream: EventStream) -> BaseStream:
    """The stream class for an event stream: default, plugin, or a broken stand-in."""
    info = event_stream.info
    plugin_name = info.get("plugin")
    if plugin_name is None:
        if event_stream.encoding.get("type") == "json":
            plugin_name = plugins.LEGACY_FORMATS.get(info.get("format", ""))
        elif scan.info.get("save", False) and "data_path" in info:
            plugin_name = "hdf5_fallback"
    if plugin_name is None:
        return Stream(event_stream)
    if not isinstance(plugin_name, str):
        exc = BrokenPluginException(
            f"Stream {event_stream.name!r} names a non-string plugin {plugin_name!r}"
        )
        return BrokenPluginStream(
            event_stream, event_stream.name, event_stream.key, info, None, exc
        )
    try:
        plugin = plugins.load_plugin(plugin_name)
    except Exception as exc:
        _logger.warning(
            "Broken blissdata plugin %r for stream %r",
            plugin_name,
            event_stream.name,
            exc_info=True,
        )
        broken = BrokenPluginException(f"Plugin {plugin_name!r} failed to load: {exc}")
        broken.__cause__ = exc
        return BrokenPluginStream(
            event_stream, event_stream.name, event_stream.key, info, plugin_name, broken
        )
    if plugin is None:
        _logger.warning(
            "Missing blissdata plugin %r, cannot load stream %r", plugin_name, event_stream.name
        )
        return MissingPluginStream(
            event_stream, event_stream.name, event_stream.key, info, plugin_name
        )
    try:
        factory = getattr(plugin, "open_stream", None)
        if factory is not None:
            return factory(event_stream, scan)
        return plugin.stream_cls(event_stream)
    except Exception as exc:
        _logger.warning(
            "Blissdata plugin %r cannot open stream %r",
            plugin_name,
            event_stream.name,
            exc_info=True,
        )
        broken = BrokenPluginException(
            f"Plugin {plugin_name!r} cannot open stream {event_stream.name!r}: {exc}"
        )
        broken.__cause__ = exc
        return BrokenPluginStream(
            event_stream, event_stream.name, event_stream.key, info, plugin_name, broken
        )


class Scan:
    """A scan in Redis.  Made by :meth:`DataStore.create_scan` (read-write) or
    :meth:`DataStore.load_scan` (read-only), which call :meth:`create` and
    :meth:`load` with the store's :class:`~blissdata_core.runtime.Runtime`.

    ``last_state_entry`` is the raw last entry of the state stream (none: the
    scan was just created); ``data_store``, the store that made the scan, is
    only handed on (:attr:`data_store`, plugins whose points are scans).
    """

    def __init__(self, runtime: Runtime, doc: dict[str, Any], writable: bool,
                 last_state_entry: Any = None, *, data_store: DataStore | None = None):  # fmt: skip
        self._runtime = runtime
        self._data_store = data_store
        self._doc = doc
        self._state = ScanState.CREATED
        self._writable = writable
        self._last_state_id = "0-0"
        self._streams: dict[str, BaseStream] = {}
        self._writer_streams: dict[str, BaseStream] = {}
        self._saved_info_json = json.dumps(doc["info"]) if writable else ""
        if last_state_entry is not None:
            self._apply_state_entry(last_state_entry)
            self._refresh_streams()

    # -- construction ------------------------------------------------------------
    @classmethod
    def create(cls, runtime: Runtime, identity: dict[str, Any], info: dict[str, Any] | None = None,
               *, data_store: DataStore | None = None) -> Scan:  # fmt: skip
        """A new scan in state CREATED, writable by this process."""
        runtime.check_writable("creating a scan")
        ident = _validate_identity(identity)
        info_doc, _ = normalise_info({} if info is None else info)
        runtime.check_protocol()  # never write into a database restarted empty
        pk = new_ulid()
        doc = {
            "pk": pk,
            "id": ident,
            "info": info_doc,
            "state_stream": {"pk": new_ulid(), "encoding": None, "info": None},
            "data_streams": {},
        }
        scan = cls(runtime, doc, writable=True, data_store=data_store)
        runtime.conn.transaction(cmd.create_scan(scan.key, scan.state_key, doc, ScanState.CREATED))
        return scan

    @classmethod
    def load(cls, runtime: Runtime, key: str, writable: bool = False,
             *, data_store: DataStore | None = None) -> Scan:  # fmt: skip
        """An existing scan: read-only, or ``writable`` (to close or delete it from elsewhere)."""
        if writable:
            runtime.check_writable(f"loading {key} for writing")
        if not isinstance(key, str) or not key.startswith(SCAN_KEY_PREFIX):
            raise ScanNotFoundError(f"Scan keys start with {SCAN_KEY_PREFIX!r}: {key!r}")
        ttl, raw_pk = runtime.conn.call_many([cmd.ttl(key), cmd.get_state_stream_pk(key)])
        if isinstance(ttl, Exception):
            raise ttl
        if ttl == -2:
            runtime.check_protocol()  # a server restarted empty is not a missing scan
            raise ScanNotFoundError(f"Scan {key} does not exist (deleted, expired or wrong key)")
        if 0 <= ttl <= DELETION_GRACE_SECONDS:
            raise ScanNotFoundError(f"Scan {key} has been deleted")
        if isinstance(raw_pk, Exception):
            raise ScanValidationError(f"{key} is not a JSON scan document: {raw_pk}")
        try:
            (state_pk,) = json.loads(raw_pk)
        except (TypeError, ValueError):
            state_pk = None
        if not isinstance(state_pk, str):
            raise ScanValidationError(f"Scan {key} has no state_stream.pk")
        doc, last = cls._read_snapshot(runtime, key, stream_key(state_pk))
        return cls(runtime, doc, writable, last, data_store=data_store)

    @classmethod
    def _read_snapshot(cls, runtime: Runtime, key: str, state_key: str) -> tuple[dict, Any]:
        """Document and last state entry from one MULTI/EXEC: transitions write
        both atomically, so a reader never pairs a new state with old info."""
        raw_doc, last = runtime.conn.call_many(
            [cmd.get_document(key), cmd.entries_reversed(state_key, count=1)], transaction=True
        )
        if isinstance(raw_doc, Exception) or raw_doc is None:
            raise ScanNotFoundError(f"Scan {key} has been deleted")
        if isinstance(last, Exception) or not last:
            raise ScanValidationError(f"Scan {key} has no state entry")
        return cls._parse_doc(raw_doc, key), last[-1]

    def _reload_snapshot(self) -> None:
        self._doc, last = self._read_snapshot(self._runtime, self.key, self.state_key)
        self._apply_state_entry(last)
        self._refresh_streams()

    @staticmethod
    def _parse_doc(raw: Any, key: str) -> dict[str, Any]:
        if isinstance(raw, (bytes, str)) and len(raw) > MAX_SCAN_DOCUMENT_BYTES:
            raise ScanValidationError(
                f"Scan {key} document takes {len(raw)} bytes; readers accept "
                f"{MAX_SCAN_DOCUMENT_BYTES} at most"
            )
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ScanValidationError(f"Scan {key} document is not valid JSON: {exc}") from exc
        doc = parsed[0] if isinstance(parsed, list) and parsed else parsed
        raw_bytes = raw.encode() if isinstance(raw, str) else bytes(raw)
        digest = hashlib.blake2b(raw_bytes, digest_size=16).digest()
        doc = check_scan_document(doc, key, schema=digest not in _VALID_DOCUMENTS)
        if len(_VALID_DOCUMENTS) >= _VALID_DOCUMENTS_SIZE:
            _VALID_DOCUMENTS.clear()
        _VALID_DOCUMENTS[digest] = None
        return doc

    def _apply_state_entry(self, raw_entry: Any) -> None:
        entry_id, fields = raw_entry[0], raw_entry[1]
        fields = dict(zip(fields[::2], fields[1::2])) if isinstance(fields, list) else fields
        try:
            state = ScanState(int(fields[b"state"]))
        except (KeyError, ValueError) as exc:
            raise ScanValidationError(
                f"Scan {self.key} has a malformed state entry {fields!r}"
            ) from exc
        self._last_state_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        self._state = state

    # -- identity ------------------------------------------------------------------
    @property
    def key(self) -> str:
        return scan_key(self._doc["pk"])

    @property
    def pk(self) -> str:
        return self._doc["pk"]

    @property
    def identity(self) -> dict[str, Any]:
        return {k: v for k, v in self._doc["id"].items() if k != "pk"}

    name = property(lambda self: self._doc["id"].get("name"))
    number = property(lambda self: self._doc["id"].get("number"))
    data_policy = property(lambda self: self._doc["id"].get("data_policy"))
    session = property(lambda self: self._doc["id"].get("session"))
    proposal = property(lambda self: self._doc["id"].get("proposal"))
    collection = property(lambda self: self._doc["id"].get("collection"))
    dataset = property(lambda self: self._doc["id"].get("dataset"))
    path = property(lambda self: self._doc["id"].get("path"))

    @property
    def state_key(self) -> str:
        """The key of the scan's state stream."""
        return stream_key(self._doc["state_stream"]["pk"])

    @property
    def redis_keys(self) -> list[str]:
        """Every key the scan occupies: its data streams, state stream and document."""
        keys = [stream_key(model["pk"]) for model in self._doc["data_streams"].values()]
        return [*keys, self.state_key, self.key]

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def data_store(self) -> DataStore | None:
        """The store that made this scan."""
        return self._data_store

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    # -- info and state ------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        return self._doc["info"]

    @info.setter
    def info(self, info: dict[str, Any]) -> None:
        self._require_write()
        if not isinstance(info, dict):
            raise ScanInfoError(f"Scan info must be a dict, not {type(info).__name__}")
        self._doc["info"] = info

    @property
    def state(self) -> ScanState:
        return self._state

    @property
    def publish_errors(self) -> dict[str, dict[str, Any]]:
        """Streams whose publication failed: ``{name: {"lost": points, "error": text}}``.

        The producer records them when it stops or closes the scan: such a
        stream is sealed like any other, but ``lost`` of the points sent to it
        never reached Redis.  Empty when nothing was lost.
        """
        recorded = self._doc.get("publish_errors")
        return copy.deepcopy(recorded) if isinstance(recorded, dict) else {}

    @property
    def streams(self) -> dict[str, BaseStream]:
        """Streams by name: the writer's own on the producer side, readers from PREPARED on."""
        if self._writable:
            return {**self._streams, **self._writer_streams}
        return dict(self._streams)

    def _require_write(self) -> None:
        if not self._writable:
            raise NoWritePermission(f"Scan {self.key} is read-only")

    # -- producer side -------------------------------------------------------------
    def create_stream(self, definition: StreamDefinition) -> BaseStream:
        """A new stream owned by this scan; it is sealed by stop()/close()."""
        self._require_write()
        if not isinstance(definition, StreamDefinition):
            raise TypeError("create_stream takes a StreamDefinition (see Stream.make_definition)")
        name = definition.name
        if name in self._doc["data_streams"]:
            raise StreamAlreadyExistsError(f"Stream {name!r} already exists in scan {self.key}")
        if self._state >= ScanState.CLOSED:
            raise UnauthorizeStateTransition(self._state, self._state)
        info_doc, _ = normalise_info(definition.info)
        model = {"pk": new_ulid(), "encoding": definition.encoder.info(), "info": info_doc}
        event_stream = self._event_stream(name, model, writable=True)
        stream = resolve_stream_class(self, event_stream)
        if isinstance(stream, BrokenStream):
            raise stream.exception
        self._doc["data_streams"][name] = model
        self._writer_streams[name] = stream
        return stream

    def get_writer_stream(self, name: str) -> BaseStream:
        """A writable handle on an existing stream, to publish it from another process.

        Each stream must be published from one place only; sealing may happen anywhere.
        """
        model = self._doc["data_streams"].get(name)
        if model is None:
            raise KeyError(f"Scan {self.key} has no stream {name!r}")
        event_stream = self._event_stream(name, model, writable=True)
        event_stream.resume_writer()
        stream = resolve_stream_class(self, event_stream)
        if isinstance(stream, BrokenStream):
            raise stream.exception
        return stream

    def adopt_writer_streams(self) -> None:
        """Make every stream of the document a writer stream of this process (those
        whose handle cannot be opened are left out), so that stop()/close() seal
        them from here: a forced deletion wakes every reader up."""
        self._require_write()
        for name in self._doc["data_streams"]:
            if name in self._writer_streams:
                continue
            try:
                self._writer_streams[name] = self.get_writer_stream(name)
            except BlissdataError:
                pass

    def _event_stream(
        self, name: str, model: dict[str, Any], writable: bool = False
    ) -> EventStream:
        return EventStream(self._runtime, name, model, writable, data_store=self._data_store)

    def prepare(self) -> None:
        self._transition(ScanState.PREPARED, allowed_from=(ScanState.CREATED,))

    def start(self) -> None:
        self._transition(ScanState.STARTED, allowed_from=(ScanState.PREPARED,))

    def stop(self) -> None:
        self._require_write()
        if self._state is not ScanState.STARTED:
            raise UnauthorizeStateTransition(self._state, ScanState.STOPPED)
        self._seal_writer_streams()
        self._transition(ScanState.STOPPED, allowed_from=(ScanState.STARTED,))

    def close(self) -> None:
        self._require_write()
        if self._state is ScanState.CLOSED:
            raise UnauthorizeStateTransition(self._state, ScanState.CLOSED)
        self._seal_writer_streams()
        self._transition(ScanState.CLOSED, allowed_from=tuple(ScanState)[:-1])

    def _seal_writer_streams(self) -> None:
        """Seal every stream this process publishes.

        A stream whose publication failed is sealed all the same and listed in
        :attr:`publish_errors`, so the transition that follows still happens.
        Only a seal that fails (the server unreachable, say) raises: nothing
        has changed then, and stop()/close() may be called again.
        """
        errors = []
        for name, stream in self._writer_streams.items():
            try:
                stream.seal()
            except BlissdataError as exc:
                events = stream.event_stream
                if exc is events.publish_error and events.sealed_length is not None:
                    self._note_publish_error(name, events)
                else:
                    errors.append(exc)
        if errors:
            raise errors[0]

    def _note_publish_error(self, name: str, events: EventStream) -> None:
        recorded = self._doc.setdefault("publish_errors", {})
        entry = {"lost": events.lost_points, "error": str(events.publish_error)}
        if recorded.get(name) != entry:
            _logger.warning(
                "Scan %s: %d point(s) lost in stream %r, whose publication failed: %s",
                self.key,
                entry["lost"],
                name,
                entry["error"],
            )
        recorded[name] = entry

    def _transition(self, new_state: ScanState, allowed_from: tuple[ScanState, ...]) -> None:
        self._require_write()
        if self._state not in allowed_from:
            raise UnauthorizeStateTransition(self._state, new_state)
        info_doc, info_json = normalise_info(self._doc["info"])
        info_may_change = new_state is ScanState.CLOSED or (
            self._state is ScanState.CREATED and new_state is ScanState.PREPARED
        )
        if info_json != self._saved_info_json and not info_may_change:
            raise ScanInfoError(
                f"Scan info changed between {self._state.name} and {new_state.name}; "
                "it may change only before PREPARED and at CLOSED"
            )
        doc = dict(self._doc)
        doc["info"] = info_doc
        self._runtime.check_protocol()  # never recreate a scan in a database restarted empty
        self._runtime.conn.transaction(cmd.transition(self.key, self.state_key, doc, new_state))
        self._doc = doc
        self._saved_info_json = info_json
        self._state = new_state
        self._refresh_streams()

    # -- reader side -------------------------------------------------------------------
    def _refresh_streams(self) -> None:
        if self._state < ScanState.PREPARED:
            return
        for name, model in self._doc["data_streams"].items():
            if name in self._streams or name in self._writer_streams:
                continue
            try:
                validate_stream_model(name, model)
                event_stream = self._event_stream(name, model)
            except BlissdataError as exc:
                info = model.get("info") if isinstance(model.get("info"), dict) else {}
                plugin = info.get("plugin")
                if isinstance(plugin, str) and isinstance(exc, ScanValidationError):
                    # the model does not fit what its plugin declares
                    cause, exc = (
                        exc,
                        BrokenPluginException(f"Plugin {plugin!r} stream {name!r}: {exc}"),
                    )
                    exc.__cause__ = cause
                self._streams[name] = BrokenPluginStream(
                    None, name, stream_key(model["pk"]), info, plugin, exc
                )
                continue
            self._streams[name] = resolve_stream_class(self, event_stream)

    def update(self, block: bool = True, timeout: float = 0) -> bool:
        """Follow the scan: True when its state changed (document reloaded).

        Returns False at once for a closed scan; otherwise waits for the next
        state entry (``timeout`` seconds, 0 = forever) when ``block``.
        """
        if self._writable:
            raise NoWritePermission("update() is for readers; the writer knows its own state")
        key = self.key
        conn = self._runtime.conn
        ttl = conn.call(*cmd.ttl(key))
        if ttl == -2:
            self._runtime.check_protocol()
        if ttl == -2 or 0 <= ttl <= DELETION_GRACE_SECONDS:
            raise ScanNotFoundError(f"Scan {key} has been deleted")
        if self._state is ScanState.CLOSED:
            return False
        after = ([self.state_key], [self._last_state_id])
        if block:
            raw = conn.blocking_call(
                timeout, *cmd.read_streams(*after, block_ms=int(timeout * 1000))
            )
        else:
            raw = conn.call(*cmd.read_streams(*after))
        if not raw:
            return False
        self._reload_snapshot()
        return True

    def __repr__(self) -> str:
        return f"<Scan {self.key} {self.name!r} #{self.number} {self._state.name}>"

    __str__ = __repr__
