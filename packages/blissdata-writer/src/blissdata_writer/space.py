"""Free-space guard: a scan stops with a clear status before its disk is completely full.

Failing in the HDF5 library on ENOSPC leaves the file's state undefined (HDF5
1.12 and 2.0 alike may crash the process when such a file is closed), so the
writer checks the free space of the target's file system before each write and
keeps a reserve for metadata, other writers and the files' closing.
"""

from __future__ import annotations

import os
import shutil

from .errors import DiskFullError

#: Bytes left free on a target's file system ($BLISSDATA_WRITER_RESERVE_BYTES).
RESERVE_BYTES = int(os.environ.get("BLISSDATA_WRITER_RESERVE_BYTES", 16 * 2**20))


def check_space(path: str, nbytes: int = 0) -> None:
    """Raise DiskFullError unless ``nbytes`` more fit in ``path``'s file system above the reserve."""
    directory = os.path.dirname(path) or "."
    free = shutil.disk_usage(directory).free
    if free - nbytes < RESERVE_BYTES:
        raise DiskFullError(
            f"disk full: {free} bytes free in {directory}, {nbytes} to write, "
            f"{RESERVE_BYTES} kept in reserve"
        )
