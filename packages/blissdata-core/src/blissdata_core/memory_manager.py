"""Keep a blissdata Redis database under a memory budget.

Redis is a buffer in front of the files, not an archive.  A beamline runs one
memory manager next to its Redis; each pass (:meth:`MemoryManager.run_once`):

1. lists every scan (``SCAN`` over the scan documents, so it works even when
   the search index cannot answer, e.g. with Redis out of memory);
2. with a retention, gives each closed scan a TTL so that it counts as deleted
   ``retention`` seconds after it was closed, then vanishes
   ``DELETION_GRACE_SECONDS`` later (the deletion rule of the protocol:
   a TTL within the grace period means "deleted");
3. when ``used_memory`` (``INFO memory``) exceeds the budget, frees memory down
   to ``low_water * max_memory``:

   * first the data of closed scans, oldest scan first: every data stream is
     trimmed (``XTRIM MINID``) down to its last entry, which for a sealed
     stream is the seal.  Readers then get ``IndexNoMoreThereError`` for the
     trimmed points and go to the file (``hdf5_fallback``, the h5 facade);
   * then, if still over budget, running scans, oldest first, down to their
     ``min_window`` most recent points per stream.  Scans closed less than
     ``protect`` seconds ago count as running here: a writer that lags behind
     still finds their last points in Redis.

The last entry of a stream is never removed: it carries the stream length
(``<index>-1`` plus ``len``) or the seal (total length), so ``len()``, the
seal and the server-side seal function stay correct after any trimming.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import redis

from . import protocol_commands as cmd
from .connection import RedisConnection
from .errors import BlissdataError
from .protocol import DELETION_GRACE_SECONDS, stream_key
from .runtime import check_protocol

__all__ = ["MemoryManager", "ScanRecord", "parse_size", "format_bytes"]

_logger = logging.getLogger(__name__)

#: Scan states (ScanState values; the manager reads them raw).
_CLOSED = 4

#: Scans examined per pipelined round trip.
_BATCH = 200

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 2**10,
    "kib": 2**10,
    "m": 10**6,
    "mb": 2**20,
    "mib": 2**20,
    "g": 10**9,
    "gb": 2**30,
    "gib": 2**30,
    "t": 10**12,
    "tb": 2**40,
    "tib": 2**40,
}


def parse_size(text: str | int) -> int:
    """Bytes from ``"512mb"``, ``"2GiB"``, ``"1g"`` or a plain integer.

    Units follow redis.conf: ``k``/``m``/``g`` are powers of 1000, ``kb``/``mb``/
    ``gb`` (and ``kib``/``mib``/``gib``) powers of 1024; case does not matter.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"A memory size must be positive, not {text}")
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match[2].lower() not in _SIZE_UNITS:
        raise ValueError(f"Not a memory size: {text!r} (examples: 500mb, 2gb, 1000000)")
    size = int(float(match[1]) * _SIZE_UNITS[match[2].lower()])
    if size <= 0:
        raise ValueError(f"A memory size must be positive, not {text!r}")
    return size


def format_bytes(nbytes: float) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024:
            return f"{value:.4g} {unit}"
        value /= 1024
    return f"{value:.4g} TiB"


@dataclass
class ScanRecord:
    """What the manager knows of one scan in one pass."""

    key: str
    state: int
    #: Server time (ms) of the last state change: the closing time of a closed scan.
    state_time_ms: int
    ttl: int
    state_key: str
    stream_keys: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.state >= _CLOSED

    @property
    def deleted(self) -> bool:
        return self.ttl == -2 or 0 <= self.ttl <= DELETION_GRACE_SECONDS


