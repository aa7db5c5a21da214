"""One scan, written into every file its ``h5maps`` names: the worker run by the service.

Life of a scan: wait for PREPARED, write the static items, append streamed
data as it arrives (flushing at least every 0.5 s), reference the points of
file-backed streams (detector frames) when streams end, wait for CLOSED, then
apply the final maps. A mapped dataset that cannot be written (its stream's
plugin is not installed, its stream holds JSON values, its points sit in files
HDF5 cannot reference) is left out, logged as an error and listed in the
status, and the scan ends ``incomplete``, never ``complete``; so does a scan
whose producer lost points of a saved stream (its ``publish_errors``: what
reached Redis is written). Any error fails this scan only; a lost Redis
connection is retried, re-reading streams from their start and skipping the
points already in the file.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import h5py
import numpy as np
import redis

from blissdata_core import (
    BaseStream,
    BaseView,
    CursorGroup,
    DataStore,
    EndOfStream,
    Scan,
    ScanState,
)
from blissdata_core.errors import (
    ExternalDataError,
    MissingPluginException,
    ScanNotFoundError,
    ServerConnectionError,
)
from blissdata_core.h5maps import (
    Dataset,
    Group,
    diff,
    get_item,
    parse_maps,
    scan_h5maps,
    stream_datasets,
)
from blissdata_core.streams.capabilities import FileBacked
from blissdata_core.streams.stream import BrokenStream

from . import nexus
from .datasets import ArrayDatasetWriter, FileBackedDatasetWriter
from .errors import SCAN_ERRORS, H5MapError, Interrupted, PathRefusedError
from .files import FileHandle, FilePool
from .paths import check_target
from .readahead import ReadAhead
from .space import SpaceGuard
from .status import ScanStatus, StatusBoard

#: Errors that mean "Redis is unreachable for now", not "this scan is bad".
CONNECTION_ERRORS = (
    ServerConnectionError,
    redis.ConnectionError,
    redis.TimeoutError,
    ConnectionError,
)

FLUSH_PERIOD = 0.3  # + READ_TIMEOUT: the file is flushed at least every 0.5 s while data comes
READ_TIMEOUT = 0.2
MAX_BACKOFF = 5.0

#: What turns one stream into one dataset of a target file.
DatasetWriter = ArrayDatasetWriter | FileBackedDatasetWriter
T = TypeVar("T")


class ScanWriter:
    def __init__(
        self,
        data_store: DataStore,
        scan_key: str,
        board: StatusBoard | None = None,
        roots: list[str] | None = None,
        stop: threading.Event | None = None,
        files: FilePool | None = None,
        resume: bool = False,
    ):
        self._ds = data_store
        self.key = scan_key
        self._board = board or StatusBoard(None)
        self._roots = roots
        self._stop = stop or threading.Event()
        self._files = files or FilePool()
        self._resume = resume
        self._log = logging.getLogger("blissdata_writer.scan")
        self.status = ScanStatus(scan=scan_key)
        self._maps: dict[str, Group] = {}
        self._handles: dict[str, FileHandle] = {}
        self._space: dict[str, SpaceGuard] = {}
        # stream name -> [(file, writer)]
        self._writers: dict[str, list[tuple[str, DatasetWriter]]] = {}
        self._attributed: set[tuple[str, str]] = set()
        self._refused: set[str] = set()

    # --- entry point ----------------------------------------------------------

    def run(self) -> ScanStatus:
        """Write the scan; its final status is published once its files are released."""
        try:
            state, message = self._write()
        except Interrupted:
            self._flush_all()
            state, message = "interrupted", "writer stopped before the scan ended"
        except Exception as exc:  # one scan's failure never stops the service
            message = describe_error(exc)
            if isinstance(exc, SCAN_ERRORS + (OSError, ScanNotFoundError)):
                self._log.error("%s: %s", self.key, message)
            else:
                self._log.error("%s: %s", self.key, message, exc_info=True)
            state = "failed"
        closing_errors = self._close_files()
        if closing_errors and state != "failed":
            # a file not closed cleanly may miss what was flushed last: never "complete"
            state, message = "failed", "closing failed: " + "; ".join(closing_errors)
        return self._finish(state, message)

    def _write(self) -> tuple[str, str]:
        """The scan's life; returns its final state and message."""
        self._publish()
        scan = self._retry(lambda: self._ds.load_scan(self.key))
        self.status.label = f"{scan.number} {scan.name}"
        # a load or update reads the document and the state together: the
        # scan at hand carries the info of the state it is in
        scan = self._wait_state(scan, ScanState.PREPARED)
        self._open_maps(scan)
        if not self._maps and self._refused:
            return self._refused_outcome()
        if not self._maps:
            return "skipped", "no h5maps: nothing to write"
        self._follow_streams(scan)
        scan = self._wait_state(scan, ScanState.CLOSED)
        self._finalize(scan)
        if self._refused:
            return self._refused_outcome()
        lost = {n: e for n, e in scan.publish_errors.items() if n in self._writers}
        if self.status.missing or lost:
            return self._incomplete_outcome(lost)
        return "complete", "saving complete"

    # --- steps ----------------------------------------------------------------

    def _wait_state(self, scan: Scan, state: ScanState) -> Scan:
        while scan.state < state:
            self._check_stop()
            try:
                scan.update(block=True, timeout=0.5)
            except CONNECTION_ERRORS as exc:
                scan = self._reload_after(exc)
        return scan

    def _open_maps(self, scan: Scan) -> None:
        """Validate every map, refuse bad targets, write the static items."""
        maps = parse_maps(scan_h5maps(scan))
        self.status.state = "writing"
        for path, root in maps.items():
            self._start_file(path, root)
        self._publish()

    def _start_file(self, path: str, root: Group, hold_back_end: bool = True) -> None:
        """Open the file at the very path the allow-list checked (or refuse it).

        An entry's ``end_time`` (already in the map of a scan that ended before
        the writer started) is held back until :meth:`_finalize`: readers that
        follow the file as it grows take it for the end of the scan, so it is
        the last item written, as BLISS writes it.
        """
        try:
            handle = self._files.acquire(check_target(path, self._roots))
        except PathRefusedError as exc:
            self._log.error("%s: %s", self.key, exc)
            self.status.refused.append(str(exc))
            self._refused.add(path)
            return
        self._handles[path] = handle
        self._space[path] = SpaceGuard(handle.path)
        self._space[path].check(0)
        with handle.lock() as f:
            if self._resume:
                nexus.remove_entries(f, root)
            else:
                nexus.check_free(f, root, path)
            self.status.files.append(path)
            self._publish()  # "writing" with this file: a restart may now remove what we write
            if hold_back_end:
                root = _without_end_times(root)
            nexus.write_root(f, root)
            f.flush()
        self._maps[path] = root

    def _make_writers(self, scan: Scan, npoints: int | None) -> None:
        for path, root in self._maps.items():
            for dpath, stream_name in stream_datasets(root).items():
                stream = scan.streams.get(stream_name)
                if stream is None:
                    raise H5MapError(f"{path}::{dpath}", f"missing stream {stream_name!r}")
                writer = self._writer_for(stream, path, dpath, npoints)
                if writer is not None:
                    self._writers.setdefault(stream_name, []).append((path, writer))

    def _writer_for(
        self, stream: BaseStream, path: str, dpath: str, npoints: int | None
    ) -> DatasetWriter | None:
        reason = unwritable_reason(stream)
        if reason is not None:
            self._leave_out(path, dpath, reason)
            return None
        if isinstance(stream, FileBacked):
            try:
                return FileBackedDatasetWriter(
                    dpath, path, stream, stream.dtype, tuple(stream.shape)
                )
            except ExternalDataError as exc:  # e.g. frames kept only by the detector
                self._leave_out(path, dpath, str(exc))
                return None
        return ArrayDatasetWriter(dpath, stream.dtype, tuple(stream.shape), npoints)

    def _leave_out(self, path: str, dpath: str, reason: str) -> None:
        """A mapped dataset that will not be written: an error in the log and the status."""
        where = f"{path}::{dpath}"
        self._log.error("%s: %s not written: %s", self.key, where, reason)
        self.status.missing[where] = reason

    def _follow_streams(self, scan: Scan) -> None:
        npoints = scan.info.get("npoints")
        npoints = npoints if isinstance(npoints, int) and npoints > 0 else None
        self._make_writers(scan, npoints)
        if npoints:
            self.status.expected = npoints * sum(len(w) for w in self._writers.values())
        self._log.info("%s: saving %d stream(s)", self.key, len(self._writers))
        while self._writers:
            try:
                self._read_streams(scan)
                break
            except CONNECTION_ERRORS as exc:
                scan = self._reload_after(exc)
        self._locate_files()
        for path, writers in self._writers_by_file().items():
            with self._handles[path].lock() as f:
                for writer in writers:
                    writer.close(f)
                    self._attribute(f, path, writer)
                f.flush()
        self._publish()

    def _locate_files(self) -> None:
        """Where the points of file-backed streams are, before the file locks are taken;
        those that cannot be referenced are left out."""
        for pairs in self._writers.values():
            for path, writer in list(pairs):
                if not isinstance(writer, FileBackedDatasetWriter):
                    continue
                try:
                    self._retry(writer.locate)
                except ExternalDataError as exc:
                    self._leave_out(path, writer.path, str(exc))
                    pairs.remove((path, writer))

    def _read_streams(self, scan: Scan) -> None:
        """Read every stream from its start; writers skip what they already hold."""
        streams = [scan.streams[name] for name in self._writers]
        last_flush = time.monotonic()
        dirty: set[str] = set()
        with ReadAhead(CursorGroup(streams), READ_TIMEOUT) as reads:
            while True:
                self._check_stop()
                try:
                    views = reads.get(timeout=READ_TIMEOUT)
                except EndOfStream:
                    break
                for stream, view in (views or {}).items():
                    dirty |= self._write_view(stream.name, view)
                now = time.monotonic()
                if dirty and now - last_flush >= FLUSH_PERIOD:
                    self._flush(dirty)
                    dirty = set()
                    last_flush = now
                    self._publish()
        self._flush(dirty)

    def _write_view(self, name: str, view: BaseView) -> set[str]:
        pending = [(p, w) for p, w in self._writers[name] if w.written < view.index + len(view)]
        # decode outside the file locks: reading Redis never holds back another scan's file
        needs_data = any(not isinstance(w, FileBackedDatasetWriter) for _, w in pending)
        data = view.get_data() if needs_data else None
        for path, writer in pending:
            with self._handles[path].lock() as f:
                if isinstance(writer, FileBackedDatasetWriter):
                    new = writer.add(f, view.index, len(view))
                else:
                    # the points, and a chunk's worth the file may allocate beyond them
                    self._space[path].check(_nbytes(data) + writer.chunk_nbytes)
                    new = writer.add(f, view.index, data)
                    self._attribute(f, path, writer)
            self.status.points += new
            self.status.datasets[f"{path}::{writer.path}"] = writer.written
        return {path for path, _ in pending}

    def _attribute(self, f: h5py.File, path: str, writer: DatasetWriter) -> None:
        """Attributes of a streamed dataset, once it exists."""
        if not writer.created or (path, writer.path) in self._attributed:
            return
        item = get_item(self._maps[path], writer.path)
        if isinstance(item, Dataset):
            nexus.replace_attributes(f[writer.path], item.attributes)
        self._attributed.add((path, writer.path))

    def _finalize(self, scan: Scan) -> None:
        """Apply the maps as they are at CLOSED: changed items, late files, dataset attributes."""
        for path, new in parse_maps(scan_h5maps(scan)).items():
            if path not in self._maps:
                if path not in self._refused:
                    self._start_file(path, new, hold_back_end=False)
                    for dpath in stream_datasets(new):
                        self._leave_out(path, dpath, LATE_STREAM)
                continue
            prev = self._maps[path]
            streamed = {w.path for w in self._writers_by_file().get(path, []) if w.created}
            before = stream_datasets(prev)
            for dpath, stream_name in stream_datasets(new).items():
                if dpath not in before:
                    self._leave_out(path, dpath, LATE_STREAM)
                elif before[dpath] != stream_name:
                    self._warn(
                        f"{path}::{dpath}: streamed datasets cannot change after PREPARED, ignored"
                    )
            changed = diff(prev, new)
            if changed:
                with self._handles[path].lock() as f:
                    nexus.update_file(f, prev, new, changed, streamed)
                    nexus.stamp_file(f)
                    f.flush()
            self._maps[path] = new

    # --- helpers --------------------------------------------------------------

    def _writers_by_file(self) -> dict[str, list[DatasetWriter]]:
        out: dict[str, list[DatasetWriter]] = {}
        for pairs in self._writers.values():
            for path, writer in pairs:
                out.setdefault(path, []).append(writer)
        return out

    def _flush(self, paths: set[str]) -> None:
        for path in paths:
            with self._handles[path].lock() as f:
                f.flush()

    def _flush_all(self) -> None:
        try:
            self._flush(set(self._handles))
        except Exception as exc:  # already failing; keep the first error
            self._log.warning("%s: flush failed: %s", self.key, exc)

    def _close_files(self) -> list[str]:
        """Release every file; returns what went wrong, per file."""
        errors = []
        for path, handle in self._handles.items():
            try:
                self._files.release(handle)
            except Exception as exc:
                message = f"{path}: {describe_error(exc)}"
                self._log.error("%s: closing %s", self.key, message)
                errors.append(message)
        self._handles.clear()
        return errors

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise Interrupted

    def _retry(self, call: Callable[[], T]) -> T:
        delay = 0.2
        while True:
            self._check_stop()
            try:
                return call()
            except CONNECTION_ERRORS as exc:
                self._log.warning(
                    "%s: Redis unreachable (%s), retry in %.1f s", self.key, exc, delay
                )
                self._stop.wait(delay)
                delay = min(MAX_BACKOFF, delay * 2)

    def _reload_after(self, exc: BaseException) -> Scan:
        self._warn(f"connection lost ({exc}), resuming")
        return self._retry(lambda: self._ds.load_scan(self.key))

    def _warn(self, message: str) -> None:
        self._log.warning("%s: %s", self.key, message)
        self.status.warnings.append(message)

    def _publish(self) -> None:
        self._board.publish(self.status)

    def _refused_outcome(self) -> tuple[str, str]:
        """Files outside the roots fail the scan, even when the others were written."""
        return "failed", "refused target(s): " + "; ".join(self.status.refused)

    def _incomplete_outcome(self, lost: dict[str, dict]) -> tuple[str, str]:
        """Everything else is written; the datasets left out, and the streams whose
        producer lost points (``lost``: the scan's publish_errors), keep the scan
        from ``complete``."""
        parts = []
        if self.status.missing:
            left_out = "; ".join(f"{where} ({why})" for where, why in self.status.missing.items())
            parts.append(f"{len(self.status.missing)} mapped dataset(s) not written: {left_out}")
        if lost:
            streams = "; ".join(
                f"{name!r} ({e.get('lost')} point(s) lost: {e.get('error', 'no reason given')})"
                for name, e in lost.items()
            )
            parts.append(f"{len(lost)} stream(s) published with points lost: {streams}")
        message = "saving incomplete: " + "; ".join(parts)
        self._log.error("%s: %s", self.key, message)
        return "incomplete", message

    def _finish(self, state: str, message: str) -> ScanStatus:
        self.status.state = state
        self.status.message = message
        self._publish()
        if state == "complete":
            self._log.info("%s: %s (%d points)", self.key, message, self.status.points)
        return self.status


