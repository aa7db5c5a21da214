"""The publishing path: ``send()`` queues, one background thread writes.

``send()`` only encodes and appends to a queue, so it costs microseconds.  A
single sender thread per :class:`~blissdata_core.DataStore` drains the queue
into one pipelined round trip, merging consecutive points of a stream into
batch entries (``len`` field).  While one round trip is in flight the next
batch accumulates, so batching grows with load and a lone point leaves at once.

The queue is bounded in bytes: when full, ``send()`` blocks until the server
catches up, and raises :class:`PublishQueueFull` if that takes longer than
``send_timeout``.  Failures reported by the server are raised by the next
``send``/``join``/``seal`` of the stream concerned.

Under gevent's monkey-patching (BLISS, Flint) the sender thread is a greenlet:
``send()`` then yields now and then (see :data:`GEVENT_YIELD_INTERVAL`), or a
producer that never blocks would starve it.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import protocol_commands as cmd
from ..errors import (
    PublishError,
    PublishQueueFull,
    StreamSealedError,
)
from ..resp_writer import pack_commands

#: Payloads up to this size are concatenated into batch entries.
MERGE_PAYLOAD_LIMIT = 64 * 1024
#: Upper bound of one merged entry.  An entry is read whole: a reader that wants
#: a few points of it pays for all of it, so merged entries stay small enough for
#: random access (a slice reads at most two entries it does not need whole).
MERGED_ENTRY_LIMIT = 64 * 1024
#: Upper bound of the payload bytes of one pipelined round trip.
ROUND_TRIP_LIMIT = 16 * 1024 * 1024

#: Under gevent, the longest a producer calling ``send()`` in a loop keeps the
#: CPU before it yields to the hub (its sender greenlet, readers and socket I/O);
#: gevent's own switch interval.
GEVENT_YIELD_INTERVAL = 0.005
#: libev's highest watcher priority: an idle watcher of this priority fires on the
#: next loop iteration even while other greenlets keep sockets busy.
_GEVENT_MAX_PRIORITY = 2


def _greenlet_yield() -> Any:
    """``gevent.idle`` when ``threading`` is monkey-patched (threads are greenlets), else None.

    gevent is never imported here: a process that did not import it is not patched.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return None
    import gevent

    return gevent.idle


class StreamWriter:
    """Write-side state of one stream: next index, tickets, first error."""

    __slots__ = (
        "key",
        "name",
        "next_index",
        "acknowledged",
        "last_ticket",
        "error",
        "lost",
        "sealed",
        "__weakref__",
    )

    def __init__(self, key: str, name: str, next_index: int = 0):
        self.key = key
        self.name = name
        self.next_index = next_index
        self.acknowledged = next_index  # points the server confirmed
        self.last_ticket = 0
        self.error: BaseException | None = None
        self.lost = 0  # points queued that never reached the server
        self.sealed = False


class _Item:
    __slots__ = ("writer", "index", "length", "payload", "concatenable", "ticket")

    def __init__(self, writer, index, length, payload, concatenable, ticket):
        self.writer = writer
        self.index = index
        self.length = length
        self.payload = payload
        self.concatenable = concatenable
        self.ticket = ticket


