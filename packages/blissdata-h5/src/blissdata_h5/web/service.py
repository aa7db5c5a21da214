"""What the handlers ask for: locate a requested file, open it through the facade, list files.

Errors are raised as h5grove raises them (its ``create_error`` callback and
status codes: 404 for a missing file or path, 422 for a bad argument, 403 for
a file the server may not read), so that H5Web's messages read the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from h5grove.models import LinkResolution
from h5grove.utils import NotFoundError, QueryArgumentError, parse_link_resolution_arg

from blissdata_core import DataStore
from blissdata_core.h5maps import file_key

from ..errors import FileSourceError
from ..file import File
from .content import create_content, list_paths
from .roots import OutsideRootsError, Roots

#: File name endings listed by the page (the files themselves are served whatever their name).
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nx", ".nxs", ".nx5")
#: At most that many files and live scans listed by ``/files/``.
LIST_LIMIT = 500

ErrorFactory = Callable[[int, str], Exception]


class Service:
    """Files under ``roots``, read live from ``data_store`` (a DataStore or None) or from disk."""

    def __init__(self, roots: Roots, data_store: DataStore | None = None, source: str = "auto"):
        self.roots = roots
        self.data_store = data_store
        self.source = source if data_store is not None else "file"

    # --- files -----------------------------------------------------------------
    def locate(self, relative: str, create_error: ErrorFactory) -> str:
        try:
            return self.roots.resolve(relative, self.is_live)
        except OutsideRootsError as exc:
            raise create_error(403, f"Cannot read file: {exc}") from None

    def is_live(self, path: str) -> bool:
        """True when scans in Redis describe this file."""
        if self.data_store is None or self.source == "file":
            return False
        with File(path, data_store=self.data_store, source="redis") as file:
            return len(file) > 0

    @contextlib.contextmanager
    def open(self, path: str, create_error: ErrorFactory) -> Iterator[File]:
        on_disk = os.path.isfile(path)
        if not on_disk and self.source == "file":
            raise create_error(404, "File not found!")
        try:
            with File(path, data_store=self.data_store, source=self.source) as file:
                if not on_disk and len(file) == 0:  # no file, and no scan writes it
                    raise create_error(404, "File not found!")
                yield file
        except FileSourceError as exc:
            if "Permission denied" in str(exc):
                raise create_error(403, "Cannot read file: Permission denied!") from None
            raise

    def version(self, path: str) -> str:
        """Changes whenever what the file shows may have changed (a point, a state, a write).

        The page polls it to refresh H5Web only when there is something new.
        """
        parts = []
        with contextlib.suppress(OSError):
            stat = os.stat(path)
            parts.append(f"file:{stat.st_mtime_ns}:{stat.st_size}")
        if self.data_store is not None and self.source != "file":
            _, keys = self.data_store.search_existing_scans(path=path)
            for key in sorted(keys):
                try:
                    scan = self.data_store.load_scan(key)
                    lengths = ",".join(str(len(stream)) for stream in scan.streams.values())
                except Exception:  # noqa: BLE001 - a scan deleted meanwhile: a change too
                    lengths = "gone"
                    parts.append(f"{key}:{lengths}")
                    continue
                parts.append(f"{key}:{int(scan.state)}:{lengths}")
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def live_files(self) -> list[str]:
        """Files (relative to a root) that scans in Redis write, newest scans last."""
        if self.data_store is None or self.source == "file":
            return []
        _, keys = self.data_store.search_existing_scans()
        found: dict[str, None] = {}
        for key in keys[-LIST_LIMIT:]:
            try:
                path = self.data_store.load_scan(key).path
            except Exception:  # noqa: BLE001 - a scan deleted meanwhile is just not listed
                continue
            relative = self.roots.relative(file_key(path)) if path else None
            if relative is not None:
                found[relative] = None
        return list(found)

    def listing(self) -> dict:
        live = self.live_files()
        on_disk = list(self.roots.files(HDF5_SUFFIXES, LIST_LIMIT))
        names = sorted(set(live) | set(on_disk))
        return {
            "roots": self.roots.directories,
            "files": [{"file": name, "live": name in live} for name in names],
        }

    # --- h5grove content -------------------------------------------------------------
    @contextlib.contextmanager
    def content(
        self, path: str, h5path: str | None, resolve_links: str | None, create_error: ErrorFactory
    ) -> Iterator[Any]:
        with self._grove_errors(create_error):
            resolve = _resolution(resolve_links)
            with self.open(path, create_error) as file:
                yield create_content(file, h5path, resolve)

    def paths(
        self, path: str, h5path: str | None, resolve_links: str | None, create_error: ErrorFactory
    ) -> list[str]:
        with self._grove_errors(create_error):
            resolve = _resolution(resolve_links)
            with self.open(path, create_error) as file:
                return list_paths(file, h5path, resolve)

    @staticmethod
    @contextlib.contextmanager
    def _grove_errors(create_error: ErrorFactory) -> Iterator[None]:
        try:
            yield
        except NotFoundError as exc:
            raise create_error(404, str(exc)) from None
        except QueryArgumentError as exc:
            raise create_error(422, str(exc)) from None


def _resolution(argument: str | None) -> LinkResolution:
    return parse_link_resolution_arg(argument, fallback=LinkResolution.ONLY_VALID)
