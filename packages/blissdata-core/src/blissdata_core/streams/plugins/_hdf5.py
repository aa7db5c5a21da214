"""Reading datasets from HDF5 files for the plugins, with h5py imported lazily.

h5py is an optional dependency (``pip install 'blissdata-core[hdf5]'``): a
client that never falls back to a file must not need it.  Every failure to
reach file data becomes an :class:`~blissdata_core.errors.ExternalDataError`
that names the file and the dataset.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ...errors import ExternalDataError


def require_h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise ExternalDataError(
            "Reading stream data from HDF5 files needs h5py: pip install 'blissdata-core[hdf5]'"
        ) from exc
    return h5py


def open_file(file_path: str) -> Any:
    """``file_path`` opened read-only by h5py, without file locking: the writer of
    a file may still hold it open while the parts we read are complete.

    If this process already has the file open with locking (e.g. through a
    virtual dataset that user code opened with h5py's defaults), HDF5 before
    1.14 refuses another open with other locking flags: it is then opened
    with the process's own flags.
    """
    h5py = require_h5py()
    # HDF5 compares two flags (use locks, ignore disabled locks): the first of
    # these settings that matches how the process holds the file opens it
    settings = (False, True, "best-effort", None)
    for locking in settings:
        try:
            return h5py.File(file_path, "r", locking=locking)
        except OSError as exc:
            if "locking" not in str(exc) or "flag" not in str(exc) or locking is None:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def open_dataset(file_path: str, data_path: str) -> Iterator[Any]:
    """The h5py dataset ``data_path`` of ``file_path``, opened read-only (see
    :func:`open_file`)."""
    h5py = require_h5py()
    try:
        h5file = open_file(file_path)
    except (OSError, ValueError) as exc:
        raise ExternalDataError(f"Cannot open HDF5 file {file_path!r}: {exc}") from exc
    try:
        try:
            dataset = h5file[data_path]
        except KeyError as exc:
            raise ExternalDataError(
                f"HDF5 file {file_path!r} has no dataset {data_path!r}"
            ) from exc
        if not isinstance(dataset, h5py.Dataset):
            raise ExternalDataError(f"{data_path!r} in {file_path!r} is not a dataset")
        yield dataset
    finally:
        h5file.close()


def read_rows(dataset: Any, key: Any, where: str) -> Any:
    """``dataset[key]``, with h5py's errors turned into ExternalDataError."""
    try:
        return dataset[key]
    except (OSError, ValueError, IndexError) as exc:
        raise ExternalDataError(f"Cannot read {key!r} from {where}: {exc}") from exc