class Publisher:
    """The sender thread of one data store.  ``connect()`` opens the connection
    it sends on (a dedicated one of the store's
    :class:`~blissdata_core.connection.RedisConnection`, checked by the runtime),
    again after a failure."""

    def __init__(
        self,
        connect: Callable[[], Any],
        max_queued_bytes: int = 256 * 2**20,
        send_timeout: float = 60.0,
    ):
        self._connect = connect
        self.max_queued_bytes = max_queued_bytes
        self.send_timeout = send_timeout
        self._queue: deque[_Item] = deque()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # acks and room in the queue
        self._wake = threading.Event()
        self._idle = True
        self._queued_bytes = 0
        self._ticket = 0
        self._acked_ticket = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._conn = None
        self._yield: Any = None  # gevent.idle when the sender thread is a greenlet
        self._last_yield = 0.0
        self._switch_due = False  # the last submit woke the sender: yield at the next
        _live_publishers.add(self)

    # -- producer side -------------------------------------------------------
    def submit(self, writer: StreamWriter, payload: bytes, length: int, concatenable: bool) -> None:
        if writer.error is not None:
            raise writer.error
        if writer.sealed:
            raise StreamSealedError(f"Stream {writer.name!r} is sealed")
        size = len(payload)
        if self._yield is not None:
            self._greenlet_switch()
        with self._lock:
            if self._closed:
                raise PublishError("The data store is closed")
            if self._queued_bytes + size > self.max_queued_bytes and self._queued_bytes:
                self._wait_for_room(size)
                if writer.error is not None:
                    raise writer.error
            self._ticket += 1
            ticket = self._ticket
            self._queue.append(
                _Item(writer, writer.next_index, length, payload, concatenable, ticket)
            )
            self._queued_bytes += size
            writer.next_index += length
            writer.last_ticket = ticket
            if self._thread is None:
                self._start_thread()
            if self._idle:
                self._wake.set()
                self._switch_due = True

    def _greenlet_switch(self) -> None:
        """Let the sender greenlet run (gevent only), before anything is queued.

        A greenlet runs until it blocks, and set() is no switch: a producer
        that sends in a loop would keep the sender greenlet (and the socket
        replies it waits for, and every other greenlet) from ever running. So
        send() yields when the previous one woke the sender, and at least every
        GEVENT_YIELD_INTERVAL; a lone point leaves at the producer's next
        switch (any wait). Yielding before queuing makes an exception thrown
        into the producer there (``gevent.Timeout``, ``kill()``) leave nothing
        queued: a send() that raises sent nothing, one that returns queued its
        point. Not gevent.sleep(0): it may resume this greenlet before the
        loop polls any socket, for up to 50 such slices. A top-priority idle
        watcher resumes it after exactly one loop iteration, I/O included.
        """
        now = time.monotonic()
        if self._switch_due or now - self._last_yield >= GEVENT_YIELD_INTERVAL:
            self._switch_due = False
            self._last_yield = now
            self._yield(_GEVENT_MAX_PRIORITY)

    def _wait_for_room(self, size: int) -> None:
        if self._idle:
            self._wake.set()
        ok = self._changed.wait_for(
            lambda: self._queued_bytes + size <= self.max_queued_bytes or not self._queued_bytes,
            timeout=self.send_timeout,
        )
        if not ok:
            raise PublishQueueFull(
                f"{self._queued_bytes} bytes still wait for the server after {self.send_timeout} s "
                f"(bound {self.max_queued_bytes} bytes)"
            )

    def join(self, writer: StreamWriter | None = None, timeout: float | None = None) -> None:
        """Block until everything submitted so far (for ``writer``, or all) is acknowledged."""
        with self._lock:
            target = writer.last_ticket if writer is not None else self._ticket
            if self._acked_ticket < target and self._idle:
                self._wake.set()
            if not self._changed.wait_for(lambda: self._acked_ticket >= target, timeout=timeout):
                raise PublishError(f"Data not acknowledged by the server within {timeout} s")
        if writer is not None and writer.error is not None:
            raise writer.error

    @property
    def queued_bytes(self) -> int:
        return self._queued_bytes

    # -- sender thread -----------------------------------------------------------
    def _start_thread(self) -> None:
        self._yield = _greenlet_yield()
        self._thread = threading.Thread(target=self._run, name="blissdata-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._idle = True
            if not self._queue:
                if self._closed:
                    return
                self._wake.wait()
            self._wake.clear()
            self._idle = False
            batch = self._drain()
            if batch:
                self._send(batch)

    def _drain(self) -> list[_Item]:
        items: list[_Item] = []
        nbytes = 0
        queue = self._queue
        while queue and nbytes < ROUND_TRIP_LIMIT:
            item = queue.popleft()
            items.append(item)
            nbytes += len(item.payload)
        return items

    def _commands(
        self, items: list[_Item]
    ) -> tuple[list[tuple], list[tuple[StreamWriter, int, int]]]:
        """Group items per stream (keeping each stream's order) and merge small payloads."""
        per_writer: dict[int, list[_Item]] = {}
        for item in items:
            per_writer.setdefault(id(item.writer), []).append(item)
        commands: list[tuple] = []
        owners: list[tuple[StreamWriter, int, int]] = []
        for group in per_writer.values():
            run: list[_Item] = []
            run_bytes = 0
            for item in group:
                small = item.concatenable and len(item.payload) <= MERGE_PAYLOAD_LIMIT
                if run and (not small or run_bytes + len(item.payload) > MERGED_ENTRY_LIMIT):
                    self._emit(run, commands, owners)
                    run, run_bytes = [], 0
                if small:
                    run.append(item)
                    run_bytes += len(item.payload)
                else:
                    self._emit([item], commands, owners)
            if run:
                self._emit(run, commands, owners)
        return commands, owners

    @staticmethod
    def _emit(
        run: list[_Item], commands: list[tuple], owners: list[tuple[StreamWriter, int, int]]
    ) -> None:
        first = run[0]
        if len(run) == 1:
            payload = first.payload
            length = first.length
        else:
            payload = b"".join(item.payload for item in run)
            length = sum(item.length for item in run)
        commands.append(cmd.add_data_entry(first.writer.key, first.index, payload, length))
        owners.append((first.writer, first.index + length, length))

    def _send(self, items: list[_Item]) -> None:
        commands, owners = self._commands(items)
        nbytes = sum(len(item.payload) for item in items)
        failure: BaseException | None = None
        replies: list[Any] = []
        try:
            conn = self._connection()
            conn.send_packed_command(pack_commands(commands), check_health=False)
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            failure = exc
            self._drop_connection()
        except BaseException as exc:  # never let the sender thread die silently
            failure = exc
            self._drop_connection()
        with self._lock:
            for i, (writer, end, length) in enumerate(owners):
                reply = replies[i] if i < len(replies) else failure
                if isinstance(reply, BaseException):
                    writer.lost += length
                    if writer.error is None:
                        writer.error = PublishError(
                            f"Publishing to stream {writer.name!r} failed after {writer.acknowledged} "
                            f"acknowledged point(s): {reply}"
                        )
                        writer.error.__cause__ = reply
                else:
                    writer.acknowledged = max(writer.acknowledged, end)
            self._queued_bytes -= nbytes
            self._acked_ticket = max(self._acked_ticket, items[-1].ticket)
            if failure is not None:
                # everything still queued cannot be ordered after the lost data
                while self._queue:
                    item = self._queue.popleft()
                    self._queued_bytes -= len(item.payload)
                    item.writer.lost += item.length
                    if item.writer.error is None:
                        item.writer.error = PublishError(
                            f"Publishing to stream {item.writer.name!r} failed after "
                            f"{item.writer.acknowledged} acknowledged point(s): {failure}"
                        )
                    self._acked_ticket = max(self._acked_ticket, item.ticket)
            self._changed.notify_all()

    def _connection(self):
        if self._conn is not None and not self._usable(self._conn):
            # closed by the server while idle (restart, timeout): nothing of this
            # round trip was sent yet, so a fresh connection duplicates nothing
            self._drop_connection()
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    @staticmethod
    def _usable(conn) -> bool:
        """An idle connection has nothing to read: readable means EOF or garbage."""
        try:
            return not conn.can_read(timeout=0)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            return False

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.disconnect()
            except Exception:
                pass
            self._conn = None

    # -- shutdown ----------------------------------------------------------------
    def close(self, timeout: float | None = 30.0) -> None:
        """Flush what is queued (up to ``timeout``), then stop the sender thread."""
        try:
            if self._thread is not None:
                self.join(timeout=timeout)
        except PublishError:
            pass
        with self._lock:
            self._closed = True
            self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        self._drop_connection()


_live_publishers: weakref.WeakSet[Publisher] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    # Data a producer sent must not vanish because the interpreter exits first.
    for publisher in list(_live_publishers):
        try:
            publisher.close(timeout=30.0)
        except Exception:
            pass
