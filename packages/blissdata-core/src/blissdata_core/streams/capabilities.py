"""Capabilities: what a stream can say about its points beyond the points themselves.

Consumers (the NeXus writer, the h5 facade) ask ``isinstance(stream,
FileBacked)``, never a plugin's name: a new kind of stream whose points live
in files needs a plugin implementing the protocol, and no edit elsewhere.

File-backed streams
-------------------
The points of a :class:`FileBacked` stream are not in Redis: the producer
saves them into files (a detector's frames) and the stream only tells how
far it got.  :meth:`FileBacked.file_runs` says where points are, as
:class:`FileRun` runs of consecutive points stored together in one file;
:meth:`FileBacked.wait_saved` says when they may be read.
:mod:`blissdata_core.streams.file_formats` reads runs and tells how an HDF5
file can reference them (a virtual dataset over HDF5 runs, external storage
over uncompressed EDF frames).

A stream that keeps its points in Redis and only copies them into a file
(``hdf5_fallback``) is not file-backed: its points are those in Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: :attr:`FileRun.file_format` of points saved as rows of an HDF5 dataset
#: (compressed or not: HDF5 filters are the file's business).
HDF5 = "hdf5"
#: :attr:`FileRun.file_format` of points saved as frames of an uncompressed EDF file.
EDF = "edf"


@dataclass(frozen=True)
class FileRun:
    """``count`` consecutive points of a stream, from point ``start``, stored together.

    They are items ``file_index .. file_index + count - 1`` of ``file_path``:
    rows of the dataset ``data_path`` when ``file_format`` is :data:`HDF5`,
    frames of the file (``data_path`` None) when it is :data:`EDF`.  Any
    other ``file_format`` (lowercase: ``"cbf"``, ``"tiff"``, ``"edfgz"``...)
    names a format HDF5 cannot reference, that
    :func:`~blissdata_core.streams.file_formats.read_points` reads through
    fabio (the ``fabio`` extra).
    """

    start: int
    count: int
    file_path: str
    file_format: str
    data_path: str | None
    file_index: int

    @property
    def stop(self) -> int:
        """The stream index after the run's last point."""
        return self.start + self.count


@runtime_checkable
class FileBacked(Protocol):
    """A stream whose points live in files, and that says where.

    Implemented by stream plugins (the ``lima`` plugin does).  Only methods:
    ``isinstance`` never evaluates a property that could fail.
    """

    def file_runs(self, start: int = 0, stop: int | None = None) -> list[FileRun]:
        """Where points ``start .. stop - 1`` are saved, or will be.

        Runs cover exactly that range, in order (``stop=None``: up to the
        current length).  No file needs to exist yet.  Raises
        :class:`~blissdata_core.errors.ExternalDataError` when the stream's
        points are not saved in files at all, even for an empty range.
        """
        ...

    def wait_saved(self, stop: int, timeout: float | None = None) -> bool:
        """Block until points ``0 .. stop - 1`` sit in finished files (safe to read).

        True when they do; False when the stream ended before they were
        saved, or after ``timeout`` seconds (None: no time limit).
        """
        ...


@runtime_checkable
class LinkedDataset(Protocol):
    """A file-backed stream whose points are, in order, the rows of one HDF5 dataset.

    Consumers that write files (the NeXus writer) link that dataset (an HDF5
    external link) rather than reference the stream's runs, as blisswriter
    does for Lima 2 master files.
    """

    def linked_dataset(self) -> tuple[str, str] | None:
        """``(file, dataset)`` holding every point, or None when there is none."""
        ...
