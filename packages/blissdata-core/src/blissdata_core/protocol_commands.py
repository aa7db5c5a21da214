"""Every Redis command of protocol 1, built in one place.

As redis-py builds a command apart from sending it, the core builds its
commands here and sends them through
:class:`~blissdata_core.connection.RedisConnection`.  A command is a tuple
``(name, *arguments)``; a function returning a list gives the commands of one
step in their order (a transaction, when the protocol says so).  What the
commands mean is ``spec/PROTOCOL.md``; the section of each is named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from numbers import Number
from typing import Any

from .protocol import (
    BEFORE_SEAL_ID,
    DATA_ENTRY_SEQ,
    DELETION_GRACE_SECONDS,
    IDENTITY_FIELDS,
    INDEX_SCHEMA_TEXT,
    PROTOCOL_KEY,
    PROTOCOL_VERSION,
    SCAN_HISTORY_KEY,
    SCAN_HISTORY_MAXLEN,
    SCAN_KEY_PREFIX,
    SEAL_ENTRY_ID,
    SEAL_FUNCTION_CODE,
    SEAL_FUNCTION_NAME,
    SEARCH_INDEX_NAME,
    index_create_args,
)

Command = tuple[Any, ...]

#: RediSearch's prefix expansion limit set at initialisation (§4).
PREFIX_EXPANSIONS = 2000
#: Keys of scan documents listed per SCAN call.
SCAN_COUNT = 1000

#: Characters with a meaning in RediSearch queries; escaped in searched values
#: (``*`` is kept: it is the wildcard).
_SEARCH_SPECIAL = ",.<>{}[]\"':;!@#$%^&()-+=~?/ |\\"
_ESCAPE_TABLE = str.maketrans({c: f"\\{c}" for c in _SEARCH_SPECIAL})

# Field names of data entries, as bytes: the publisher builds many of them.
_PAYLOAD = b"payload"
_LEN = b"len"


# -- the database (§4, §14) ---------------------------------------------------------
def get_protocol_version() -> Command:
    return ("GET", PROTOCOL_KEY)


def count_keys() -> Command:
    return ("DBSIZE",)


def list_modules() -> Command:
    return ("MODULE", "LIST")


def create_index() -> Command:
    return ("FT.CREATE", *index_create_args())


def set_prefix_expansions() -> Command:
    """Redis 8 spelling; :func:`set_prefix_expansions_legacy` before."""
    return ("CONFIG", "SET", "search-max-prefix-expansions", PREFIX_EXPANSIONS)


def set_prefix_expansions_legacy() -> Command:
    return ("FT.CONFIG", "SET", "MAXPREFIXEXPANSIONS", PREFIX_EXPANSIONS)


def load_seal_function() -> Command:
    return ("FUNCTION", "LOAD", "REPLACE", SEAL_FUNCTION_CODE)


def finish_initialisation() -> list[Command]:
    """The index bookkeeping keys, then the version key, last (one transaction)."""
    schema_hash = hashlib.sha1(INDEX_SCHEMA_TEXT.encode()).hexdigest()
    return [
        ("SET", f"{SEARCH_INDEX_NAME}:hash", schema_hash),
        ("SET", f"{SEARCH_INDEX_NAME}:schema", INDEX_SCHEMA_TEXT),
        ("SET", PROTOCOL_KEY, PROTOCOL_VERSION),
    ]


# -- scans: documents, states, history (§5, §6, §9) -------------------------------------
def save_document(key: str, doc: dict[str, Any]) -> Command:
    return ("JSON.SET", key, "$", json.dumps(doc))


def add_state_entry(state_key: str, state: int) -> Command:
    return ("XADD", state_key, "*", "state", int(state))


def add_history_entry(scan_key: str) -> Command:
    return ("XADD", SCAN_HISTORY_KEY, "MAXLEN", SCAN_HISTORY_MAXLEN, "*", "key", scan_key)


def create_scan(key: str, state_key: str, doc: dict[str, Any], state: int) -> list[Command]:
    """The creation transaction: document, history entry, first state entry."""
    return [save_document(key, doc), add_history_entry(key), add_state_entry(state_key, state)]


def transition(key: str, state_key: str, doc: dict[str, Any], state: int) -> list[Command]:
    """A transition's transaction: the whole document, then the new state entry."""
    return [save_document(key, doc), add_state_entry(state_key, state)]


def get_document(key: str) -> Command:
    return ("JSON.GET", key, "$")


def get_state_stream_pk(key: str) -> Command:
    return ("JSON.GET", key, "$.state_stream.pk")


def get_state_stream_pks(keys: Sequence[str]) -> Command:
    return ("JSON.MGET", *keys, "$.state_stream.pk")


def get_stream_pks(key: str) -> Command:
    """The pks of a scan's state stream and of its data streams."""
    return ("JSON.GET", key, "$.state_stream.pk", "$.data_streams.*.pk")


def list_scan_documents(cursor: Any) -> Command:
    """One step of a SCAN over the scan documents (works without the search index)."""
    return (
        "SCAN",
        cursor,
        "MATCH",
        SCAN_KEY_PREFIX + "*",
        "COUNT",
        SCAN_COUNT,
        "TYPE",
        "ReJSON-RL",
    )


