"""The low level of a data stream: entries in Redis, their decoding, index lookup.

An :class:`EventStream` knows the Redis key, the encoder and how points map to
entries (entry id ``<index>-1``).  High-level stream classes (the default
:class:`~blissdata_core.streams.stream.Stream` and plugins) sit on top of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import protocol_commands as cmd
from ..encoding import Encoder, RawEntry, encoder_from_info
from ..errors import (
    IndexNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
    NoWritePermission,
    PublishError,
)
from ..protocol import MAX_STREAM_ID, stream_key
from ..resp_reader import LARGE_BULK
from .entries import Entry, parse_entries
from .publisher import StreamWriter

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..store import DataStore

_MAX_ID_ARG = str(MAX_STREAM_ID)
#: Payloads from this size on are read without copy (by cursors too) ...
ZERO_COPY_PAYLOAD = 128 * 1024
#: ... and so are range reads expected to return this many bytes, of payloads
#: of at least LARGE_BULK: hiredis slows down on replies of many MB, while
#: the pure-Python reader loses on a few medium payloads.
ZERO_COPY_REPLY = 4 * 2**20
#: A slice that starts where the previous one ended reads this many bytes
#: beyond its end, kept for the next slices: reading a stream in order then
#: costs one round trip per ``READ_AHEAD_BYTES``, not one per slice.
READ_AHEAD_BYTES = 2**20


class EventStream:
    """Entries of one Redis stream, read (and optionally written) by point index."""

    def __init__(self, runtime: Runtime, name: str, model: dict[str, Any], writable: bool = False,
                 *, data_store: DataStore | None = None):  # fmt: skip
        #: Connection, publisher and protocol check of the store this stream belongs to.
        self.runtime = runtime
        #: The store itself, handed on to plugins whose points are scans.
        self.data_store = data_store
        self._conn = runtime.conn
        self.name = name
        self.model = model
        self.key = stream_key(model["pk"])
        self.encoder: Encoder = encoder_from_info(model.get("encoding"))
        self._seal_total: int | None = None
        self._writer: StreamWriter | None = StreamWriter(self.key, name) if writable else None
        # bytes per point (0 when not fixed: JSON, free dimensions)
        self._point_nbytes = max(getattr(self.encoder, "point_nbytes", 0), 0)
        # Payload size of the last entries read: large ones are read without
        # copy, small ones by hiredis (faster for many small values).
        self._payload_hint = self._point_nbytes
        # sequential reads: the entries read ahead, and where the last slice ended
        self._ahead: list[Entry] = []
        self._next_start = -1

    # -- description -----------------------------------------------------------
    @property
    def encoding(self) -> dict[str, Any]:
        return self.model.get("encoding")

    @property
    def info(self) -> dict[str, Any]:
        info = self.model.get("info")
        return info if isinstance(info, dict) else {}

    @property
    def dtype(self):
        return self.encoder.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.encoder.shape

    @property
    def writable(self) -> bool:
        return self._writer is not None

    # -- raw reads ---------------------------------------------------------------
    def _parse(self, raw: Any) -> list[Entry]:
        entries = parse_entries(raw, self.name)
        self._note_payloads(entries)
        return entries

    @property
    def zero_copy(self) -> bool:
        """Whether reads of this stream should use the zero-copy reader (large payloads expected)."""
        return self._payload_hint >= ZERO_COPY_PAYLOAD

    def _note_payloads(self, entries: list[Entry]) -> None:
        """Remember the size of payloads just read (the first and last data entries)."""
        sizes = (
            [len(e.payload) for e in (entries[0], entries[-1]) if not e.is_seal] if entries else ()
        )
        if sizes:
            self._payload_hint = max(sizes)

    def _zero_copy_for(self, points: int) -> bool:
        """Whether a read of about ``points`` points should use the zero-copy reader."""
        if self.zero_copy:
            return True
        return self._payload_hint >= LARGE_BULK and points * self._point_nbytes >= ZERO_COPY_REPLY

    def range(
        self,
        start: int | str = "-",
        end: int | str = "+",
        count: int | None = None,
        points: int = 0,
    ) -> list[Entry]:
        """Entries from ``start`` to ``end``; ``points``: how many the caller expects (a hint)."""
        command = cmd.entries(self.key, start, end, count)
        return self._parse(self._conn.call(*command, zero_copy=self._zero_copy_for(points)))

    def revrange(
        self, end: int | str = "+", start: int | str = "-", count: int | None = None
    ) -> list[Entry]:
        """Entries from ``end`` down to ``start``, returned in increasing order."""
        command = cmd.entries_reversed(self.key, end, start, count)
        entries = self._parse(self._conn.call(*command, zero_copy=self.zero_copy))
        entries.reverse()
        return entries

    def decode(self, entries: list[Entry]) -> Any:
        """Points of consecutive data entries (seal entries are skipped)."""
        raw = [RawEntry(e.index, e.length, e.payload) for e in entries if not e.is_seal]
        return self.encoder.decode(raw, self.name)

    def note_seal(self, entry: Entry) -> None:
        if entry.is_seal:
            self._seal_total = entry.index

    # -- length and seal ---------------------------------------------------------
    def __len__(self) -> int:
        if self._seal_total is not None:
            return self._seal_total
        last = self.revrange(count=1)
        if not last:
            return 0
        self.note_seal(last[-1])
        return last[-1].end

    def is_sealed(self) -> bool:
        if self._seal_total is None:
            entries = self.range(_MAX_ID_ARG, "+", count=1)
            if entries and entries[0].is_seal:
                self._seal_total = entries[0].index
        return self._seal_total is not None

    def wait_entries(self, after: int, timeout: float = 0.0) -> list[Entry]:
        """Entries after point ``after``, blocking until one comes (``timeout``
        seconds, 0 = forever); an empty list when none came."""
        block = cmd.read_streams([self.key], [after], block_ms=int(timeout * 1000))
        raw = self._conn.blocking_call(timeout, *block)
        return self._parse(raw[0][1]) if raw else []

    def wait_seal(self, timeout: float = 0.0) -> bool:
        """Block until the stream is sealed (``timeout`` seconds, 0 = forever)."""
        if self.is_sealed():
            return True
        raw = self._conn.blocking_call(timeout, *cmd.wait_seal(self.key, int(timeout * 1000)))
        if raw:
            entries = self._parse(raw[0][1])
            if entries:
                self.note_seal(entries[-1])
        return self._seal_total is not None

    @property
    def sealed_length(self) -> int | None:
        return self._seal_total

    # -- random access -----------------------------------------------------------
    def get_index(self, index: int) -> Any:
        if index < 0:
            if not self.is_sealed():
                raise IndexNotYetThereError(
                    "Negative indexes have no meaning before the stream is sealed"
                )
            index += self._seal_total
            if index < 0:
                raise IndexError("stream index out of range")
        entries = self.revrange(end=index, count=1)
        if entries and entries[0].end > index and not entries[0].is_seal:
            return self.decode(entries)[index - entries[0].index]
        # Not there: read it again with the last entry in one transaction, to
        # tell trimmed, not yet published and beyond the seal apart.
        replies = self._conn.call_many(
            [
                cmd.entries_reversed(self.key, index, count=1),
                cmd.entries_reversed(self.key, count=1),
            ],
            transaction=True,
            zero_copy=self.zero_copy,
        )
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        found, last = (self._parse(r) for r in replies)
        if not last:
            raise IndexNotYetThereError(f"Index {index} not yet published")
        last_entry = last[0]
        self.note_seal(last_entry)
        if not found:
            if index < last_entry.end:
                raise IndexNoMoreThereError(f"Index {index} has been trimmed off")
        else:
            entry = found[0]
            if entry.end > index and not entry.is_seal:
                return self.decode([entry])[index - entry.index]
        if last_entry.is_seal:
            raise IndexWontBeThereError(f"Stream is sealed, there will be no index {index}")
        raise IndexNotYetThereError(f"Index {index} not yet published")

    def get_slice(self, start: int | None, stop: int | None, step: int | None) -> Any:
        if step is not None and step <= 0:
            raise ValueError("slice step must be a positive integer")
        if (start is not None and start < 0) or (stop is not None and stop < 0):
            if not self.is_sealed():
                raise IndexNotYetThereError(
                    "Negative indexes have no meaning before the stream is sealed"
                )
        start, stop = self._resolve_bounds(start, stop)
        if stop <= start:
            return self.encoder.empty()
        sequential, self._next_start = start == self._next_start, stop
        entries = self._read_ahead_entries(start, stop) if sequential else None
        previous: list[Entry] = []
        if entries is None:
            previous, entries = self._range_ahead(start, stop, sequential)
        if not entries or entries[0].index > start:
            if previous and previous[0].end > start:
                entries.insert(0, previous[0])
                ahead = self._ahead
                if ahead and ahead[0].index == previous[0].end:
                    if isinstance(previous[0].payload, bytes):
                        ahead.insert(0, previous[0])
                    else:
                        self._ahead = []
            elif start < len(self):
                raise IndexNoMoreThereError(f"Index {start} has been trimmed off")
            else:
                return self.encoder.empty()
        data = self.decode(entries)
        offset = entries[0].index
        return data[start - offset : stop - offset : step]

    def _read_ahead_entries(self, start: int, stop: int) -> list[Entry] | None:
        """The entries read ahead that hold points ``start..stop``, if they all are."""
        ahead = self._ahead
        if not ahead or ahead[0].index > start or ahead[-1].end < stop:
            return None
        return [e for e in ahead if e.end > start and e.index < stop]

    def _range_ahead(
        self, start: int, stop: int, sequential: bool
    ) -> tuple[list[Entry], list[Entry]]:
        """The entry before ``start`` and the data entries of points ``start..stop``, in one
        round trip, and beyond ``stop`` when reading in order.

        An entry holds a batch of points: the one holding ``start`` may begin before it.
        """
        point_nbytes = self._point_nbytes
        extra = READ_AHEAD_BYTES // point_nbytes if sequential and point_nbytes else 0
        # never past the seal, nor past the last data id (an open-ended slice)
        end = MAX_STREAM_ID if self._seal_total is None else self._seal_total
        extra = max(0, min(extra, end - stop))
        points = stop - start + extra
        replies = self._conn.call_many(
            [
                cmd.entries_reversed(self.key, start, count=1),
                cmd.entries(self.key, start, stop - 1 + extra),
            ],
            zero_copy=self._zero_copy_for(points),
        )
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        previous = [e for e in self._parse(replies[0]) if not e.is_seal]
        entries = [e for e in self._parse(replies[1]) if not e.is_seal]
        # only copies are decoded twice: payloads read without copy would make
        # arrays of two slices share their memory
        consecutive = all(a.end == b.index for a, b in zip(entries, entries[1:]))
        if extra and consecutive and all(isinstance(e.payload, bytes) for e in entries):
            self._ahead = entries
        else:
            self._ahead = []
        return previous, [e for e in entries if e.index < stop]

    def _resolve_bounds(self, start: int | None, stop: int | None) -> tuple[int, int]:
        total = self._seal_total
        if start is None:
            start = 0
        elif start < 0:
            start = max(start + total, 0)
        if stop is None:
            stop = MAX_STREAM_ID
        elif stop < 0:
            stop = max(stop + total, 0)
        if total is not None:
            stop = min(stop, total)
        return start, stop

    # -- writing ------------------------------------------------------------------
    def _require_writer(self) -> StreamWriter:
        if self._writer is None:
            raise NoWritePermission(f"Stream {self.name!r} is read-only")
        return self._writer

    def resume_writer(self) -> None:
        """Publish on from where the stream stands (published, maybe sealed, by
        another process): the next index follows its last entry."""
        writer = self._require_writer()
        last = self.revrange(count=1)
        if last:
            writer.sealed = writer.sealed or last[-1].is_seal
            writer.next_index = writer.acknowledged = last[-1].end

    def send(self, data: Any) -> None:
        writer = self._require_writer()
        try:
            payload, length = self.encoder.encode(data)
        except TypeError as exc:
            raise TypeError(f"Encoding of {self.name!r}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"Encoding of {self.name!r}: {exc}") from None
        self.runtime.publisher.submit(writer, payload, length, self.encoder.concatenable)

    def join(self, timeout: float | None = None) -> None:
        writer = self._require_writer()
        self.runtime.publisher.join(writer, timeout)

    @property
    def publish_error(self) -> BaseException | None:
        """The first failure of this stream's publication (points were lost), or None."""
        return None if self._writer is None else self._writer.error

    @property
    def lost_points(self) -> int:
        """Points ``send()`` accepted that never reached the server."""
        return 0 if self._writer is None else self._writer.lost

    def seal(self) -> int:
        """Flush, seal, return the total length.

        A publication that failed earlier does not prevent the seal: the stream
        is sealed, then :attr:`publish_error` is raised.
        """
        writer = self._require_writer()
        error: PublishError | None = None
        try:
            self.runtime.publisher.join(writer)
        except PublishError as exc:
            error = exc
        writer.sealed = True
        reply = self._conn.call_many([cmd.seal(self.key)])[0]
        if isinstance(reply, Exception):
            if "already sealed" not in str(reply):
                raise PublishError(f"Sealing stream {self.name!r} failed: {reply}") from reply
            self._seal_total = None
            total = len(self)
        else:
            total = int(reply)
            self._seal_total = total
        if error is not None:
            raise error
        return total
