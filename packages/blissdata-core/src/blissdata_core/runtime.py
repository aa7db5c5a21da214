"""The bottom floor of the client: one connection, one publisher, the protocol check.

A :class:`~blissdata_core.DataStore` builds one :class:`Runtime` and hands it
to every scan, stream and cursor it makes.  They send their commands (built
by :mod:`~blissdata_core.protocol_commands`) through :attr:`Runtime.conn`,
their points through :attr:`Runtime.publisher`, and call
:meth:`Runtime.check_protocol` before writing.  Nothing above this floor
opens a connection of its own.
"""

from __future__ import annotations

from typing import Any

import redis

from . import protocol_commands as cmd
from .connection import RedisConnection, redact_url
from .errors import (
    DatabaseNotEmptyError,
    DatabaseNotInitialisedError,
    MissingServerModuleError,
    NoWritePermission,
    ProtocolVersionError,
)
from .protocol import PROTOCOL_VERSION
from .streams.publisher import Publisher

#: Server modules protocol 1 needs (§2), as ``MODULE LIST`` names them.
REQUIRED_MODULES = ("ReJSON", "search")


def check_protocol(conn: RedisConnection) -> None:
    """Raise unless the database behind ``conn`` speaks this client's protocol (§14)."""
    raw = conn.call(*cmd.get_protocol_version())
    url = redact_url(conn.url)
    if raw is None:
        raise DatabaseNotInitialisedError(
            f"No blissdata protocol version found on {url}: the database is not initialised "
            f"(run `blissdata init {url}`, or DataStore(url, init_db=True), on an empty database)"
        )
    try:
        version = int(raw)
    except ValueError:
        raise ProtocolVersionError(f"Unreadable protocol version {raw!r} on {url}") from None
    if version != PROTOCOL_VERSION:
        raise ProtocolVersionError(
            f"Database {url} uses blissdata protocol {version}; "
            f"this client speaks protocol {PROTOCOL_VERSION} only"
        )


def initialise_database(conn: RedisConnection) -> None:
    """Make an empty database a protocol 1 one (§4); a database holding keys is refused."""
    url = redact_url(conn.url)
    nkeys = conn.call(*cmd.count_keys())
    if nkeys:
        raise DatabaseNotEmptyError(f"Cannot initialise {url}: {nkeys} keys are already present")
    modules = {m.get(b"name", b"").decode() for m in _module_list(conn)}
    for needed in REQUIRED_MODULES:
        if needed not in modules:
            raise MissingServerModuleError(
                f"Redis server at {url} lacks the {needed!r} module (RedisJSON and RediSearch "
                "are required)"
            )
    conn.call(*cmd.create_index())
    try:
        conn.call(*cmd.set_prefix_expansions())
    except redis.ResponseError:
        conn.call(*cmd.set_prefix_expansions_legacy())
    conn.call(*cmd.load_seal_function())
    conn.call_many(cmd.finish_initialisation(), transaction=True)


def _module_list(conn: RedisConnection) -> list[dict[bytes, Any]]:
    out = []
    for item in conn.call(*cmd.list_modules()) or []:
        out.append(item if isinstance(item, dict) else dict(zip(item[::2], item[1::2])))
    return out


class Runtime:
    """A connection to one database, the publisher sending into it, and the protocol check.

    ``max_queued_bytes`` and ``send_timeout`` bound the publisher's queue (see
    :class:`~blissdata_core.streams.publisher.Publisher`); ``redis_options``
    go to redis-py.  Nothing is checked here: see :meth:`check_protocol`.
    """

    def __init__(self, url: str, *, max_queued_bytes: int = 256 * 2**20,
                 send_timeout: float = 60.0, read_only: bool = False,
                 **redis_options: Any):  # fmt: skip
        self.url = url
        #: A consumer's runtime (e.g. on a replica): every write is refused
        #: with NoWritePermission before it reaches the server.
        self.read_only = read_only
        self.conn = RedisConnection(url, read_only=read_only, **redis_options)
        self.publisher = Publisher(
            self._publisher_connection,
            max_queued_bytes=max_queued_bytes,
            send_timeout=send_timeout,
        )

    def check_protocol(self) -> None:
        """Raise unless the database speaks protocol 1: done before writes, so that
        nothing is written into a database restarted empty."""
        check_protocol(self.conn)

    def check_writable(self, what: str = "writing") -> None:
        """Raise :class:`NoWritePermission` when this runtime is read-only."""
        if self.read_only:
            raise NoWritePermission(
                f"{what} refused: the data store at {redact_url(self.url)} is read-only"
            )

    def initialise_database(self) -> None:
        initialise_database(self.conn)

    def _publisher_connection(self) -> Any:
        """A connection for the sender thread alone, checked first: a new connection
        may reach a server restarted empty, where data sent would make streams no
        scan knows."""
        conn = self.conn.dedicated_connection()
        try:
            conn.send_command(*cmd.get_protocol_version())
            version = conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        if version is None:
            conn.disconnect()
            raise DatabaseNotInitialisedError(
                "The database holds no protocol key any more (Redis restarted empty?)"
            )
        return conn

    def close(self) -> None:
        """Flush queued data, stop the sender thread and close connections."""
        try:
            self.publisher.close()
        finally:
            self.conn.close()

    def __repr__(self) -> str:
        return f"Runtime({redact_url(self.url)!r})"
