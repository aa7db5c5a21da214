"""Redis connections: URL parsing, raw commands and blocking reads with real timeouts.

Reads go through :class:`RedisConnection.call`, which returns the server's
reply as parsed RESP (no redis-py response callbacks): stream entries stay
lists of bytes, which is what the decoders want and the fastest form.
Blocking reads wait on the socket themselves, so a stalled server (paused,
unreachable) cannot hold a caller past its timeout.

With ``zero_copy=True`` the replies are read by a
:class:`~blissdata_core.resp_reader.RespReader` on the connection's socket
instead of redis-py's parser: large payloads come back as writable views of
the memory the kernel wrote them into.  Callers ask for it where payloads are
expected to be large (hiredis parses replies of many small values faster).
"""

from __future__ import annotations

import inspect
import os
import re
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import BlissdataError, NoWritePermission, PublishError, ServerConnectionError
from .resp_reader import RespReader
from .resp_writer import pack_commands

#: Socket timeout for ordinary commands: a server that answers nothing for
#: this long is treated as gone.
DEFAULT_SOCKET_TIMEOUT = 30.0
#: Extra time granted to a blocking read beyond its own timeout.
BLOCKING_GRACE = 5.0


def blocking_grace(block_s: float) -> float:
    """Client-side slack for a blocking read of ``block_s`` seconds: enough for a
    busy server to answer, small enough that a stalled one is noticed soon."""
    return min(BLOCKING_GRACE, 1.0 + block_s / 2)


def _pool_getter(pool: Any) -> Callable[[], Any]:
    """``pool.get_connection`` across redis-py versions (the command name
    argument was required before 5.3 and is deprecated after)."""
    try:
        required = inspect.signature(pool.get_connection).parameters["command_name"].default
    except (KeyError, ValueError, TypeError):
        return pool.get_connection
    if required is inspect.Parameter.empty:
        return lambda: pool.get_connection("_")
    return pool.get_connection


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")


def sentinel_client(
    url: str, redis_class: type[redis.Redis] = redis.Redis, **options: Any
) -> redis.Redis:
    """A client of the server Sentinel names for a service.

    ``redis+sentinel://[user:password@]host:port[,host:port...]/SERVICE[?role=replica]``
    (``rediss+sentinel`` for TLS): the sentinels to ask, the monitored
    service, the primary unless ``role=replica``.  The password is the data
    servers'; the sentinels are asked without one.  After a failover the
    client's next connection goes to the server Sentinel names then.
    """
    from urllib.parse import parse_qs, unquote, urlsplit

    from redis.sentinel import Sentinel

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    hosts = netloc[-1]
    service = parts.path.strip("/")
    if not hosts or not service:
        raise ValueError(
            f"Invalid Sentinel URL {redact_url(url)!r}: "
            "redis+sentinel://[user:password@]host:port[,host:port]/SERVICE"
        )
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        sentinels.append((host or item, int(port) if host else 26379))
    if len(netloc) == 2:
        user, _, password = netloc[0].partition(":")
        if user:
            options.setdefault("username", unquote(user))
        if password:
            options.setdefault("password", unquote(password))
    if parts.scheme.startswith("rediss"):
        options.setdefault("ssl", True)
    role = parse_qs(parts.query).get("role", ["master"])[0]
    sentinel_options = {
        k: options[k] for k in ("socket_timeout", "socket_connect_timeout") if k in options
    }
    manager = Sentinel(sentinels, sentinel_kwargs=sentinel_options, **options)
    if role in ("replica", "slave"):
        return manager.slave_for(service, redis_class=redis_class)
    return manager.master_for(service, redis_class=redis_class)


class ReadOnlyPipeline(redis.client.Pipeline):
    """A pipeline of a :class:`ReadOnlyRedis`: writes are refused as they are queued."""

    read_only_url = ""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        check_read_only(self.read_only_url, (args,))
        return super().execute_command(*args, **options)


class ReadOnlyRedis(redis.Redis):
    """The redis-py client of a read-only store (``DataStore.redis``): tools using
    it meet the same allow-list as the data path, so a write never reaches a
    replica (or a primary the consumer should not touch)."""

    read_only_url = ""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        check_read_only(self.read_only_url, (args,))
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> ReadOnlyPipeline:
        pipe = ReadOnlyPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.read_only_url = self.read_only_url
        return pipe


