"""Parsing of raw Redis stream entries into data entries and seals."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import MalformedEntryError
from ..protocol import MAX_STREAM_ID


class Entry(NamedTuple):
    """A stream entry: ``length`` points starting at point ``index``.

    For the seal, ``index`` is the total number of points and ``length`` is 0,
    so ``index + length`` is always the stream length after this entry.
    """

    index: int
    length: int
    payload: bytes | memoryview | None  # memoryview: a large payload read without copy
    is_seal: bool

    @property
    def end(self) -> int:
        return self.index + self.length


def _field_map(fields: Any, stream: str | None) -> dict[bytes, Any]:
    if isinstance(fields, dict):
        return fields
    try:
        return dict(zip(fields[::2], fields[1::2]))
    except (TypeError, ValueError):  # a field name too large to be bytes (zero-copy reads)
        raise MalformedEntryError("Entry has an unhashable field name", stream) from None


def parse_entry(raw: Any, stream: str | None = None) -> Entry:
    """One entry of an XRANGE/XREAD reply: ``[id, [field, value, ...]]``."""
    raw_id, raw_fields = raw[0], raw[1]
    try:
        first = int(raw_id.split(b"-", 1)[0])
    except (ValueError, AttributeError):
        raise MalformedEntryError(f"Entry id {raw_id!r} is not <index>-<seq>", stream) from None
    if first < MAX_STREAM_ID:
        if (
            type(raw_fields) is list
            and len(raw_fields) == 4
            and raw_fields[0] == b"payload"
            and raw_fields[2] == b"len"
        ):
            payload, raw_len = raw_fields[1], raw_fields[3]  # a batch, as producers write it
        else:
            fields = _field_map(raw_fields, stream)
            payload, raw_len = fields.get(b"payload"), fields.get(b"len")
        if payload is None:
            raise MalformedEntryError("Entry has no 'payload' field", stream, first)
        if raw_len is None:
            return Entry(first, 1, payload, False)
        try:
            # ASCII digits only (PROTOCOL.md §7.1, revision 5): int() would take "+2", " 2", "2_0"
            if not (raw_len if type(raw_len) is bytes else bytes(raw_len)).isdigit():
                raise ValueError(raw_len)
            length = int(raw_len)
        except (TypeError, ValueError):
            raise MalformedEntryError(
                f"Entry 'len' {raw_len!r} is not an integer", stream, first
            ) from None
        if length < 1:
            raise MalformedEntryError(f"Entry 'len' {length} is not positive", stream, first)
        return Entry(first, length, payload, False)
    raw_total = _field_map(raw_fields, stream).get(b"id")
    try:
        if raw_total is None or not bytes(raw_total).isdigit():  # ASCII digits only (§7.1)
            raise ValueError(raw_total)
        total = int(raw_total)
    except (TypeError, ValueError):
        raise MalformedEntryError(
            f"Seal entry has no integer 'id' field ({raw_total!r})", stream
        ) from None
    if total < 0:
        raise MalformedEntryError(f"Seal entry total {total} is negative", stream)
    return Entry(total, 0, None, True)


def parse_entries(raw: Any, stream: str | None = None) -> list[Entry]:
    if not raw:
        return []
    return [parse_entry(item, stream) for item in raw]
