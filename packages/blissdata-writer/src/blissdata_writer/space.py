"""Free-space guard: a scan stops with a clear status before its disk is completely full.

Failing in the HDF5 library on ENOSPC leaves the file's state undefined (HDF5
1.12 and 2.0 alike may crash the process when such a file is closed), so the
writer checks the free space of the target's file system before each write and
keeps a reserve for metadata, other writers and the files' closing.
"""

from __future__ import annotations

import os
import shutil
import time

from .errors import DiskFullError

#: Bytes left free on a target's file system ($BLISSDATA_WRITER_RESERVE_BYTES).
RESERVE_BYTES = int(os.environ.get("BLISSDATA_WRITER_RESERVE_BYTES", 16 * 2**20))
#: A :class:`SpaceGuard` reads the free space again at least this often (other
#: processes write to the disk too) ...
REREAD_SECONDS = 0.1
#: ... and before any write that its estimate puts this close to the reserve.
REREAD_MARGIN = 256 * 2**20


class SpaceGuard:
    """The free-space check of one scan's writes into one target file's file system.

    Reading the free space costs a system call that is dear next to the write
    of a chunk into the page cache; between two readings the guard counts what
    it let through instead.  Near the reserve it reads before every write.
    """

    def __init__(self, path: str):
        self._directory = os.path.dirname(path) or "."
        self._free = 0
        self._read_at = -float("inf")  # the first check reads
        self._spent = 0

    def check(self, nbytes: int) -> None:
        """Raise DiskFullError unless ``nbytes`` more fit above the reserve."""
        now = time.monotonic()
        estimate = self._free - self._spent
        if (
            now - self._read_at >= REREAD_SECONDS
            or estimate - nbytes < RESERVE_BYTES + REREAD_MARGIN
        ):
            self._free = estimate = shutil.disk_usage(self._directory).free
            self._read_at, self._spent = now, 0
        if estimate - nbytes < RESERVE_BYTES:
            raise DiskFullError(
                f"disk full: {estimate} bytes free in {self._directory}, {nbytes} to write, "
                f"{RESERVE_BYTES} kept in reserve"
            )
        self._spent += nbytes
