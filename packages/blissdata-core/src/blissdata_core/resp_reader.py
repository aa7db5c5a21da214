"""A RESP2 reply reader that receives large bulk strings straight into numpy memory.

redis-py with hiredis copies a payload three times before the caller sees it
(socket -> redis-py buffer -> hiredis buffer -> a new ``bytes``).  This reader
receives every bulk string of at least :data:`LARGE_BULK` bytes with
``recv_into`` directly into an :class:`Arena` and returns it as a writable
``memoryview`` of that memory: one copy, done by the kernel.  The large bulks
of one reply are placed one after the other, so a decoder can wrap the
payloads of consecutive entries in a single array without copying them.

Smaller values go through a small receive buffer and come back as ``bytes``
(entry ids and field names stay hashable), like redis-py's parsers.  Parsing
is pure Python: it pays off for replies of large payloads; replies of many
small values are read faster by hiredis.
"""

from __future__ import annotations

import select
import socket
import sys
from typing import Any

import numpy as np
from redis._parsers import BaseParser

from .errors import RespProtocolError, ServerConnectionError

#: Bulk strings of at least this many bytes are received into the arena.
LARGE_BULK = 16 * 1024
#: Most bytes received at once into the small buffer.
RECV_SIZE = 64 * 1024
#: Bytes received into the small buffer right after a large bulk: the few
#: fields between two payloads, without pulling much of the next payload
#: through the small buffer.
RECV_AFTER_LARGE = 4096
#: Longest line (a header, simple string or error) accepted: a server sending
#: endless bytes without CRLF must not fill the memory.
MAX_LINE = 2**20
#: Largest arena chunk reserved ahead of need (untouched memory costs nothing
#: until written, but a chunk lives as long as any payload pointing into it).
MAX_RESERVE = 64 * 2**20
#: Chunks up to this size are kept for reuse (larger ones would hold too much
#: memory while unused).
SPARE_MAX = 16 * 2**20
#: How many chunks are kept: a caller usually still holds the data of the
#: last reply while reading the next one.
SPARES = 2

_CRLF = b"\r\n"


class Arena:
    """Writable memory handed out in consecutive slices.

    A chunk is never resized (payloads handed out point into it): when the
    next slice does not fit, a new chunk is started.  Slices are not padded:
    a chunk starts aligned, so the payloads of the first stream in it are
    aligned for their dtype (a decoder copies misaligned ones).

    Fresh memory costs a page fault per page written, about as much as a
    copy: the last chunks left are kept and used again once nothing points
    into them any more (their reference count says so).  Chunk sizes are
    powers of two, so that a kept one fits the next reply more often.
    """

    __slots__ = ("_chunk", "_view", "_pos", "_size", "_spares")

    def __init__(self) -> None:
        self._chunk: np.ndarray | None = None
        self._view: memoryview | None = None
        self._pos = 0
        self._size = 0
        self._spares: list[np.ndarray] = []

    def reset(self) -> None:
        """Start the next slice in a new chunk (so a reply never pins an older one)."""
        chunk = self._chunk
        self._chunk = self._view = None
        self._pos = self._size = 0
        if chunk is not None and chunk.nbytes <= SPARE_MAX:
            self._spares = [chunk, *self._spares[: SPARES - 1]]

    def take(self, nbytes: int, reserve: int = 0, extra: int = 0) -> memoryview:
        """A writable slice of ``nbytes``; a new chunk holds at least ``reserve`` bytes.

        The slice is followed by up to ``extra`` more bytes of the chunk when it
        has room: scratch space, not handed out (the next slice starts there).
        """
        pos = self._pos
        if self._view is None or pos + nbytes > self._size:
            self.reset()
            size = max(nbytes, min(reserve, MAX_RESERVE))
            size = 1 << (size - 1).bit_length()
            chunk = self._reuse(size)
            if chunk is None:
                chunk = np.empty(size, np.uint8)
            self._chunk = chunk
            self._view = memoryview(chunk)
            self._size = chunk.nbytes
            pos = 0
        self._pos = pos + nbytes
        return self._view[pos : min(pos + nbytes + extra, self._size)]

    def _reuse(self, size: int) -> np.ndarray | None:
        """A kept chunk of at least ``size`` bytes (and not much more) nothing points into."""
        spares = self._spares
        for i in range(len(spares)):  # (enumerate's tuple would hold a reference)
            chunk = spares[i]
            # held by the list, ``chunk`` and getrefcount's argument: nothing else
            if size <= chunk.nbytes <= 8 * size and sys.getrefcount(chunk) <= 3:
                del spares[i]
                return chunk
        return None