def make_client(url: str, *, read_only: bool = False, **options: Any) -> redis.Redis:
    """A redis-py client of ``url``; with ``read_only`` a :class:`ReadOnlyRedis`."""
    options.setdefault("socket_timeout", DEFAULT_SOCKET_TIMEOUT)
    options.setdefault("socket_connect_timeout", 5.0)
    options.setdefault("health_check_interval", 0)
    # RESP2 everywhere: the raw replies the data path parses have one shape
    # whatever the redis-py default (RESP3 from redis-py 8 on).
    options.setdefault("protocol", 2)
    redis_class = ReadOnlyRedis if read_only else redis.Redis
    if url.startswith(SENTINEL_SCHEMES):
        client = sentinel_client(url, redis_class=redis_class, **options)
    else:
        try:
            client = redis_class.from_url(url, **options)
        except ValueError as exc:
            raise ValueError(f"Invalid Redis URL {redact_url(url)!r}: {exc}") from exc
    if read_only:
        client.read_only_url = redact_url(url)
    return client


#: The zero-copy reader of each redis-py connection that has one (its buffers are reused).
_READERS: weakref.WeakKeyDictionary[Any, RespReader] = weakref.WeakKeyDictionary()


def _reader(conn: Any) -> RespReader:
    """The zero-copy reader of ``conn``'s current socket (a new one after a reconnection)."""
    # redis-py has no public accessor of a connection's socket
    sock = conn._sock
    reader = _READERS.get(conn)
    if reader is None or reader.sock is not sock:
        if sock is None:
            raise RedisConnectionError("Not connected")
        reader = _READERS[conn] = RespReader(sock)
    return reader


def _disconnect(conn: Any) -> None:
    _READERS.pop(conn, None)
    conn.disconnect()


def _raise_error_reply(reply: Any) -> Any:
    """A top-level error reply raises, as redis-py's ``read_response`` does."""
    if isinstance(reply, Exception):
        raise reply
    return reply


def _refused(url: str, exc: Exception) -> BlissdataError:
    """A refused write as a blissdata error: NOPERM (e.g. a read-only ACL user)
    or OOM (the server is at its ``maxmemory``)."""
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        error: BlissdataError = PublishError(
            f"Redis at {redact_url(url)} is out of memory (maxmemory) and refused a write: {exc}"
        )
    else:
        error = NoWritePermission(f"Redis at {redact_url(url)} refused the command: {exc}")
    error.__cause__ = exc
    return error


def _switched(url: str, exc: Exception) -> Exception:
    """A reply telling that the server changed role (UNBLOCKED: a replica promoted
    or re-pointed, e.g. by Sentinel; MASTERDOWN: a replica without its primary)
    as a :class:`ServerConnectionError`: the command was not done, read again."""
    text = str(exc)
    if text.startswith(("UNBLOCKED", "MASTERDOWN")) or isinstance(
        exc, redis.exceptions.MasterDownError
    ):
        return ServerConnectionError(
            f"Redis at {redact_url(url)} changed role or lost its primary ({text}): "
            "nothing was read, read again"
        )
    return exc


_REFUSED = (
    redis.exceptions.NoPermissionError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,  # a write sent to a replica
)

#: What a read-only connection may send: every other command is refused on the
#: client side, before it reaches the server (an allow-list, so that a command
#: nobody thought of is refused rather than written to a replica).
READ_COMMANDS = frozenset(
    """GET MGET STRLEN GETRANGE EXISTS TYPE TTL PTTL SCAN KEYS DBSIZE
    JSON.GET JSON.MGET JSON.TYPE JSON.OBJKEYS JSON.OBJLEN JSON.STRLEN JSON.ARRLEN
    XREAD XRANGE XREVRANGE XLEN XINFO
    FT.SEARCH FT.AGGREGATE FT.INFO FT._LIST FT.PROFILE FT.EXPLAIN
    FCALL_RO EVAL_RO EVALSHA_RO
    INFO PING ECHO TIME ROLE MEMORY MULTI EXEC DISCARD WATCH UNWATCH READONLY
    HELLO AUTH SELECT CLIENT""".split()
)
#: Commands that only read with these subcommands.
READ_SUBCOMMANDS = {
    "CONFIG": {"GET"},
    "FT.CONFIG": {"GET", "HELP"},
    "FUNCTION": {"LIST", "DUMP", "STATS"},
    "MODULE": {"LIST"},
}


