"""Simulated Lima 2 and mosca detectors: data saved to HDF5 files, progress published.

Neither has a server: the Lima 2 conductor and the mosca Tango device are
named in the stream info, but nothing answers there, so readers take the
data from the files.

- The Lima 2 frame source writes its frames into a master file that appears
  (renamed from a partial file) once the acquisition ends, before the stream
  is sealed; until then its frames are, as far as readers know, only at the
  conductor.  Each event is the number of frames acquired.
- The mosca detector saves spectra into files of ``points_per_file`` rows,
  ``{prefix}spectra_NNNN.h5``; a file is complete (and closed) before its
  spectra are reported saved.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from blissdata_core.streams.definition import StreamDefinition
from blissdata_core.streams.plugins.lima2 import Lima2Stream
from blissdata_core.streams.plugins.mosca import MoscaStream

LIMA2_DATA_PATH = "/entry_0000/processing/raw_frame/data"
CONDUCTOR = ("localhost", 18000)
MOSCA_DATA_PATH = "/entry_0000/mosca"
MOSCA_SERVER_URL = "tango://localhost:10000/id00/mosca/simulator"


def lima2_definition(
    name: str, dtype: str, shape: tuple[int, ...], master_file: str, acq_uuid: str
) -> StreamDefinition:
    return Lima2Stream.make_definition(
        name, "raw_frame", CONDUCTOR[0], CONDUCTOR[1], acq_uuid,
        (master_file, LIMA2_DATA_PATH), dtype, shape,
    )  # fmt: skip


def mosca_definition(
    name: str,
    dtype: str,
    shape: tuple[int, ...],
    directory: str,
    prefix: str,
    ppf: int,
    acq_id: int,
) -> StreamDefinition:
    saving = {
        "file_path": directory,
        "data_path": MOSCA_DATA_PATH,
        "file_format": "hdf5",
        "file_prefix": prefix,
        "points_per_file": ppf,
        "saving_enabled": True,
        "enabled_detectors": [0],
    }
    return MoscaStream.make_definition(name, 0, 0, dtype, shape, MOSCA_SERVER_URL, acq_id, saving)


class Lima2Saver:
    """Frames into ``master_file`` (written as a partial file, renamed at :meth:`close`)."""

    def __init__(self, stream: Lima2Stream, npoints: int):
        assert stream.master_file is not None
        self.stream = stream
        self.path, self.data_path = stream.master_file
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self._partial = self.path + ".partial"
        self._file: h5py.File | None = h5py.File(self._partial, "w")
        self._dset = self._file.create_dataset(
            self.data_path, shape=(npoints,) + stream.shape, dtype=stream.dtype
        )
        self._count = 0

    def save(self, frame: np.ndarray) -> None:
        """Save the next frame and publish the number of frames acquired."""
        self._dset[self._count] = frame
        self._count += 1
        self.stream.send(self._count)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            os.replace(self._partial, self.path)


class MoscaSaver:
    """Spectra where the stream's runs say, one HDF5 file at a time."""

    def __init__(self, stream: MoscaStream, npoints: int):
        self.stream = stream
        self.npoints = npoints
        self._file: h5py.File | None = None
        self._left = 0
        self._index = 0
        self._acquired = 0
        self._saved = 0
        os.makedirs(stream.info["mosca_info"]["file_path"], exist_ok=True)

    def save(self, spectrum: np.ndarray) -> None:
        """Save the next spectrum and publish the progress."""
        if self._file is None:
            run = self.stream.file_runs(self._acquired, self.npoints)[0]
            self._file = h5py.File(run.file_path, "w")
            self._dset = self._file.create_dataset(
                run.data_path, shape=(run.count,) + self.stream.shape, dtype=self.stream.dtype
            )
            self._left, self._index = run.count, run.file_index
        self._dset[self._index] = spectrum
        self._index += 1
        self._left -= 1
        self._acquired += 1
        if not self._left:
            self.close()
        self.stream.send_status(self._acquired - 1, self._saved - 1)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._saved = self._acquired