def _entry_index(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def _entry_end(entry: Any) -> int:
    """Stream length after ``entry`` (``[id, fields]`` of a data entry or the seal)."""
    entry_id, fields = entry[0], entry[1]
    values = dict(zip(fields[::2], fields[1::2]))
    if b"id" in values and b"payload" not in values:  # the seal carries the total
        return int(values[b"id"])
    return _entry_index(entry_id) + int(values.get(b"len", 1))


class MemoryManager:
    """Trims and expires scans so that one Redis database stays under ``max_memory`` bytes.

    ``retention`` (seconds, None = never): how long a closed scan stays.
    ``min_window``: points per stream a running scan always keeps.
    ``protect``: seconds after closing during which a scan is trimmed only
    like a running scan (down to ``min_window``), for writers that lag.
    ``low_water``: fraction of ``max_memory`` a cleanup frees down to, so the
    next points do not trigger a cleanup at once.
    """

    def __init__(
        self,
        url: str,
        max_memory: int | str,
        *,
        retention: float | None = None,
        min_window: int = 1000,
        protect: float = 0.0,
        low_water: float = 0.9,
        **redis_options: Any,
    ) -> None:
        self.max_memory = parse_size(max_memory)
        if retention is not None and retention < 0:
            raise ValueError(f"retention must be >= 0 seconds, not {retention}")
        if min_window < 1:
            raise ValueError(f"min_window must be >= 1 point, not {min_window}")
        if not 0 < low_water <= 1:
            raise ValueError(f"low_water must be in (0, 1], not {low_water}")
        self.retention = retention
        self.min_window = int(min_window)
        if protect < 0:
            raise ValueError(f"protect must be >= 0 seconds, not {protect}")
        self.protect = float(protect)
        self.low_water = low_water
        self.url = url
        self._conn = RedisConnection(url, **redis_options)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def target_memory(self) -> int:
        return int(self.max_memory * self.low_water)

    # -- measuring ----------------------------------------------------------------
    def used_memory(self) -> int:
        """``used_memory`` of ``INFO memory``: what Redis compares to its own maxmemory."""
        raw = self._conn.call(*cmd.memory_info())
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        match = re.search(r"^used_memory:(\d+)", text, re.M)
        if match is None:
            raise BlissdataError("INFO memory has no used_memory field")
        return int(match[1])

    def _server_time_ms(self) -> int:
        sec, usec = self._conn.call(*cmd.server_time())
        return int(sec) * 1000 + int(usec) // 1000

    # -- listing scans ----------------------------------------------------------------
    def _scan_keys(self) -> list[str]:
        keys: list[str] = []
        cursor = b"0"
        while True:
            cursor, batch = self._conn.call(*cmd.list_scan_documents(cursor))
            keys += [k.decode() for k in batch]
            if cursor in (b"0", 0, "0"):
                return sorted(set(keys))  # ULID keys: creation order

    def list_scans(self) -> list[ScanRecord]:
        """Every scan with its state, closing time, TTL and stream keys, oldest first."""
        records = []
        keys = self._scan_keys()
        for start in range(0, len(keys), _BATCH):
            batch = keys[start : start + _BATCH]
            commands: list[tuple[Any, ...]] = []
            for key in batch:
                commands.append(cmd.ttl(key))
                commands.append(cmd.get_stream_pks(key))
            replies = self._conn.call_many(commands)
            pending = []
            for i, key in enumerate(batch):
                ttl, raw = replies[2 * i], replies[2 * i + 1]
                parsed = self._parse_models(key, ttl, raw)
                if parsed is not None:
                    pending.append((key, ttl, *parsed))
            states = self._conn.call_many(
                [cmd.entries_reversed(stream_key(spk), count=1) for _, _, spk, _ in pending]
            )
            for (key, ttl, state_pk, stream_pks), reply in zip(pending, states):
                try:
                    entry_id, fields = reply[0]
                    state = int(dict(zip(fields[::2], fields[1::2]))[b"state"])
                    state_time = int(entry_id.split(b"-", 1)[0])
                except (TypeError, IndexError, KeyError, ValueError):
                    _logger.warning("Scan %s has no readable state entry; left alone", key)
                    continue
                records.append(
                    ScanRecord(
                        key=key,
                        state=state,
                        state_time_ms=state_time,
                        ttl=int(ttl),
                        state_key=stream_key(state_pk),
                        stream_keys=[stream_key(pk) for pk in stream_pks],
                    )
                )
        return records

    @staticmethod
    def _parse_models(key: str, ttl: Any, raw: Any) -> tuple[str, list[str]] | None:
        if isinstance(ttl, Exception) or isinstance(raw, Exception) or raw is None:
            return None  # vanished between SCAN and now, or not a JSON document
        try:
            paths = json.loads(raw)
            (state_pk,) = paths["$.state_stream.pk"]
            stream_pks = list(paths["$.data_streams.*.pk"])
            if not isinstance(state_pk, str) or not all(isinstance(p, str) for p in stream_pks):
                raise TypeError("primary keys must be strings")
        except (ValueError, TypeError, KeyError) as exc:
            _logger.warning("Scan %s has a malformed document (%s); left alone", key, exc)
            return None
        return state_pk, stream_pks

    # -- retention -------------------------------------------------------------------
    def _expire(self, scan: ScanRecord, now_ms: int) -> bool:
        """Give a closed scan the TTL its retention asks for; True when something changed."""
        assert self.retention is not None
        remaining = self.retention - (now_ms - scan.state_time_ms) / 1000.0
        ttl = math.ceil(max(remaining, 0.0)) + DELETION_GRACE_SECONDS
        if scan.ttl >= 0 and scan.ttl <= ttl:
            return False  # already expiring at least as soon
        keys = [scan.key, scan.state_key, *scan.stream_keys]
        # LT: never postpone an expiry somebody else (delete_scan) set.
        self._conn.call_many([cmd.expire(k, ttl, only_sooner=True) for k in keys], transaction=True)
        _logger.info(
            "Scan %s closed %.0f s ago: expires in %d s (retention %g s)",
            scan.key,
            (now_ms - scan.state_time_ms) / 1000.0,
            ttl,
            self.retention,
        )
        return True

    # -- trimming ---------------------------------------------------------------------
    def _trim_stream(self, key: str, keep_points: int) -> int:
        """Remove the entries before the ones holding the last ``keep_points`` points.

        The last entry always stays.  Returns the number of entries removed.
        """
        last = self._conn.call(*cmd.entries_reversed(key, count=1))
        if not last:
            return 0
        min_id = last[0][0]
        if keep_points > 0:
            total = _entry_end(last[0])
            if total <= keep_points:
                return 0
            holder = self._conn.call(*cmd.entries_reversed(key, total - keep_points, count=1))
            if not holder:
                return 0  # already trimmed past that point
            min_id = min(min_id, holder[0][0], key=_entry_index)
        removed = self._conn.call(*cmd.trim_before(key, min_id))
        return int(removed)

    def _trim_scan(self, scan: ScanRecord, keep_points: int) -> int:
        removed = 0
        for key in scan.stream_keys:
            removed += self._trim_stream(key, keep_points)
        return removed

    # -- one pass ----------------------------------------------------------------------
    def run_once(self) -> dict[str, Any]:
        """One pass of retention and trimming; returns what it did.

        Keys of the summary: ``used_memory_before``, ``used_memory_after``,
        ``max_memory``, ``target_memory``, ``scans``, ``running``, ``closed``,
        ``expired`` (scan keys given a TTL), ``trimmed_closed`` and
        ``trimmed_running`` (scan keys trimmed whole, or down to ``min_window``:
        running scans and those closed within ``protect``), ``entries_removed`` and
        ``over_budget`` (still above ``max_memory`` after the pass).
        """
        check_protocol(self._conn)
        now_ms = self._server_time_ms()
        scans = [s for s in self.list_scans() if not s.deleted]
        used_before = self.used_memory()
        summary: dict[str, Any] = {
            "used_memory_before": used_before,
            "max_memory": self.max_memory,
            "target_memory": self.target_memory,
            "scans": len(scans),
            "running": sum(1 for s in scans if not s.closed),
            "closed": sum(1 for s in scans if s.closed),
            "expired": [],
            "trimmed_closed": [],
            "trimmed_running": [],
            "entries_removed": 0,
        }
        if self.retention is not None:
            for scan in scans:
                if scan.closed and self._expire(scan, now_ms):
                    summary["expired"].append(scan.key)

        used = used_before
        if used > self.max_memory:
            _logger.info(
                "Memory %s above the budget %s: trimming down to %s",
                format_bytes(used),
                format_bytes(self.max_memory),
                format_bytes(self.target_memory),
            )
            old = [s for s in scans if s.closed and now_ms - s.state_time_ms >= 1000 * self.protect]
            young = [s for s in scans if s not in old]
            plan = [(s, 0, "trimmed_closed") for s in old]
            plan += [(s, self.min_window, "trimmed_running") for s in young]
            for scan, keep, label in plan:
                if used <= self.target_memory:
                    break
                removed = self._trim_scan(scan, keep)
                if removed:
                    summary[label].append(scan.key)
                    summary["entries_removed"] += removed
                    used = self.used_memory()
                    _logger.info(
                        "Trimmed %d entries of %s scan %s%s: memory now %s",
                        removed,
                        "closed" if keep == 0 else "running or recent",
                        scan.key,
                        "" if keep == 0 else f" (kept the last {keep} points per stream)",
                        format_bytes(used),
                    )
        summary["used_memory_after"] = used
        summary["over_budget"] = used > self.max_memory
        if summary["over_budget"]:
            _logger.warning(
                "Memory %s is still above the budget %s: nothing more may be trimmed "
                "(running scans keep %d points per stream)",
                format_bytes(used),
                format_bytes(self.max_memory),
                self.min_window,
            )
        _logger.info(
            "Pass done: %d scans (%d running), memory %s -> %s of %s, %d expired, "
            "%d closed and %d running scans trimmed (%d entries)",
            summary["scans"],
            summary["running"],
            format_bytes(used_before),
            format_bytes(used),
            format_bytes(self.max_memory),
            len(summary["expired"]),
            len(summary["trimmed_closed"]),
            len(summary["trimmed_running"]),
            summary["entries_removed"],
        )
        return summary

    def run_forever(self, interval: float = 10.0, stop: threading.Event | None = None) -> None:
        """Run a pass every ``interval`` seconds until ``stop`` is set; survives Redis outages."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.run_once()
            except (BlissdataError, redis.RedisError) as exc:
                _logger.error("Memory manager pass failed: %s", exc)
            stop.wait(interval)
