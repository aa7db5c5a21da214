"""A simulated lima detector: frames saved to HDF5 files, published by reference.

The stream is the core's lima stream (:class:`~blissdata_core.streams.plugins.lima.LimaStream`):
JSON status entries ``{"last_index", "last_index_saved"}`` and a ``lima_info``
block (protocol 1, saving pattern) that both the blissdata 2.x lima client and
the core's lima plugin decode.  There is no lima server: ``buffer_max_number``
is 0, so readers always go to the files.  Frames go where the stream's runs
say; a file is complete (and closed) before a frame of the next file is
reported saved, which is when readers consider it closed.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from blissdata_core.streams.definition import StreamDefinition
from blissdata_core.streams.plugins.lima import LimaLayout, LimaStream

DATA_PATH = "/entry_0000/measurement/data"
SERVER_URL = "id00/limaccds/simulator"


def definition(
    name: str,
    dtype: str,
    shape: tuple[int, ...],
    file_pattern: str,
    npoints: int,
    frames_per_file: int,
) -> StreamDefinition:
    """A lima stream saving ``npoints`` frames (one acquisition) as HDF5 files of ``file_pattern``."""
    saving = {
        "file_path": file_pattern,
        "data_path": DATA_PATH,
        "file_format": "HDF5",
        "file_offset": 0,
        "frames_per_file": frames_per_file,
    }
    return LimaStream.make_definition(name, dtype, shape, SERVER_URL, 0, npoints, 0, saving)


class FrameSaver:
    """Writes frames one by one where the stream's layout says, one HDF5 file at a time.

    Built from the stream's definition (its ``lima_info``), not from the stream
    object: the same frames are saved whatever records the scan (a data store,
    or the conformance runner's recorder).
    """

    def __init__(self, stream_definition: StreamDefinition, npoints: int):
        info = stream_definition.info
        self.layout = LimaLayout.from_info(info["lima_info"])
        self.shape = tuple(info["shape"])
        self.dtype = np.dtype(info["dtype"])
        self.npoints = npoints
        self._file: h5py.File | None = None
        self._left = 0  # frames still to write into the open file
        self._index = 0  # where the next one goes in it
        self._saved = 0
        os.makedirs(os.path.dirname(self.layout.reference(0).file_path), exist_ok=True)

    def save(self, frame: np.ndarray) -> int:
        """Save the next frame; returns its index."""
        if self._file is None:
            run = self.layout.runs(self._saved, self.npoints)[0]
            self._file = h5py.File(run.file_path, "w")
            self._file.create_dataset(
                run.data_path, shape=(run.count,) + self.shape, dtype=self.dtype
            )
            self._left, self._index = run.count, run.file_index
        self._file[DATA_PATH][self._index] = frame
        self._index += 1
        self._left -= 1
        self._saved += 1
        if not self._left:
            self.close()
        return self._saved - 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
