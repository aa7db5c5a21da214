"""Time-ordered unique ids (ULID: 48-bit milliseconds + 80 random bits, Crockford base32).

Protocol 1 keys end in a ULID; time ordering lets keys sort by creation.
Ids made by one process are strictly increasing, even within a millisecond.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = 0


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_ulid() -> str:
    """A new ULID string, greater than every one this process made before."""
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
        if value <= _last:
            value = _last + 1
        _last = value
    return _encode(value)


def ulid_timestamp_ms(ulid: str) -> int:
    """The creation time of a ULID, in milliseconds since the epoch."""
    value = 0
    for char in ulid[:10]:
        value = value * 32 + _ALPHABET.index(char)
    return value
