"""What a command-line user reads when a command fails: one line that names the fix.

Every console script of the blissdata packages runs its body through
:func:`run_cli`, so an unreachable server or an uninitialised database prints
the same advice everywhere, and never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable

import redis

from .errors import (
    BlissdataError,
    DatabaseNotEmptyError,
    DatabaseNotInitialisedError,
    ProtocolVersionError,
    ServerConnectionError,
)

#: Exit code of a command that failed for a reason it explained.
EXIT_FAILURE = 1


def init_hint(url: str | None) -> str:
    return f"initialise it with: blissdata init {url or 'REDIS_URL'}"


def user_message(exc: BaseException, url: str | None = None) -> str | None:
    """The one-line explanation of a failure a user can fix, or None for a bug."""
    if isinstance(exc, DatabaseNotInitialisedError):
        text = _first_line(exc)
        return text if "blissdata init" in text else f"{text}; {init_hint(url)}"
    if isinstance(exc, DatabaseNotEmptyError):
        return f"{exc}; use a database of its own (another number, e.g. /1, or a new server)"
    if isinstance(exc, ProtocolVersionError):
        return f"{exc}; use a client of the same protocol, or another database"
    if isinstance(exc, ServerConnectionError | redis.ConnectionError | redis.TimeoutError):
        text = _first_line(exc)
        if not isinstance(exc, ServerConnectionError):  # redis-py's own words name no URL
            text = f"cannot reach Redis{f' at {url}' if url else ''} ({text})"
        return f"{text}; check the URL, or start a server with: blissdata server"
    if isinstance(exc, redis.AuthenticationError | redis.exceptions.NoPermissionError):
        return f"Redis refused the credentials ({_first_line(exc)}); check the user and password in the URL"
    if isinstance(exc, BlissdataError):
        return _first_line(exc)
    return None


def run_cli(prog: str, body: Callable[[], int | None], url: str | None = None) -> int:
    """Run a command's body; a failure the user can fix becomes ``prog: message`` on stderr."""
    try:
        return int(body() or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head, less...
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except Exception as exc:
        message = user_message(exc, url)
        if message is None:
            raise
        print(f"{prog}: {message}", file=sys.stderr)
        return EXIT_FAILURE


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
