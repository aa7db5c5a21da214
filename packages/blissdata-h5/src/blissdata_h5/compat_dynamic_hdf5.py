"""``blissdata.h5api.dynamic_hdf5`` under ``blissdata_core.install_as_blissdata()``.

The reference's dynamic HDF5 file reads a file that BLISS is still writing,
retrying failed reads for ``retry_timeout`` seconds.  Here that is
:class:`blissdata_h5.File` on the file (``source="file"``) with the same
``retry_timeout``.  The reference's other options are accepted: the file
source already follows the writer's links to Lima frame files, and retries on
its own schedule, so ``lima_names``, ``retry_period`` and the Lima URL
templates change nothing here.
"""

from __future__ import annotations

import os
from typing import Any

from .file import File as _File

#: Reference options with no effect here (see the module docstring).
ACCEPTED_OPTIONS = frozenset(
    {
        "retry_period",
        "lima_names",
        "instrument_name",
        "lima_url_template",
        "lima_url_template_args",
        "prioritize_non_native_h5items",
        "hdf5_retry_handler",
        "locking",
    }
)


class File(_File):
    """A (possibly growing) HDF5 file with the reference's ``dynamic_hdf5.File`` signature."""

    def __init__(
        self,
        file: str | os.PathLike,
        mode: str = "r",
        retry_timeout: float | None = None,
        **openargs: Any,
    ):
        unknown = set(openargs) - ACCEPTED_OPTIONS
        if unknown:
            raise TypeError(f"dynamic_hdf5.File got unexpected options {sorted(unknown)}")
        super().__init__(file, mode=mode, source="file", retry_timeout=retry_timeout)