def _name(arg: Any) -> str:
    return (arg.decode() if isinstance(arg, (bytes, bytearray)) else str(arg)).upper()


def check_read_only(url: str, commands: Any) -> None:
    """Raise :class:`NoWritePermission` unless every command only reads."""
    for command in commands:
        name = _name(command[0]) if command else ""
        if name in READ_COMMANDS:
            continue
        allowed = READ_SUBCOMMANDS.get(name)
        if allowed is not None and len(command) > 1 and _name(command[1]) in allowed:
            continue
        raise NoWritePermission(
            f"{name or 'an empty command'} refused: the connection to {redact_url(url)} "
            "is read-only (a consumer's store, e.g. on a replica)"
        )


class RedisConnection:
    """A redis-py client plus raw-reply helpers used by the data path."""

    def __init__(self, url: str, *, read_only: bool = False, **options: Any):
        self.url = url
        #: Writes are refused here, before they reach the server.
        self.read_only = read_only
        #: The server is the one Sentinel names (looked up at each connection).
        self.sentinel = url.startswith(SENTINEL_SCHEMES)
        self.client = make_client(url, read_only=read_only, **options)
        self.pool = self.client.connection_pool
        self._get_connection = _pool_getter(self.pool)
        # Connections between two commands of the data path.  Taking one from
        # here instead of the pool saves the pool's bookkeeping, which costs
        # about a quarter of a small command's round trip.  A connection goes
        # back here only in step with the server (otherwise it is disconnected).
        self._idle: list[Any] = []
        self._pid = os.getpid()

    def _get(self) -> Any:
        if self._pid != os.getpid():  # forked: the sockets belong to the parent
            self._idle = []
            self._pid = os.getpid()
        try:
            conn = self._idle.pop()
        except IndexError:
            pass
        else:
            # readable while idle: closed by the server (restarted, timed out);
            # drop the socket, the next command reconnects (or reports the failure)
            try:
                if conn.can_read():
                    _disconnect(conn)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                _disconnect(conn)
            if conn._sock is None:
                # through connect(): redis-py's own reconnection at send skips the
                # Sentinel lookup of a SentinelManagedConnection
                try:
                    conn.connect()
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    self._idle.append(conn)
                    raise ServerConnectionError(
                        f"Cannot reach Redis at {redact_url(self.url)}: {exc}"
                    ) from exc
            return conn
        try:
            return self._get_connection()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise ServerConnectionError(
                f"Cannot reach Redis at {redact_url(self.url)}: {exc}"
            ) from exc

    def _release(self, conn: Any) -> None:
        self._idle.append(conn)

    def dedicated_connection(self) -> Any:
        """A new redis-py connection of the pool, for one caller to keep (the
        publisher's sender thread), which disconnects it; it connects at its
        first command."""
        if self.read_only:
            raise NoWritePermission(
                f"the connection to {redact_url(self.url)} is read-only: it publishes nothing"
            )
        conn = self.pool.make_connection()
        if self.sentinel:
            conn.connect()  # the Sentinel lookup happens in connect() only
        return conn

    def call(self, *args: Any, zero_copy: bool = False) -> Any:
        """Run one command; the reply is raw RESP (large payloads as writable
        memoryviews with ``zero_copy``)."""
        if self.read_only:
            check_read_only(self.url, (args,))
        conn = self._get()
        try:
            conn.send_packed_command(pack_commands((args,)))
            if zero_copy:
                return _raise_error_reply(_reader(conn).read_many(1)[0])
            return conn.read_response()
        except _REFUSED as exc:
            raise _refused(self.url, exc) from exc
        except redis.ResponseError as exc:  # an error reply: the connection is still in step
            switched = _switched(self.url, exc)
            if switched is exc:
                raise
            raise switched from exc
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            _disconnect(conn)
            raise ServerConnectionError(f"Redis at {redact_url(self.url)} failed: {exc}") from exc
        except BaseException:
            _disconnect(conn)  # interrupted before the reply was read: never reuse it
            raise
        finally:
            self._release(conn)

    def call_many(
        self, commands: list[tuple[Any, ...]], transaction: bool = False, zero_copy: bool = False
    ) -> list[Any]:
        """Pipeline several commands in one round trip; replies are raw RESP.

        An error reply is returned in place (as the exception object) so the
        caller decides what it means.
        """
        if not commands:
            return []
        if self.read_only:
            check_read_only(self.url, commands)
        conn = self._get()
        try:
            seq = list(commands)
            if transaction:
                seq = [("MULTI",), *seq, ("EXEC",)]
            conn.send_packed_command(pack_commands(seq))
            if zero_copy:
                replies = _reader(conn).read_many(len(seq))
                for reply in replies:
                    if isinstance(reply, Exception) and not isinstance(reply, redis.ResponseError):
                        raise reply  # e.g. LOADING: a connection error in redis-py
            else:
                replies = []
                for _ in seq:
                    try:
                        replies.append(conn.read_response())
                    except redis.ResponseError as exc:
                        replies.append(exc)
            if transaction:
                result = replies[-1]
                if isinstance(result, Exception):
                    for reply in replies:
                        if isinstance(reply, _REFUSED):
                            raise _refused(self.url, reply)
                    raise result
                if result is None:
                    raise ServerConnectionError("Transaction aborted by the server")
                return [
                    redis.ResponseError(str(r)) if isinstance(r, Exception) else r for r in result
                ]
            return replies
        except redis.ResponseError:
            raise  # every reply was read: the connection is still in step
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            _disconnect(conn)
            raise ServerConnectionError(f"Redis at {redact_url(self.url)} failed: {exc}") from exc
        except BaseException:
            _disconnect(conn)  # possibly interrupted before every reply was read
            raise
        finally:
            self._release(conn)

    def blocking_call(self, block_s: float, *args: Any, zero_copy: bool = False) -> Any:
        """Run a command that blocks up to ``block_s`` seconds (0 = forever) on the server.

        The wait is bounded on the client side too: if no reply arrives within
        the timeout plus a grace period, the connection is dropped and
        :class:`ServerConnectionError` raised.
        """
        if self.read_only:
            check_read_only(self.url, (args,))
        conn = self._get()
        try:
            conn.send_packed_command(pack_commands((args,)))
            # redis-py's can_read with hiredis reads the socket into its parser:
            # the zero-copy reader waits on the socket itself
            can_read = _reader(conn).wait if zero_copy else conn.can_read
            if block_s > 0:
                grace = blocking_grace(block_s)
                deadline = time.monotonic() + block_s + grace
                while not can_read(min(1.0, max(0.0, deadline - time.monotonic()))):
                    if time.monotonic() >= deadline:
                        raise RedisTimeoutError(f"no reply within {block_s + grace:.1f} s")
            else:
                while not can_read(1.0):
                    pass
            if zero_copy:
                return _raise_error_reply(_reader(conn).read_many(1)[0])
            return conn.read_response()
        except _REFUSED as exc:
            raise _refused(self.url, exc) from exc
        except redis.ResponseError as exc:  # an error reply: the connection is still in step
            switched = _switched(self.url, exc)
            if switched is exc:
                raise
            raise switched from exc
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            _disconnect(conn)
            raise ServerConnectionError(f"Redis at {redact_url(self.url)} failed: {exc}") from exc
        except BaseException:
            # interrupted while the server may still answer: the connection is unusable
            _disconnect(conn)
            raise
        finally:
            self._release(conn)

    def transaction(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """MULTI/EXEC through redis-py (replies parsed, an error reply raised), for
        control-plane writes."""
        if self.read_only:
            check_read_only(self.url, commands)
        try:
            pipe = self.client.pipeline(transaction=True)
            for command in commands:
                pipe.execute_command(*command)
            return pipe.execute()
        except _REFUSED as exc:
            raise _refused(self.url, exc) from exc
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise ServerConnectionError(f"Redis at {redact_url(self.url)} failed: {exc}") from exc

    def close(self) -> None:
        for conn in self._idle:
            _READERS.pop(conn, None)  # its buffers, kept for reuse
        self._idle = []
        self.pool.disconnect()
