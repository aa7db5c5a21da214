"""The data store: one Redis database holding scans under protocol 1."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from . import protocol_commands as cmd
from . import replication
from .connection import redact_url
from .errors import (
    NoScanAvailable,
    NoWritePermission,
    ScanNotFoundError,
    ScanNotTerminatedError,
    ServerConnectionError,
)
from .protocol import (
    DELETION_GRACE_SECONDS,
    MAX_STREAM_ID,
    stream_key,
)
from .runtime import Runtime
from .scan import Scan, ScanState


def _is_deleted_ttl(ttl: int) -> bool:
    return ttl == -2 or 0 <= ttl <= DELETION_GRACE_SECONDS


def _timetag_before(timetag: str) -> str:
    ms, seq = (int(x) for x in timetag.split("-"))
    if seq == 0:
        return f"{ms - 1}-{MAX_STREAM_ID}"
    return f"{ms}-{seq - 1}"


class DataStore:
    """Entry point of the client: scans in one Redis database.

    ``max_queued_bytes`` bounds what producers may queue before ``send()``
    blocks; ``send_timeout`` is how long it blocks before raising
    :class:`~blissdata_core.errors.PublishQueueFull`.

    ``read_only=True`` makes a consumer's store, e.g. on a Redis replica
    (``blissdata server --replica-of``): scans are loaded and followed as
    usual, and every write (creating, closing or deleting a scan, publishing,
    ``init_db``) raises :class:`~blissdata_core.errors.NoWritePermission` before
    it reaches the server.
    """

    def __init__(self, url: str, init_db: bool = False, *, max_queued_bytes: int = 256 * 2**20,
                 send_timeout: float = 60.0, read_only: bool = False,
                 **redis_options: Any):  # fmt: skip
        if read_only and init_db:
            raise NoWritePermission("a read-only DataStore cannot initialise the database")
        self._url = url
        self._runtime = Runtime(
            url,
            max_queued_bytes=max_queued_bytes,
            send_timeout=send_timeout,
            read_only=read_only,
            **redis_options,
        )
        self._conn = self._runtime.conn
        try:
            if init_db:
                self._runtime.initialise_database()
            else:
                self._runtime.check_protocol()
        except BaseException:
            self._runtime.close()  # a refused database keeps nothing open
            raise

    @property
    def url(self) -> str:
        return self._url

    @property
    def read_only(self) -> bool:
        """True for a consumer's store: writes raise NoWritePermission."""
        return self._runtime.read_only

    @property
    def runtime(self) -> Runtime:
        """Connection, publisher and protocol check, shared by everything this store makes."""
        return self._runtime

    @property
    def redis(self) -> redis.Redis:
        """The underlying redis-py client (for tools; the data path does not use it)."""
        return self._conn.client

    def __repr__(self) -> str:
        return f"DataStore({redact_url(self._url)!r})"

    def wait_for_replicas(self, replicas: int = 1, timeout: float = 5.0) -> int:
        """How many replicas hold everything this store has published so far.

        Sends queued data first, then waits until ``replicas`` replicas of the
        primary hold it, or ``timeout`` s, and returns the count (fewer than
        asked on timeout). Replication is asynchronous: points a dead primary
        acknowledged but had not sent are lost (spec §13.1), so a producer that
        must not lose points calls this before it reports them safe, e.g.
        after ``seal()`` or ``close()``.
        """
        self._runtime.check_writable("waiting for replicas")
        self._runtime.publisher.join()
        return replication.wait_for_replicas(self._conn, replicas, timeout)

    def close(self) -> None:
        """Flush queued data, stop the sender thread and close connections."""
        self._runtime.close()

    def __enter__(self) -> DataStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- scans -----------------------------------------------------------------------------
    def create_scan(self, identity: dict[str, Any], info: dict[str, Any] | None = None) -> Scan:
        """A new scan in state CREATED, writable by this process."""
        return Scan.create(self._runtime, identity, info, data_store=self)

    def load_scan(self, key: str) -> Scan:
        """A read-only view of an existing scan."""
        return Scan.load(self._runtime, key, data_store=self)

    def load_scan_for_writing(self, key: str) -> Scan:
        """A writable handle on an existing scan (to close or delete it from elsewhere)."""
        return Scan.load(self._runtime, key, writable=True, data_store=self)

    def _ttl_many(self, keys: list[str]) -> list[int]:
        return self._conn.call_many([cmd.ttl(k) for k in keys])

    def get_last_scan(self) -> tuple[str, str]:
        """``(timetag, key)`` of the newest scan not being deleted; NoScanAvailable if none."""
        end = "+"
        while True:
            raw = self._conn.call(*cmd.last_history_entries(16, end))
            if not raw:
                self._runtime.check_protocol()
                raise NoScanAvailable("No scan in the database")
            entries = [
                (eid.decode(), dict(zip(f[::2], f[1::2]))[b"key"].decode()) for eid, f in raw
            ]
            ttls = self._ttl_many([key for _, key in entries])
            for (timetag, key), ttl in zip(entries, ttls):
                if not _is_deleted_ttl(ttl):
                    return timetag, key
            end = _timetag_before(entries[-1][0])

    def get_last_scan_timetag(self) -> str:
        """Timetag of the newest scan entry, or ``"0-0"``: a starting point for get_next_scan."""
        raw = self._conn.call(*cmd.last_history_entries(1))
        return raw[0][0].decode() if raw else "0-0"

    def get_next_scan(
        self, since: str | None = None, block: bool = True, timeout: float = 0
    ) -> tuple[str, str]:
        """The first scan created after ``since`` (a timetag; None = from now).

        Chain the returned timetag into the next call to see every scan exactly
        once.  Deleted scans are skipped.  ``timeout`` in seconds, 0 = forever;
        raises NoScanAvailable when nothing came.
        """
        self._runtime.check_protocol()  # blocking on a database restarted empty would wait forever
        cursor = "$" if since is None else since
        deadline = None if (not block or timeout == 0) else time.monotonic() + timeout
        while True:
            if not block:
                raw = self._conn.call(*cmd.read_history(cursor))
            else:
                remaining = 0.0 if deadline is None else deadline - time.monotonic()
                if deadline is not None and remaining <= 0:
                    raise NoScanAvailable("No new scan before the timeout")
                block_ms = 0 if deadline is None else max(1, int(remaining * 1000))
                raw = self._conn.blocking_call(
                    remaining if deadline is not None else 0, *cmd.read_history(cursor, block_ms)
                )
            if not raw:
                raise NoScanAvailable("No new scan" + (" before the timeout" if block else ""))
            entry_id, fields = raw[0][1][0]
            timetag = entry_id.decode()
            key = dict(zip(fields[::2], fields[1::2]))[b"key"].decode()
            if not _is_deleted_ttl(self._conn.call(*cmd.ttl(key))):
                return timetag, key
            cursor = timetag

    def search_existing_scans(self, **identity: Any) -> tuple[str, list[str]]:
        """Keys of the scans whose identity matches, and the timetag of that moment.

        Strings match exactly, or with a leading/trailing ``*`` wildcard;
        numbers match exactly.  The timetag chains into :meth:`get_next_scan`
        so no scan created after the search is missed.
        """
        query = cmd.search_query(identity)
        limit = 1000
        while True:
            replies = self._conn.call_many(
                [cmd.last_history_entries(1), cmd.search(query, limit)], transaction=True
            )
            for reply in replies:
                if isinstance(reply, Exception):
                    self._runtime.check_protocol()  # no index: the database was not initialised
                    raise reply
            history, result = replies
            total = result[0]
            if total <= limit:
                break
            limit = total
        timetag = history[0][0].decode() if history else "0-0"
        keys = sorted(k.decode() for k in result[1:])
        if keys:
            ttls = self._ttl_many(keys)
            keys = [k for k, ttl in zip(keys, ttls) if not _is_deleted_ttl(ttl)]
        return timetag, keys

    def get_scans_state(self, scan_keys: list[str]) -> dict[str, ScanState]:
        """Current state of many scans in two round trips, without loading them."""
        if not scan_keys:
            return {}
        raw = self._conn.call(*cmd.get_state_stream_pks(scan_keys))
        pks = []
        for key, item in zip(scan_keys, raw):
            values = json.loads(item) if item is not None else []
            if not values:
                self._runtime.check_protocol()
                raise ScanNotFoundError(f"Scan {key} does not exist")
            pks.append(values[0])
        replies = self._conn.call_many(
            [cmd.entries_reversed(stream_key(pk), count=1) for pk in pks]
        )
        states = {}
        for key, reply in zip(scan_keys, replies):
            if isinstance(reply, Exception) or not reply:
                raise ScanNotFoundError(f"Scan {key} has no state")
            fields = reply[0][1]
            states[key] = ScanState(int(dict(zip(fields[::2], fields[1::2]))[b"state"]))
        return states

    def delete_scan(self, scan_key: str, force: bool = False) -> None:
        """Delete a closed scan: its keys expire after a grace period (and count as gone at once).

        A running scan is refused unless ``force``, which closes it first (with
        ``info["end_reason"] = "DELETION"``) so blocked readers wake up.
        """
        self._runtime.check_writable(f"deleting {scan_key}")
        try:
            scan = self.load_scan_for_writing(scan_key)
        except ScanNotFoundError:
            return
        if scan.state < ScanState.CLOSED:
            if not force:
                raise ScanNotTerminatedError(
                    f"Scan {scan_key} is not closed; use force=True to close and delete it"
                )
            scan.info["end_reason"] = "DELETION"
            scan.adopt_writer_streams()
            scan.close()
        self._conn.call_many(cmd.delete_scan(scan.redis_keys), transaction=True)


__all__ = ["DataStore", "ScanNotTerminatedError", "ServerConnectionError"]
