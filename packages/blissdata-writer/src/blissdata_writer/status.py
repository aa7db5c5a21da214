"""Per-scan writing status, published in Redis for clients and kept locally for progress display.

Key ``blissdata_writer:status:<scan key>`` holds a JSON document::

    {"scan": <scan key>,
     "state": "waiting|writing|complete|incomplete|failed|skipped|interrupted",
     "message": str, "points": int, "expected": int|null, "datasets": {"<file>::<path>": int},
     "missing": {"<file>::<path>": "<reason>"}, "files": [str], "refused": [str],
     "warnings": [str], "writer": "<host>:<pid>", "updated": <unix time>}

``points`` is the number of points written over all streamed datasets;
``expected`` the number to come when the scan info tells ``npoints`` (else null).
``missing`` lists the mapped datasets that cannot be written (their stream's
plugin is not installed, or the stream holds JSON values): the scan still
writes everything else, and ends ``incomplete`` instead of ``complete``.
``interrupted`` means the writer stopped before the scan ended; a restarted
writer picks such scans up again (as it does ``waiting`` and ``writing`` ones).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field

import redis

STATUS_PREFIX = "blissdata_writer:status:"
#: The _SCAN_HISTORY_ id of the last scan the service took in hand.
CURSOR_KEY = "blissdata_writer:since"
STATUS_TTL = 7 * 24 * 3600

TERMINAL_STATES = ("complete", "incomplete", "failed", "skipped")

_logger = logging.getLogger(__name__)


def status_key(scan_key: str) -> str:
    return STATUS_PREFIX + scan_key


@dataclass
class ScanStatus:
    scan: str
    state: str = "waiting"
    message: str = ""
    points: int = 0
    #: points expected over all streamed datasets, when the scan tells (info["npoints"])
    expected: int | None = None
    datasets: dict[str, int] = field(default_factory=dict)
    #: mapped datasets left out, "<file>::<path>" -> why
    missing: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    writer: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    updated: float = 0.0
    #: scan number and name, for display
    label: str = ""

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    def to_json(self) -> str:
        return json.dumps(asdict(self))


class StatusBoard:
    """Where workers report; publishing errors never fail a scan (Redis may be down)."""

    def __init__(self, redis_url: str | None):
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._lock = threading.Lock()
        self.active: dict[str, ScanStatus] = {}

    def publish(self, status: ScanStatus) -> None:
        status.updated = time.time()
        with self._lock:
            if status.done or status.state == "interrupted":
                self.active.pop(status.scan, None)
            else:
                self.active[status.scan] = status
        if self._redis is None:
            return
        try:
            self._redis.set(status_key(status.scan), status.to_json(), ex=STATUS_TTL)
        except redis.RedisError as exc:
            _logger.debug("status of %s not published: %s", status.scan, exc)

    def snapshot(self) -> list[ScanStatus]:
        with self._lock:
            return list(self.active.values())

    # --- what a restarted service needs --------------------------------------

    def read(self, scan_key: str) -> dict | None:
        if self._redis is None:
            return None
        raw = self._redis.get(status_key(scan_key))
        return json.loads(raw) if raw else None

    def unfinished(self) -> list[str]:
        """Scans whose status says a writer took them but never finished."""
        if self._redis is None:
            return []
        keys = []
        for key in self._redis.scan_iter(match=STATUS_PREFIX + "*", count=1000):
            raw = self._redis.get(key)
            if raw and json.loads(raw).get("state") not in TERMINAL_STATES:
                keys.append(key.decode()[len(STATUS_PREFIX) :])
        return keys

    def load_cursor(self) -> str | None:
        if self._redis is None:
            return None
        raw = self._redis.get(CURSOR_KEY)
        return raw.decode() if raw else None

    def save_cursor(self, timetag: str) -> None:
        if self._redis is not None:
            self._redis.set(CURSOR_KEY, timetag)


def read_status(redis_url: str, scan_key: str) -> dict | None:
    """A client's view of one scan's writing status (None before the writer saw it)."""
    return StatusBoard(redis_url).read(scan_key)
