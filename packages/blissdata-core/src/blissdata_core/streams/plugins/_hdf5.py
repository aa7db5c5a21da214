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


@contextlib.contextmanager
def open_dataset(file_path: str, data_path: str) -> Iterator[Any]:
    """The h5py dataset ``data_path`` of ``file_path``, opened read-only.

    File locking is off: the writer of a file may still hold it open while the
    parts we read are complete.
    """
    h5py = require_h5py()
    try:
        h5file = h5py.File(file_path, "r", locking=False)
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