#: Why a streamed dataset that appears in the maps only at CLOSED is not written.
LATE_STREAM = "streamed dataset mapped after PREPARED: its stream was not followed"


def unwritable_reason(stream: BaseStream) -> str | None:
    """Why a mapped stream cannot become a dataset, or None when it can."""
    if isinstance(stream, BrokenStream):
        error = stream.exception
        if isinstance(error, MissingPluginException):
            return (
                f"stream {stream.name!r} needs plugin {error.plugin_name!r}, which is not installed"
            )
        return f"stream {stream.name!r} cannot be read: {error}"
    if isinstance(stream, FileBacked) or stream.kind == "array":
        return None
    if stream.kind == "json":
        return f"stream {stream.name!r} holds JSON values, not array data"
    return f"stream {stream.name!r} holds {stream.kind} items, not array data"


def _nbytes(data: np.ndarray | list) -> int:
    """Bytes of a batch of points: an array, or a list of points (free dimensions)."""
    if isinstance(data, np.ndarray):
        return data.nbytes
    return sum(np.asarray(point).nbytes for point in data)


def describe_error(exc: BaseException) -> str:
    """A message that says what went wrong to someone reading the scan status."""
    if isinstance(exc, SCAN_ERRORS):
        return str(exc)
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code == errno.ENOSPC or "No space left" in text or "errno = 28" in text:
        return f"disk full: {text}"
    if code == errno.EROFS or "Read-only file system" in text:
        return f"permission denied (read-only file system): {text}"
    if (
        code in (errno.EACCES, errno.EPERM)
        or isinstance(exc, PermissionError)
        or "Permission denied" in text
    ):
        return f"permission denied: {text}"
    if isinstance(exc, BlockingIOError) or "unable to lock file" in text:
        return f"file locked by another process: {text}"
    return f"{type(exc).__name__}: {text}"


def _without_end_times(root: Group) -> Group:
    """``root`` without its entries' ``end_time`` (the other items are shared)."""
    children = {}
    for name, item in root.children.items():
        if isinstance(item, Group) and "end_time" in item.children:
            kept = {key: child for key, child in item.children.items() if key != "end_time"}
            item = Group(raw=item.raw, attributes=item.attributes, children=kept)
        children[name] = item
    return Group(raw=root.raw, attributes=root.attributes, children=children)