class RespReader:
    """Reads RESP2 replies from one connected socket (TCP, unix or TLS).

    Bulk strings come back as ``bytes`` (or writable ``memoryview`` from
    :data:`LARGE_BULK` bytes on), integers as ``int``, simple strings as
    ``bytes``, nulls as ``None`` and error replies as exception instances
    (the classes redis-py would raise).  Socket failures, the end of the
    stream and protocol violations raise :class:`ServerConnectionError`;
    after any exception the reader (and its connection) must be dropped.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._data = b""
        self._pos = 0
        self._recv_size = RECV_SIZE
        self._arena = Arena()

    # -- public ---------------------------------------------------------------
    def read(self) -> Any:
        """The next reply (blocks within the socket's timeout)."""
        self._arena.reset()
        return self._value(1)

    def read_many(self, count: int) -> list[Any]:
        """The next ``count`` replies, which must be all the bytes the server sent."""
        replies = [self.read() for _ in range(count)]
        self.finish()
        return replies

    def finish(self) -> None:
        """Check that no byte is left after the replies read (else the connection is out of step)."""
        if self._pos < len(self._data):
            left = len(self._data) - self._pos
            self._data, self._pos = b"", 0
            raise RespProtocolError(f"{left} unexpected byte(s) after the last reply")
        self._data, self._pos = b"", 0

    def wait(self, timeout: float | None) -> bool:
        """Whether a reply can be read within ``timeout`` seconds (None: forever)."""
        if self._pos < len(self._data):
            return True
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        try:
            return bool(poller.poll(None if timeout is None else max(0.0, timeout) * 1000))
        except (OSError, ValueError) as exc:
            raise ServerConnectionError(f"Error waiting on the socket: {exc}") from exc

    # -- socket -----------------------------------------------------------------
    def _recv(self, nbytes: int) -> bytes:
        try:
            chunk = self.sock.recv(nbytes)
        except TimeoutError as exc:
            raise ServerConnectionError("Timeout reading from the server") from exc
        except OSError as exc:
            raise ServerConnectionError(f"Error reading from the server: {exc}") from exc
        if not chunk:
            raise ServerConnectionError("Connection closed by the server")
        return chunk

    def _recv_into(self, view: memoryview) -> int:
        try:
            got = self.sock.recv_into(view, len(view))
        except TimeoutError as exc:
            raise ServerConnectionError("Timeout reading from the server") from exc
        except OSError as exc:
            raise ServerConnectionError(f"Error reading from the server: {exc}") from exc
        if not got:
            raise ServerConnectionError("Connection closed by the server")
        return got

    def _fill(self) -> None:
        """Append received bytes to what is left of the small buffer."""
        chunk = self._recv(self._recv_size)
        self._recv_size = min(RECV_SIZE, self._recv_size * 2)
        if self._pos < len(self._data):
            self._data = self._data[self._pos :] + chunk
        else:
            self._data = chunk
        self._pos = 0

    # -- parsing -----------------------------------------------------------------
    def _line(self) -> bytes:
        end = self._data.find(_CRLF, self._pos)
        while end < 0:
            searched = len(self._data) - self._pos
            if searched > MAX_LINE:
                raise RespProtocolError(f"No CRLF in {searched} bytes")
            self._fill()
            end = self._data.find(_CRLF, max(0, searched - 1))
        line = self._data[self._pos : end]
        self._pos = end + 2
        return line

    def _value(self, hint: int) -> Any:
        """One value; ``hint`` is how many large bulks may follow (sizes the arena)."""
        line = self._line()
        kind = line[:1]
        if kind == b"$":
            size = self._int(line)
            if size < 0:
                return self._null(size)
            if size >= LARGE_BULK:
                return self._large(size, hint)
            return self._small(size)
        if kind == b"*":
            count = self._int(line)
            if count < 0:
                return self._null(count)
            return self._array(count, hint)
        if kind == b":":
            return self._int(line)
        if kind == b"+":
            return line[1:]
        if kind == b"-":
            return BaseParser.parse_error(line[1:].decode("utf-8", "replace"))
        raise RespProtocolError(f"Not a RESP2 reply: {line[:40]!r}")

    def _array(self, count: int, hint: int) -> list[Any]:
        # Bulk strings and arrays whose header is already in the buffer (most
        # elements of a stream reply) are dispatched inline; anything else
        # (nulls, incomplete headers, errors...) goes through _value.  The
        # hint passed on counts the elements left, at least.
        out: list[Any] = []
        append = out.append
        for i in range(count):
            data = self._data
            pos = self._pos
            end = data.find(_CRLF, pos)
            if end > pos:
                kind = data[pos]
                if kind == 36 or kind == 42:  # b"$", b"*"
                    try:
                        size = int(data[pos + 1 : end])
                    except ValueError:
                        size = -1
                    if size >= 0:
                        start = end + 2
                        if kind == 36 and size < LARGE_BULK:
                            stop = start + size
                            if data[stop : stop + 2] == _CRLF:
                                append(data[start:stop])
                                self._pos = stop + 2
                                continue
                        else:
                            self._pos = start
                            left = count - i
                            if kind == 42:
                                append(self._array(size, hint if hint > left else left))
                            else:
                                append(self._large(size, hint if hint > left else left))
                            continue
            left = count - i
            append(self._value(hint if hint > left else left))
        return out

    @staticmethod
    def _int(line: bytes) -> int:
        try:
            return int(line[1:])
        except ValueError:
            raise RespProtocolError(f"Not a RESP2 integer: {line[:40]!r}") from None

    @staticmethod
    def _null(size: int) -> None:
        if size != -1:
            raise RespProtocolError(f"Negative RESP2 length {size}")
        return None

    def _small(self, size: int) -> bytes:
        stop = self._pos + size
        while stop + 2 > len(self._data):
            self._fill()
            stop = self._pos + size
        if self._data[stop : stop + 2] != _CRLF:
            raise RespProtocolError("Bulk string not terminated by CRLF")
        value = self._data[self._pos : stop]
        self._pos = stop + 2
        return value

    def _large(self, size: int, hint: int) -> memoryview:
        # received with up to RECV_AFTER_LARGE bytes more (the fields after
        # it), moved to the small buffer: one system call less per payload
        view = self._arena.take(size, 2 * size * hint, RECV_AFTER_LARGE)
        have = min(len(self._data) - self._pos, size)
        if have > 0:
            view[:have] = memoryview(self._data)[self._pos : self._pos + have]
            self._pos += have
        if have < size:
            while have < size:
                have += self._recv_into(view[have:])
            self._data = bytes(view[size:have])  # the small buffer was used up
            self._pos = 0
        self._recv_size = RECV_AFTER_LARGE
        view = view[:size]
        while len(self._data) - self._pos < 2:
            self._fill()
        if self._data[self._pos : self._pos + 2] != _CRLF:
            raise RespProtocolError("Bulk string not terminated by CRLF")
        self._pos += 2
        return view