def last_history_entries(count: int, end: str = "+") -> Command:
    return ("XREVRANGE", SCAN_HISTORY_KEY, end, "-", "COUNT", count)


def read_history(after: str, block_ms: int | None = None) -> Command:
    """The first scan created after the timetag ``after``."""
    return read_streams([SCAN_HISTORY_KEY], [after], count=1, block_ms=block_ms)


def search(query: str, limit: int) -> Command:
    return ("FT.SEARCH", SEARCH_INDEX_NAME, query, "NOCONTENT", "LIMIT", 0, limit)


def search_query(identity: dict[str, Any]) -> str:
    """The query text of a search on identity fields (§10.1): strings exactly or with a
    leading/trailing ``*``, numbers exactly; ``*`` for no field."""
    if not identity:
        return "*"
    parts = []
    for field, value in identity.items():
        if field not in IDENTITY_FIELDS:
            raise ValueError(
                f"Cannot search on {field!r}; identity fields are {list(IDENTITY_FIELDS)}"
            )
        if isinstance(value, bool) or value is None:
            raise TypeError(f"Cannot search {field}={value!r}: give a string or a number")
        if isinstance(value, Number):
            parts.append(f"@id_{field}:[{value} {value}]")
        elif isinstance(value, str):
            if not value:
                raise ValueError(f"Cannot search for an empty {field!r}")
            core = value.strip("*")
            if "*" in core:
                raise ValueError(f"Wildcards go only at the start or the end of {field}={value!r}")
            if not core:
                continue
            if core != value and len(core) < 2:
                raise ValueError(
                    f"A wildcard search needs at least 2 literal characters ({field}={value!r}); "
                    "RediSearch ignores shorter prefixes and suffixes"
                )
            escaped = value.translate(_ESCAPE_TABLE)
            parts.append(f"@id_{field}:{{{escaped}}}")
        else:
            raise TypeError(f"Cannot search {field}={value!r}: give a string or a number")
    return " ".join(parts) if parts else "*"


def ttl(key: str) -> Command:
    return ("TTL", key)


def expire(key: str, seconds: int, only_sooner: bool = False) -> Command:
    """``only_sooner``: never postpone an expiry already set (``LT``)."""
    return ("EXPIRE", key, seconds, "LT") if only_sooner else ("EXPIRE", key, seconds)


def delete_scan(keys: Sequence[str]) -> list[Command]:
    """Deletion (§9.3): the scan's keys expire after the grace period (one transaction)."""
    return [expire(k, DELETION_GRACE_SECONDS) for k in keys]


# -- data streams (§7, §8) -----------------------------------------------------------
def add_data_entry(key: str, index: int, payload: Any, length: int) -> Command:
    """A data entry ``<index>-1`` holding ``length`` points."""
    entry_id = f"{index}-{DATA_ENTRY_SEQ}"
    if length == 1:
        return ("XADD", key, entry_id, _PAYLOAD, payload)
    return ("XADD", key, entry_id, _PAYLOAD, payload, _LEN, length)


def seal(key: str) -> Command:
    return ("FCALL", SEAL_FUNCTION_NAME, 1, key)


def entries(key: str, start: Any = "-", end: Any = "+", count: int | None = None) -> Command:
    """Entries from id ``start`` to ``end`` (a point index stands for its entry id)."""
    if count is None:
        return ("XRANGE", key, start, end)
    return ("XRANGE", key, start, end, "COUNT", count)


def entries_reversed(
    key: str, end: Any = "+", start: Any = "-", count: int | None = None
) -> Command:
    """Entries from ``end`` down to ``start``, newest first."""
    if count is None:
        return ("XREVRANGE", key, end, start)
    return ("XREVRANGE", key, end, start, "COUNT", count)


def read_streams(
    keys: Sequence[str],
    after: Sequence[Any],
    count: int | None = None,
    block_ms: int | None = None,
) -> Command:
    """Entries of each stream after its id (or point index), blocking ``block_ms`` if given."""
    args: list[Any] = ["XREAD"]
    if count is not None:
        args += ["COUNT", count]
    if block_ms is not None:
        args += ["BLOCK", block_ms]
    return (*args, "STREAMS", *keys, *after)


def seal_entry(key: str) -> Command:
    """The seal entry alone (an empty reply while the stream is not sealed)."""
    return entries(key, SEAL_ENTRY_ID, SEAL_ENTRY_ID)


def wait_seal(key: str, block_ms: int) -> Command:
    """Blocks until the seal entry, alone, can be read."""
    return read_streams([key], [BEFORE_SEAL_ID], block_ms=block_ms)


def trim_before(key: str, min_id: Any) -> Command:
    """Remove the entries before ``min_id`` (the memory manager, §12)."""
    return ("XTRIM", key, "MINID", min_id)


# -- the server (informative: the memory manager, §12) -------------------------------------
def memory_info() -> Command:
    return ("INFO", "memory")


def server_time() -> Command:
    return ("TIME",)


def replication_info() -> Command:
    """Role, offset and replicas of a server (§13.1: what replicas hold)."""
    return ("INFO", "replication")
