"""``blissdata.h5api.dynamic_hdf5`` under ``blissdata_core.install_as_blissdata()``.

The reference's dynamic HDF5 file reads a file that BLISS is still writing.
Here that is :class:`blissdata_h5.File` on the file (``source="file"``),
which follows it with the same options: failed reads are retried every
``retry_period`` seconds for ``retry_timeout`` seconds; until a scan entry
ended (``end_time``, or the writer's status), objects still missing are
waited for and datasets iterate to their end; ``lima_names`` (with
``lima_url_template``, ``lima_url_template_args`` and the deprecated
``instrument_name``) reads Lima frames from the Lima files while the scan
file lacks ``instrument/<name>/data``.  ``hdf5_retry_handler``, ``locking``
and ``prioritize_non_native_h5items`` are accepted and change nothing (the
file is always opened without locking, and the writer's dataset is
preferred to the Lima files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .file import File as _File

#: Reference options accepted with no effect here (see the module docstring).
ACCEPTED_OPTIONS = frozenset({"prioritize_non_native_h5items", "hdf5_retry_handler", "locking"})


class File(_File):
    """A (possibly growing) HDF5 file with the reference's ``dynamic_hdf5.File`` signature."""

    def __init__(
        self,
        file: str | os.PathLike,
        mode: str = "r",
        retry_timeout: float | None = None,
        retry_period: float | None = None,
        lima_names: Sequence[str] = (),
        instrument_name: str | None = None,
        lima_url_template: str | None = None,
        lima_url_template_args: Mapping[str, str] | None = None,
        **openargs: Any,
    ):
        unknown = set(openargs) - ACCEPTED_OPTIONS
        if unknown:
            raise TypeError(f"dynamic_hdf5.File got unexpected options {sorted(unknown)}")
        args = dict(lima_url_template_args or {})
        if instrument_name:
            args["instrument_name"] = instrument_name
        super().__init__(
            file,
            mode=mode,
            source="file",
            retry_timeout=retry_timeout,
            retry_period=retry_period,
            lima_names=lima_names,
            lima_url_template=lima_url_template,
            lima_url_template_args=args,
        )
