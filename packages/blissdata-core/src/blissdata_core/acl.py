"""The read-only Redis ACL user of blissdata consumers.

Producers and the writer need write access; analysis clients, viewers and the
h5 facade only read.  Running consumers under a read-only ACL user means a
bug or a hostile script on a shared beamline machine cannot alter or delete
data: the server itself refuses the write (``NOPERM``).

The rules, as data (Redis >= 7, ``ACL SETUSER`` syntax):

* commands: ``-@all`` and then an explicit allow-list
  (:data:`READONLY_COMMANDS`): what ``DataStore`` reading, searching, loading,
  following scans and cursors send (``GET TTL XRANGE XREVRANGE XREAD XLEN
  JSON.GET JSON.MGET FT.SEARCH MULTI EXEC ...``) and connection housekeeping.
  Nothing that writes, deletes, expires, configures, flushes or runs scripts
  (no ``FCALL``, ``EVAL``, ``FUNCTION``, ``CONFIG``, ``DEBUG``, ``KEYS``).
* keys, read-only (``%R~``): ``esrf:stream:*`` (data and state streams),
  ``_SCAN_HISTORY_``, ``_PROTOCOL_VERSION_`` (:data:`READ_KEY_PATTERNS`).
* keys ``~esrf:scan:*`` (:data:`FULL_KEY_PATTERNS`): the scan documents and
  the search index.  They need a plain ``~`` permission because the modules
  declare their read commands' keys as read-write (RedisJSON 2.8 flags the
  keys of ``JSON.MGET`` ``RW``; RediSearch 2.10 checks the index name of
  ``FT.SEARCH`` as a written key), so ``%R~`` would refuse those reads.
  Nothing can be written there anyway: no writing command is allowed.
* ``resetchannels``: no pub/sub.

Equivalent ``ACL SETUSER`` line::

    ACL SETUSER reader reset on >PASSWORD resetchannels -@all
      +get +exists +ttl +pttl +type +xrange +xrevrange +xread +xlen
      +json.get +json.mget +json.type +json.objkeys +json.objlen +json.arrlen +json.strlen
      +ft.search +ping +echo +time +hello +multi +exec +discard
      +client|setinfo +client|setname +client|getname +client|id +command|info
      %R~esrf:stream:* %R~_SCAN_HISTORY_ %R~_PROTOCOL_VERSION_ ~esrf:scan:*

Readers of ``lima`` streams also ``GET`` the key named by the Lima server
URL: pass e.g. ``extra_read_patterns=["tango://*"]``.

Consumers then connect with ``redis://reader:PASSWORD@host:port`` (or
``rediss://`` over TLS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from .protocol import (
    PROTOCOL_KEY,
    SCAN_HISTORY_KEY,
    SCAN_KEY_PREFIX,
    SEARCH_INDEX_NAME,
    STREAM_KEY_PREFIX,
)

__all__ = [
    "READONLY_COMMANDS",
    "READ_KEY_PATTERNS",
    "FULL_KEY_PATTERNS",
    "readonly_rules",
    "acl_file_line",
    "create_readonly_user",
]

#: Commands a read-only consumer may send (everything else is refused).
READONLY_COMMANDS: tuple[str, ...] = (
    # protocol key, TTL checks (deletion rule)
    "get", "exists", "ttl", "pttl", "type",
    # data and state streams, scan history
    "xrange", "xrevrange", "xread", "xlen",
    # scan documents
    "json.get", "json.mget", "json.type", "json.objkeys", "json.objlen", "json.arrlen",
    "json.strlen",
    # search
    "ft.search",
    # transactions (consistent reads) and housekeeping
    "multi", "exec", "discard", "ping", "echo", "time", "hello",
    "client|setinfo", "client|setname", "client|getname", "client|id",
    # the blissdata 2.x client's model layer asks for command metadata
    "command|info",
)  # fmt: skip

#: Key patterns readable (only) by consumers.
READ_KEY_PATTERNS: tuple[str, ...] = (
    STREAM_KEY_PREFIX + "*",
    SCAN_HISTORY_KEY,
    PROTOCOL_KEY,
)

#: Key patterns that need a plain ``~`` permission (scan documents, search index).
FULL_KEY_PATTERNS: tuple[str, ...] = (SCAN_KEY_PREFIX + "*",)

assert SEARCH_INDEX_NAME.startswith(SCAN_KEY_PREFIX)  # the index name is covered too


def readonly_rules(
    password: str | None = None,
    *,
    password_sha256: str | None = None,
    extra_read_patterns: Sequence[str] = (),
) -> list[str]:
    """``ACL SETUSER`` rules of a read-only consumer, as a list of arguments.

    Give the password in clear (``>pw``) or its SHA-256 (``#hex``); with
    neither the user gets ``nopass``.  ``extra_read_patterns`` adds
    read-only key patterns (e.g. a writer's status keys).
    """
    if password is not None and password_sha256 is not None:
        raise ValueError("give password or password_sha256, not both")
    rules = ["reset", "on"]
    if password is not None:
        if not password or any(c.isspace() for c in password):
            raise ValueError("an ACL password must be non-empty and contain no whitespace")
        rules.append(f">{password}")
    elif password_sha256 is not None:
        if len(password_sha256) != 64 or not all(c in "0123456789abcdef" for c in password_sha256):
            raise ValueError("password_sha256 must be 64 lowercase hex digits")
        rules.append(f"#{password_sha256}")
    else:
        rules.append("nopass")
    rules += ["resetchannels", "-@all"]
    rules += [f"+{command}" for command in READONLY_COMMANDS]
    rules += [f"%R~{pattern}" for pattern in (*READ_KEY_PATTERNS, *extra_read_patterns)]
    rules += [f"~{pattern}" for pattern in FULL_KEY_PATTERNS]
    return rules


def acl_file_line(username: str, password: str) -> str:
    """The line of a Redis ``aclfile`` for a read-only user (the password stored hashed)."""
    _check_username(username)
    digest = hashlib.sha256(password.encode()).hexdigest()
    rules = [r for r in readonly_rules(password_sha256=digest) if r != "reset"]
    return " ".join(["user", username, *rules])


def create_readonly_user(
    admin: Any, username: str, password: str, *, extra_read_patterns: Sequence[str] = ()
) -> None:
    """Create (or reset) the read-only user ``username`` through an admin connection.

    ``admin`` is a Redis URL with enough rights for ``ACL SETUSER``, or a
    redis-py client.  The user exists until the server restarts unless the
    server configuration is saved (``ACL SAVE`` with an ``aclfile``).
    """
    import redis

    _check_username(username)
    rules = readonly_rules(password, extra_read_patterns=extra_read_patterns)
    if isinstance(admin, str):
        with redis.Redis.from_url(admin) as client:
            client.execute_command("ACL", "SETUSER", username, *rules)
    else:
        admin.execute_command("ACL", "SETUSER", username, *rules)


def _check_username(username: str) -> None:
    if not username or any(c.isspace() for c in username) or username == "default":
        raise ValueError(f"not a usable ACL user name: {username!r}")
