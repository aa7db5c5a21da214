"""RESP encoding of commands, kept apart from sending them (as redis-py does).

One packer serves every command the client sends: a reader's pipeline of a
few small commands costs a fraction of redis-py's general packer (which runs
each argument through its encoder), and a publisher's large payloads are
passed through as they are instead of being copied into one buffer.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

#: Arguments of more bytes than this are sent as buffers of their own, not copied.
INLINE_LIMIT = 16 * 1024
#: Small pieces are joined into buffers of about this size.
JOIN_SIZE = 64 * 1024


def encode_arg(arg: Any) -> bytes | memoryview:
    """One command argument as bytes (the types redis-py accepts, and numpy scalars)."""
    if isinstance(arg, bytes | memoryview):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):  # before int: a bool is an int
        raise TypeError("A bool is not a Redis command argument: send 0/1 or a string")
    if isinstance(arg, float):  # numpy's included: its repr is not the number's
        return repr(float(arg)).encode()
    if isinstance(arg, bytearray):
        return bytes(arg)
    if hasattr(type(arg), "__index__"):  # int, IntEnum, numpy integers
        return b"%d" % operator.index(arg)
    raise TypeError(f"A {type(arg).__name__} is not a Redis command argument")


def pack_commands(commands: Iterable[tuple[Any, ...]]) -> list[bytes | memoryview]:
    """The RESP encoding of ``commands``, as buffers to send one after the other.

    Small pieces are joined; an argument above :data:`INLINE_LIMIT` bytes is
    its own buffer (a memoryview must be C-contiguous).  A command name of
    several words is sent as several arguments, as redis-py does.
    """
    out: list[bytes | memoryview] = []
    pending: list[bytes] = []
    pending_size = 0
    for command in commands:
        name = command[0]
        if isinstance(name, str | bytes) and (" " if isinstance(name, str) else b" ") in name:
            command = (*name.split(), *command[1:])  # "CLIENT LIST": two arguments
        pending.append(b"*%d\r\n" % len(command))
        for raw in command:
            # the usual argument types first, without a call
            if type(raw) is str:
                arg: bytes | memoryview = raw.encode()
            elif type(raw) is bytes:
                arg = raw
            elif type(raw) is int:
                arg = b"%d" % raw
            else:
                arg = encode_arg(raw)
            size = arg.nbytes if type(arg) is memoryview else len(arg)
            if size > INLINE_LIMIT:
                if type(arg) is memoryview and not arg.c_contiguous:
                    raise ValueError("A memoryview argument must be C-contiguous")
                pending.append(b"$%d\r\n" % size)
                out.append(b"".join(pending))
                out.append(arg)
                pending, pending_size = [b"\r\n"], 2
            else:
                pending.append(b"$%d\r\n%b\r\n" % (size, arg))
                pending_size += size + 16
                if pending_size > JOIN_SIZE:
                    out.append(b"".join(pending))
                    pending, pending_size = [], 0
    if pending:
        out.append(b"".join(pending))
    return out
