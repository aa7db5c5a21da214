"""Every exception raised by blissdata_core, under one base class.

Names shared with the blissdata 2.x client keep their meaning so that
``except`` clauses written for it port unchanged.  Index errors also derive
from :class:`IndexError` so that generic sequence code keeps working.
"""

from __future__ import annotations

from typing import Any


class BlissdataError(Exception):
    """Base of every error raised by the blissdata packages."""


# --- database and connection -------------------------------------------------


class DatabaseNotInitialisedError(BlissdataError, RuntimeError):
    """The Redis database carries no protocol key: nobody initialised it."""


class ProtocolVersionError(BlissdataError, RuntimeError):
    """The database was written under a protocol version this client does not speak."""


class DatabaseNotEmptyError(BlissdataError, RuntimeError):
    """``init_db=True`` was asked on a database that already holds keys."""


class MissingServerModuleError(BlissdataError, RuntimeError):
    """The Redis server lacks RedisJSON or RediSearch, or is too old."""


class ServerConnectionError(BlissdataError, ConnectionError):
    """The Redis server could not be reached or went away."""


# --- scans --------------------------------------------------------------------


class NotPrimaryError(BlissdataError, RuntimeError):
    """A producer's request (e.g. waiting for replicas) reached a replica, not a primary."""


class RespProtocolError(ServerConnectionError):
    """The server sent bytes that are not the RESP2 reply expected: the connection is out of step."""


class ServerNotFoundError(BlissdataError, RuntimeError):
    """No usable Redis >= 7.2 with RedisJSON and RediSearch could be found or prepared."""


class ServerStartError(BlissdataError, RuntimeError):
    """The server process did not come up; the message carries the end of its log."""


class SentinelConfigError(BlissdataError, ValueError):
    """A Sentinel cannot be set up as asked: bad URL or option, primary unreachable or a replica."""


class NoScanAvailable(BlissdataError):
    """No scan matched, or none arrived before the timeout."""


class NoWritePermission(BlissdataError):
    """A write was attempted through a read-only object."""


class ScanLoadError(BlissdataError):
    """A scan could not be loaded."""


class ScanNotFoundError(ScanLoadError, KeyError):
    """The scan does not exist, or is being deleted."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ScanValidationError(ScanLoadError, ValueError):
    """The scan document exists but does not follow the protocol."""


class UnauthorizeStateTransition(BlissdataError):
    """A scan state change that the state machine forbids."""

    def __init__(self, orig_state: Any, dest_state: Any):
        self.orig_state = orig_state
        self.dest_state = dest_state
        super().__init__(
            f"Unauthorize scan transition from {getattr(orig_state, 'name', orig_state)} "
            f"to {getattr(dest_state, 'name', dest_state)}"
        )


class ScanNotTerminatedError(BlissdataError, RuntimeError):
    """delete_scan() on a running scan without ``force=True``."""


class ScanInfoError(BlissdataError, ValueError):
    """Scan info that cannot be stored (too large, not JSON, changed at the wrong time)."""


class H5MapError(BlissdataError, ValueError):
    """A scan's ``h5maps`` does not follow the item/value format (PROTOCOL.md section 11).

    ``path`` names the offending item (``/entry/x``, ``/entry@attr``) so that
    the writer's status and the facade's errors point at the same place.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


# --- streams ------------------------------------------------------------------


class EndOfStream(BlissdataError):
    """Everything up to the seal has been read."""


class IndexNoMoreThereError(BlissdataError, IndexError):
    """The index existed, but its data was trimmed from Redis to save memory."""


class IndexNotYetThereError(BlissdataError, IndexError):
    """The index is not published yet, but may still arrive."""


class IndexWontBeThereError(BlissdataError, IndexError):
    """The index is beyond the end of a sealed stream."""


class UnknownEncodingError(BlissdataError, ValueError):
    """A stream declares an encoding this client does not know."""


class MalformedEntryError(BlissdataError, ValueError):
    """A stream entry read from Redis does not follow its encoding."""

    def __init__(self, message: str, stream: str | None = None, entry_id: Any = None):
        self.stream = stream
        self.entry_id = entry_id
        where = ""
        if stream is not None:
            where = (
                f" (stream {stream!r}"
                + (f", entry {entry_id}" if entry_id is not None else "")
                + ")"
            )
        super().__init__(message + where)


class StreamAlreadyExistsError(BlissdataError, ValueError):
    """A stream of that name already exists in the scan."""


class StreamSealedError(BlissdataError):
    """Data was sent to a stream that is already sealed."""


class PublishError(BlissdataError):
    """Data sent earlier could not be written to Redis."""


class PublishQueueFull(PublishError):
    """The bounded publishing queue stayed full for longer than the allowed wait."""


class EmptyViewException(BlissdataError):
    """A plugin saw events that make no data view (internal to cursors)."""


class MissingPluginException(BlissdataError):
    """A stream names a plugin that is not installed."""

    def __init__(self, stream_name: str, plugin_name: str):
        self.stream_name = stream_name
        self.plugin_name = plugin_name
        super().__init__(
            f"No installed plugin {plugin_name!r} for stream {stream_name!r} "
            f"(entry point group 'blissdata_core.plugins')"
        )


class BrokenPluginException(BlissdataError):
    """A plugin is installed but failed to open a stream."""


class ExternalDataError(BlissdataError):
    """Data referenced by a stream (a file, a frame) could not be read."""


class LimaServerError(ExternalDataError):
    """The Lima detector server (Tango) gave no frame: pytango is missing, the
    device is unreachable or refused, or its answer could not be decoded."""


class NoImageAvailable(LimaServerError):
    """The Lima server holds no frame yet (asked before its first frame)."""


class FrameNoMoreThereError(ExternalDataError, IndexNoMoreThereError):
    """A lima frame that was acquired but is in no file, and no longer (or never
    verifiably) in the detector server's memory."""


class LimaInfoError(BlissdataError, ValueError):
    """A ``lima_info`` block this client cannot use."""


# --- command line, drop-in layer and test helpers ------------------------------------


class CommandError(BlissdataError):
    """A failure reported as ``blissdata CMD: message`` with exit code 1."""


class ReferenceAlreadyImported(BlissdataError, RuntimeError):
    """The real blissdata is already imported in this process: aliasing now would mix both."""


class ReferenceUnavailable(BlissdataError, RuntimeError):
    """The reference venv could not be created (the reason is the message)."""


class ReferenceRunError(BlissdataError, RuntimeError):
    """A reference snippet failed; carries its stderr."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        super().__init__(f"reference snippet exited {returncode}:\n{stderr.strip()}")
