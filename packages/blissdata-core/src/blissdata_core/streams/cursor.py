"""Live reading: cursors over one stream or many, and the views they return.

A cursor remembers how far it has read.  ``read()`` returns a :class:`View`
of what arrived since, blocking if asked to, and raises
:class:`~blissdata_core.errors.EndOfStream` once everything up to the seal has
been returned.  A :class:`CursorGroup` reads many streams in one round trip
per call (pipelined XREADs), each asking for about ``READ_BYTES`` of entries.
A stream that cannot be read (its plugin is missing or broken) does not stop
a group: the group follows the others and lists it in ``skipped``; a
:class:`Cursor` over that stream alone raises its error when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import protocol_commands as cmd
from ..errors import (
    BrokenPluginException,
    EmptyViewException,
    EndOfStream,
    IndexNoMoreThereError,
    MissingPluginException,
)
from .entries import Entry, parse_entries
from .publisher import MERGE_PAYLOAD_LIMIT

if TYPE_CHECKING:
    from .event_stream import EventStream
    from .stream import BaseStream

#: Most entries fetched per stream and per read.
READ_COUNT = 100
#: Reply size a read aims at, per stream.  Entries are counted, not bytes, by
#: XREAD: each cursor sizes its COUNT from the entries it has seen, because a
#: few replies of a couple of MB are read much faster than one of 100 MB
#: (whose buffers must all be freshly allocated).
READ_BYTES = 2 * 2**20
#: Reads whose count was sized after entries of this many bytes or more are
#: received without copy (the zero-copy reader's per-entry parsing is then
#: small beside the copies it saves).
CURSOR_ZERO_COPY_PAYLOAD = 64 * 1024
#: A first read (count guessed) goes without copy when it asks for at most
#: this many entries over all its streams.
FIRST_READ_ZERO_COPY_ENTRIES = 32


@dataclass(slots=True)
class EventRange:
    """Points ``index ..`` of a stream: ``nb_expired`` trimmed ones, then ``data``."""

    index: int
    nb_expired: int
    data: Sequence[Any]
    end_of_stream: bool

    def __len__(self) -> int:
        return self.nb_expired + len(self.data)


class BaseView:
    """A contiguous run of points that a cursor read."""

    @property
    def index(self) -> int:
        raise NotImplementedError

    @property
    def last_index(self) -> int:
        return self.index + len(self) - 1

    def __len__(self) -> int:
        raise NotImplementedError

    def get_data(self, start: int | None = None, stop: int | None = None) -> Any:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self.get_data(i, i + 1)[0]


class View(BaseView):
    """The default view: points decoded from Redis entries."""

    def __init__(self, events: EventRange):
        self._events = events

    @property
    def index(self) -> int:
        return self._events.index

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[Any]:
        yield from self.get_data()

    def get_data(self, start: int | None = None, stop: int | None = None) -> Any:
        wanted = range(len(self))[start:stop]
        offset = self._events.nb_expired
        if wanted.start < offset and len(wanted):
            raise IndexNoMoreThereError(
                f"Points {self.index}..{self.index + offset - 1} were trimmed before they were read"
            )
        return self._events.data[max(wanted.start - offset, 0) : max(wanted.stop - offset, 0)]

    def __repr__(self) -> str:
        return f"View(index={self.index}, len={len(self)})"


def _count_for(entry_nbytes: float) -> int:
    return max(1, min(READ_COUNT, int(READ_BYTES / entry_nbytes)))


def _zero_copy(states: Iterable[_CursorState], count: int | None = None) -> bool:
    """Whether the reply to one read of these streams (``count`` entries each,
    or each its own count) is read without copy.

    A count is sized after the entries (about ``READ_BYTES`` a read): entries
    of ``CURSOR_ZERO_COPY_PAYLOAD`` bytes or more are received straight into
    numpy memory. Many small entries are parsed faster by hiredis (parsing is
    pure Python in the zero-copy reader), so a first read, whose count is a
    guess, goes without copy only when it asks for few entries in all: a
    single entry may then be a batch of many MB that a copy would slow down.
    """
    states = list(states)
    counts = [(count or s.count, s.sized) for s in states]
    if any(sized and n * CURSOR_ZERO_COPY_PAYLOAD <= READ_BYTES for n, sized in counts):
        return True
    guessed = sum(n for n, sized in counts if not sized)
    return 0 < guessed <= FIRST_READ_ZERO_COPY_ENTRIES


def _first_count(encoder: Any) -> int:
    """Entries of a cursor's first read, when it is an XREAD.

    Entries of larger points are at least a point each: their count is sized
    after one point. Entries of small points may hold one point or a batch of
    any size (one ``send()`` of many points, or sends merged by the
    publisher): their first read is by window (:func:`_window`), and 1 is the
    count of a blocking first read, whose entry then sizes the read that goes
    on at once in the same call (:func:`_read_on`).
    """
    point_nbytes = getattr(encoder, "point_nbytes", -1)
    if point_nbytes <= 0:
        return READ_COUNT
    if _window(encoder):
        return 1
    return _count_for(point_nbytes)


def _window(encoder: Any) -> int:
    """Points a first read takes by index (0: it does not), about ``READ_BYTES``.

    Entry ids are point indices (spec: ``<index>-1``), so for points of a fixed
    size an XRANGE over an index window bounds the reply, one entry's excess
    at most, whatever the batches: one round trip where a first XREAD of one
    entry would need a second to go on.
    """
    point_nbytes = getattr(encoder, "point_nbytes", -1)
    if point_nbytes <= 0 or not encoder.concatenable or point_nbytes > MERGE_PAYLOAD_LIMIT:
        return 0
    return max(READ_BYTES // point_nbytes, 1)


def _split(entries: list[Entry]) -> tuple[list[Entry], Entry | None]:
    if entries and entries[-1].is_seal:
        return entries[:-1], entries[-1]
    return entries, None


class _CursorState:
    """Position of one cursor in its low-level stream and in its high-level stream."""

    __slots__ = (
        "stream", "events", "ll_index", "ll_eos", "hl_index", "hl_eos", "count", "sized", "window",
    )  # fmt: skip

    def __init__(self, stream: BaseStream):
        self.stream = stream
        self.events: EventStream = stream.event_stream
        self.ll_index = 0
        self.ll_eos = False
        self.hl_index = 0
        self.hl_eos = False
        self.count = _first_count(self.events.encoder)  # entries the next XREAD asks for
        self.sized = False  # whether ``count`` was sized after entries read (not a guess)
        self.window = _window(self.events.encoder)  # points of a first read by index

    def window_command(self) -> tuple[Any, ...]:
        """XRANGE of the points ``window`` from the position on (first reads)."""
        return cmd.entries(
            self.events.key, self.ll_index, self.ll_index + self.window - 1, count=READ_COUNT
        )

    def resize(self, entries: list[Entry]) -> None:
        """Size the next read after the largest entry just read (about ``READ_BYTES``)."""
        largest = max((len(e.payload) for e in entries if not e.is_seal), default=0)
        if largest:
            self.count = _count_for(largest)
            self.sized = True

    # Turning entries into an EventRange -------------------------------------------
    def consume(self, entries: list[Entry], last_only: bool) -> EventRange:
        data_entries, seal = _split(entries)
        if seal is not None:
            self.events.note_seal(seal)
        if last_only and data_entries:
            data_entries = data_entries[-1:]
        if data_entries:
            data = self.events.decode(data_entries)
            first = data_entries[0].index
            end = data_entries[-1].end
        else:
            data = self.events.encoder.empty()
            first = end = seal.index if seal is not None else self.ll_index
        if last_only:
            if len(data) > 1:
                data = data[-1:]
                first = end - 1
            if not len(data) and seal is not None and seal.index > self.ll_index:
                # the last point exists but was trimmed
                expected, expired = seal.index - 1, 1
            else:
                expected, expired = first, 0
        else:
            expected = self.ll_index
            expired = max(first - expected, 0)
        self.ll_index = max(end, self.ll_index)
        self.ll_eos = seal is not None
        return EventRange(expected, expired, data, self.ll_eos)

    def nothing(self) -> EventRange:
        return EventRange(self.ll_index, 0, self.events.encoder.empty(), self.ll_eos)

    def make_view(self, events: EventRange, last_only: bool) -> BaseView | None:
        if len(events):
            try:
                view = self.stream.build_view(self.hl_index, events, last_only)
            except EmptyViewException:
                view = None
            if view is not None:
                self.hl_index = view.index + len(view)
                return view
        if events.end_of_stream:
            self.hl_eos = True
        return None


def _read_last_entries(states: list[_CursorState]) -> dict[_CursorState, list[Entry]]:
    """The last entry of each stream, plus the one before when the last is the seal."""
    if not states:
        return {}
    conn = states[0].events.runtime.conn
    zero_copy = _zero_copy(states)
    replies = conn.call_many(
        [cmd.entries_reversed(s.events.key, "+", s.ll_index, count=1) for s in states],
        zero_copy=zero_copy,
    )
    found: dict[_CursorState, list[Entry]] = {}
    need_previous = []
    for state, reply in zip(states, replies):
        if isinstance(reply, Exception):
            raise reply
        entries = parse_entries(reply, state.events.name)
        found[state] = entries
        if entries and entries[0].is_seal and entries[0].index > state.ll_index:
            need_previous.append(state)
    if need_previous:
        replies = conn.call_many(
            [
                cmd.entries_reversed(s.events.key, found[s][0].index - 1, s.ll_index, count=1)
                for s in need_previous
            ],
            zero_copy=zero_copy,
        )
        for state, reply in zip(need_previous, replies):
            if isinstance(reply, Exception):
                raise reply
            found[state] = parse_entries(reply, state.events.name) + found[state]
    return found


def _xread_command(
    states: list[_CursorState], count: int, block_s: float | None, starts: list[int] | None = None
) -> tuple[Any, ...]:
    """XREAD of ``states`` after their positions (or after point ``starts``)."""
    return cmd.read_streams(
        [s.events.key for s in states],
        [s.ll_index for s in states] if starts is None else starts,
        count=count,
        block_ms=None if block_s is None else int(block_s * 1000),
    )


def _parse_xread(raw: Any, states: list[_CursorState]) -> dict[_CursorState, list[Entry]]:
    by_key = {s.events.key: s for s in states}
    out: dict[_CursorState, list[Entry]] = {}
    for raw_key, raw_entries in raw or ():
        key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
        state = by_key[key]
        out[state] = parse_entries(raw_entries, state.events.name)
    return out


def _read_on(conn: Any, found: dict[_CursorState, list[Entry]], asked: dict) -> None:
    """Where a full reply held entries smaller than expected, read on with the count they call for.

    So a first read stays small when entries are big merged batches, and still
    returns up to ``READ_COUNT`` entries when they are single points.
    """
    grown = [
        s
        for s, entries in found.items()
        if len(entries) >= asked[s] and s.count > asked[s] and not entries[-1].is_seal
    ]
    if not grown:
        return
    replies = conn.call_many(
        [_xread_command([s], s.count, None, [found[s][-1].end]) for s in grown],
        zero_copy=_zero_copy(grown),
    )
    for state, reply in zip(grown, replies):
        if isinstance(reply, Exception):
            raise reply
        more = _parse_xread(reply, [state]).get(state, [])
        if more:
            found[state] += more
            state.resize(more)


def _read_windows(
    conn: Any, states: list[_CursorState], others: list[_CursorState]
) -> dict[_CursorState, list[Entry]]:
    """First reads by index window of ``states``, pipelined with XREADs of ``others``.

    The seal, whose id is past every window, is asked for first: once it is
    seen no data entry can follow it, so a stream read whole in its window
    ends in the same round trip. A stream whose window is empty (no entry yet,
    or its first points were trimmed past the window) is read on by XREAD
    from its position. Only XRANGE and XREAD: the consumer ACL rules of the
    spec (§13) allow them.
    """
    by_count: dict[int, list[_CursorState]] = {}
    for state in others:
        by_count.setdefault(state.count, []).append(state)
    commands = [
        command
        for s in states
        for command in (cmd.seal_entry(s.events.key), s.window_command())
    ]  # fmt: skip
    commands += [_xread_command(group, count, None) for count, group in by_count.items()]
    replies = conn.call_many(commands, zero_copy=_zero_copy([*states, *others]))
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    out: dict[_CursorState, list[Entry]] = {}
    beyond = []
    for i, state in enumerate(states):
        sealed = parse_entries(replies[2 * i], state.events.name)
        entries = parse_entries(replies[2 * i + 1], state.events.name)
        if entries:
            if sealed and entries[-1].end == sealed[0].index:  # the last data entry
                entries += sealed
            out[state] = entries
        elif sealed and sealed[0].index == state.ll_index:  # nothing after the position
            out[state] = sealed
        else:
            beyond.append(state)
    asked = {s: s.count for s in others}
    for raw in replies[2 * len(states) :]:
        out.update(_parse_xread(raw, others))
    if beyond:
        asked.update((s, s.count) for s in beyond)
        reply = conn.call(*_xread_command(beyond, 1, None), zero_copy=_zero_copy(beyond))
        out.update(_parse_xread(reply, beyond))
    for state, entries in out.items():
        state.resize(entries)
    _read_on(conn, {s: e for s, e in out.items() if s in asked}, asked)
    return out


def _xread(states: list[_CursorState], block_s: float | None) -> dict[_CursorState, list[Entry]]:
    """Read every stream from each cursor's position, in one round trip when possible.

    XREAD has one COUNT for all its streams: streams wanting different counts
    (small entries and frames, say) are read by one pipelined XREAD per count.
    Blocking needs a single command: it is sent, with the smallest count, only
    when the pipelined reads found nothing.
    """
    if not states:
        return {}
    conn = states[0].events.runtime.conn
    windowed: list[_CursorState] = []  # first reads by index window
    others: list[_CursorState] = []
    for state in states:
        (windowed if state.window and not state.sized else others).append(state)
    if windowed:
        out = _read_windows(conn, windowed, others)
        if out or block_s is None:
            return out
        replies, asked = _blocking_xread(conn, states, block_s)
    else:
        replies, asked = _xread_by_count(conn, states, block_s)
    out = {}
    for raw in replies:
        out.update(_parse_xread(raw, states))
    for state, entries in out.items():
        state.resize(entries)
    _read_on(conn, out, asked)
    return out


def _xread_by_count(
    conn: Any, states: list[_CursorState], block_s: float | None
) -> tuple[list[Any], dict[_CursorState, int]]:
    """Raw XREAD replies of ``states`` and the count asked of each."""
    by_count: dict[int, list[_CursorState]] = {}
    for state in states:
        by_count.setdefault(state.count, []).append(state)
    asked = {s: s.count for s in states}
    if len(by_count) == 1:
        count = states[0].count
        command = _xread_command(states, count, block_s)
        zero_copy = _zero_copy(states)
        replies = [
            conn.call(*command, zero_copy=zero_copy)
            if block_s is None
            else conn.blocking_call(block_s, *command, zero_copy=zero_copy)
        ]
        return replies, asked
    replies = conn.call_many(
        [_xread_command(group, count, None) for count, group in by_count.items()],
        zero_copy=_zero_copy(states),
    )
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    if block_s is not None and not any(replies):
        return _blocking_xread(conn, states, block_s)
    return replies, asked


def _blocking_xread(
    conn: Any, states: list[_CursorState], block_s: float
) -> tuple[list[Any], dict[_CursorState, int]]:
    """One XREAD of every stream that blocks (a single command can), with the smallest count."""
    count = min(s.count for s in states)
    command = _xread_command(states, count, block_s)
    reply = conn.blocking_call(block_s, *command, zero_copy=_zero_copy(states, count))
    return [reply], dict.fromkeys(states, count)


class CursorGroup:
    """Reads many streams together; a ``read()`` is usually one round trip to Redis."""

    def __init__(self, streams: Iterable[BaseStream] | Mapping[Any, BaseStream]):
        if isinstance(streams, Mapping):
            streams = streams.values()
        self._active: dict[str, _CursorState] = {}
        self._done: dict[str, _CursorState] = {}
        self._skipped: dict[BaseStream, BaseException] = {}
        for stream in streams:
            try:
                state = _CursorState(stream)
            except (MissingPluginException, BrokenPluginException) as exc:
                self._skipped[stream] = exc
                continue
            self._active[stream.key] = state
        stores = {id(s.events.runtime) for s in self._active.values()}
        if len(stores) > 1:
            raise ValueError("A CursorGroup reads streams of a single data store")

    @property
    def skipped(self) -> dict[BaseStream, BaseException]:
        """Streams this group does not follow, each with the error reading it raises."""
        return dict(self._skipped)

    @property
    def position(self) -> dict[BaseStream, int]:
        return {s.stream: s.hl_index for s in (*self._active.values(), *self._done.values())}

    def read(
        self, block: bool = True, timeout: float = 0, last_only: bool = False
    ) -> dict[BaseStream, BaseView]:
        """New data of every stream: ``{stream: view}``, only streams with news.

        ``block`` waits for at least one view (``timeout`` seconds, 0 = forever);
        raises :class:`EndOfStream` once every stream was read to its seal.
        """
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        if not self._active:
            raise EndOfStream("All streams have been read to the end")
        views: dict[BaseStream, BaseView] = {}
        states = list(self._active.values())
        last_states = [s for s in states if s.stream.need_last_only(last_only) and not s.ll_eos]
        if last_states:
            for state, entries in _read_last_entries(last_states).items():
                self._collect(
                    state,
                    state.consume(entries, True) if entries else state.nothing(),
                    last_only,
                    views,
                )
        if views or not block:
            rest = [s for s in self._active.values() if s not in last_states]
            self._read_next(rest, None, last_only, views)
        else:
            self._read_next(list(self._active.values()), timeout, last_only, views)
        if not views and not self._active:
            raise EndOfStream("All streams have been read to the end")
        return views

    def _read_next(
        self, states: list[_CursorState], timeout: float | None, last_only: bool, views: dict
    ) -> None:
        while True:
            live = [s for s in states if not s.ll_eos]
            found = _xread(live, timeout) if live else {}
            for state in states:
                if state.stream.key not in self._active:
                    continue
                entries = found.get(state)
                if entries:
                    events = state.consume(entries, state.stream.need_last_only(last_only))
                else:
                    events = state.nothing()
                self._collect(state, events, last_only, views)
            # a blocking read that only saw events making no view waits again
            if views or timeout != 0 or not self._active or not found:
                return
            states = list(self._active.values())

    def _collect(
        self, state: _CursorState, events: EventRange, last_only: bool, views: dict
    ) -> None:
        view = state.make_view(events, last_only)
        if view is not None:
            views[state.stream] = view
        elif state.hl_eos:
            self._done[state.stream.key] = self._active.pop(state.stream.key)


class Cursor:
    """Reads one stream from its first point on."""

    def __init__(self, stream: BaseStream):
        self._group = CursorGroup([stream])
        self._stream = stream
        self._error = self._group.skipped.get(stream)

    @property
    def position(self) -> int:
        return self._group.position.get(self._stream, 0)

    def read(
        self, block: bool = True, timeout: float = 0, last_only: bool = False
    ) -> BaseView | None:
        """New points as a view, ``None`` when nothing arrived (non-blocking or timeout)."""
        if self._error is not None:
            raise self._error
        views = self._group.read(block=block, timeout=timeout, last_only=last_only)
        return views.get(self._stream)
