"""A simulated lima detector: frames saved to HDF5 files, published by reference.

The stream is a JSON stream of status entries ``{"last_index", "last_index_saved"}``
with ``plugin: "lima"`` and a ``lima_info`` block (protocol 1, saving pattern)
that both the blissdata 2.x lima client and the core's lima plugin decode.
There is no lima server: ``buffer_max_number`` is 0, so readers always go to
the files. A file is complete (and closed) before a frame of the next file is
reported saved, which is when readers consider it closed.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

DATA_PATH = "/entry_0000/measurement/data"


def lima_info(file_pattern: str, npoints: int, frames_per_file: int) -> dict:
    return {
        "protocol_version": 1,
        "server_url": "id00/limaccds/simulator",
        "buffer_max_number": 0,
        "frame_per_acquisition": npoints,
        "acquisition_offset": 0,
        "file_path": file_pattern,
        "data_path": DATA_PATH,
        "file_format": "HDF5",
        "file_offset": 0,
        "frame_per_file": frames_per_file,
    }


def stream_info(dtype: str, shape: tuple[int, ...], info: dict) -> dict:
    return {
        "format": "lima_v1",
        "plugin": "lima",
        "dtype": dtype,
        "shape": list(shape),
        "lima_info": info,
    }


class FrameSaver:
    """Writes frames one by one into files of ``frame_per_file`` frames."""

    def __init__(self, info: dict, dtype: str, shape: tuple[int, ...]):
        self.info = info
        self.dtype = np.dtype(dtype)
        self.shape = shape
        self._file: h5py.File | None = None
        self._saved = 0
        os.makedirs(os.path.dirname(info["file_path"]), exist_ok=True)

    def save(self, frame: np.ndarray) -> int:
        """Save the next frame; returns its index."""
        per_file = self.info["frame_per_file"]
        number, in_file = divmod(self._saved, per_file)
        if in_file == 0:
            self.close()
            total = self.info["frame_per_acquisition"]
            count = min(per_file, total - number * per_file)
            self._file = h5py.File(
                self.info["file_path"] % (number + self.info["file_offset"]), "w"
            )
            self._file.create_dataset(DATA_PATH, shape=(count,) + self.shape, dtype=self.dtype)
        self._file[DATA_PATH][in_file] = frame
        self._saved += 1
        if in_file + 1 == per_file:
            self.close()
        return self._saved - 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
