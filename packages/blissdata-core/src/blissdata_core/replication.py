"""What the replicas of a primary hold, for a producer that must not lose points.

Replication is asynchronous (spec §13.1): a primary that dies takes with it
the writes it acknowledged but had not yet sent.  A producer that cannot
afford that asks, at the moments that matter (a seal, the end of a scan),
how many replicas hold everything it wrote so far.

The count is read from the primary's ``INFO replication`` (each replica's
acknowledged offset against the primary's own) rather than with ``WAIT``:
``WAIT`` only covers the writes of the connection it is sent on, while a
store writes through several (the publisher's sender thread has its own).
Replicas acknowledge about once a second, so an answer may take that long.
"""

from __future__ import annotations

import time
from typing import Any

from . import protocol_commands as cmd
from .connection import RedisConnection, redact_url
from .errors import NotPrimaryError

#: How often the replicas' acknowledged offsets are polled.
POLL_INTERVAL = 0.05


def parse_info(text: str | bytes) -> dict[str, str]:
    """``INFO`` text as ``{field: value}`` (values left as text)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode()
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[name] = value
    return fields


def replica_offsets(info: dict[str, str]) -> list[int]:
    """The acknowledged offset of each online replica listed by ``INFO replication``."""
    offsets = []
    for name, value in info.items():
        if not (name.startswith("slave") and name[5:].isdigit()):
            continue
        fields = dict(item.partition("=")[::2] for item in value.split(","))
        if fields.get("state") == "online" and fields.get("offset", "").lstrip("-").isdigit():
            offsets.append(int(fields["offset"]))
    return offsets


def replication_info(conn: RedisConnection) -> dict[str, str]:
    return parse_info(conn.call(*cmd.replication_info()))


def wait_for_replicas(conn: RedisConnection, replicas: int, timeout: float) -> int:
    """How many replicas hold every write the primary acknowledged before the
    call: as soon as ``replicas`` do, else after ``timeout`` s (possibly 0)."""
    info = replication_info(conn)
    if info.get("role") != "master":
        raise NotPrimaryError(
            f"Redis at {redact_url(conn.url)} is a {info.get('role', 'unknown')}, not a "
            "primary: replicas are counted on the primary the producer writes to"
        )
    target = int(info["master_repl_offset"])
    deadline = time.monotonic() + timeout
    while True:
        holding = sum(offset >= target for offset in replica_offsets(info))
        if holding >= replicas or time.monotonic() >= deadline:
            return holding
        time.sleep(POLL_INTERVAL)
        info = replication_info(conn)


def replication_lag(info: dict[str, Any]) -> list[int]:
    """Bytes each online replica has not acknowledged yet (from a primary's INFO)."""
    target = int(info.get("master_repl_offset", 0))
    return [max(target - offset, 0) for offset in replica_offsets(info)]
