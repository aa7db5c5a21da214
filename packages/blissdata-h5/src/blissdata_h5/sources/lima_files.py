"""Lima frames read from the detector's own HDF5 files, before the writer references them.

A BLISS scan file shows a Lima detector's frames at
``/<scan>.<sub>/instrument/<detector>/data``, a virtual dataset the writer
makes over the files Lima saved.  While the scan runs (or when no writer
ran) that dataset may not exist yet; for the detectors named in
``lima_names`` the file source then reads the Lima files directly, found by
a URL template (as the reference's ``dynamic_hdf5`` does).  The default
template is::

    {dirname}/scan{scan_number:04d}/{detector}_{file_index}.h5::/entry_0000/measurement/data

where ``dirname`` is the scan file's directory; ``lima_url_template`` replaces
it (``{dirname}``, ``{scan_number}``, ``{bliss_detector_name}``,
``{file_index}`` and the ``lima_url_template_args`` are substituted), and
the ``instrument_name`` template argument selects
``/entry_0000/<instrument_name>/<detector_name>/data`` instead.

Files are numbered by ``file_index``; all but the last hold the same number
of frames.  A file Lima is still writing may not open: it is left out until
it does (the frames it holds are not there yet).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from blissdata_core.streams.file_formats import open_hdf5_file

from ..nodes import DatasetNode, GroupNode, Node

_LIMA_PATH = re.compile(r"^/(\d+)\.\d+/instrument/([^/]+)(/data)?$")


@dataclass
class LimaFiles:
    """Which detectors to read from Lima files, and where their files are."""

    scan_file: str
    names: Sequence[str]
    url_template: str | None = None
    url_template_args: Mapping[str, str] = field(default_factory=dict)

    def url(self, scan_number: int, detector: str) -> tuple[str, str]:
        """(file name pattern with ``{file_index}``, dataset path) of a detector's frames."""
        common = {
            "dirname": os.path.dirname(self.scan_file),
            "scan_number": scan_number,
            "bliss_detector_name": detector,
        }
        args = {key: str(value).format(**common) for key, value in self.url_template_args.items()}
        template = self.url_template
        if not template:
            template = os.path.join(
                "{dirname}", "scan{scan_number:04d}", "{bliss_detector_name}_{{file_index}}.h5"
            )
            instrument = args.get("instrument_name")
            if instrument:
                detector_name = args.get("detector_name", detector)
                template += f"::/entry_0000/{instrument}/{detector_name}/data"
            else:
                template += "::/entry_0000/measurement/data"
        url = template.format(**{**common, **args})
        if "{file_index}" not in url:
            raise ValueError(f"A Lima URL template needs '{{file_index}}': {template!r}")
        filename, _, data_path = url.partition("::")
        return filename, data_path or "/entry_0000/measurement/data"

    def node(self, path: str, source: Any) -> Node | None:
        """The Lima-files node standing for ``path``, if ``path`` is a named detector's."""
        match = _LIMA_PATH.match(path)
        if match is None or match.group(2) not in self.names:
            return None
        scan_number, detector = int(match.group(1)), match.group(2)
        data = f"/{path.split('/')[1]}/instrument/{detector}/data"
        dataset = LimaFilesDataset(self, scan_number, detector, data, source)
        if match.group(3):
            return dataset
        return LimaFilesGroup(dataset, path)


class LimaFilesGroup(GroupNode):
    """``instrument/<detector>`` when the writer has not made it: ``data`` only."""

    def __init__(self, dataset: LimaFilesDataset, path: str):
        self._dataset = dataset
        self.path = path

    @property
    def attrs(self) -> Mapping[str, Any]:
        return {"type": "lima"}

    def keys(self) -> list[str]:
        return ["data"]

    def child(self, name: str) -> Node:
        if name == "data":
            return self._dataset
        raise KeyError(f"{self.path}/{name}")


class LimaFilesDataset(DatasetNode):
    """A detector's frames across its Lima files, as one growing dataset."""

    def __init__(self, files: LimaFiles, scan_number: int, detector: str, path: str, source: Any):
        self.path = path
        self._source = source  # the scan file's: says when the scan ended, polls
        self.filename_pattern, self.data_path = files.url(scan_number, detector)
        head, _, tail = os.path.basename(self.filename_pattern).partition("{file_index}")
        self._number = re.compile(re.escape(head) + r"(\d+)" + re.escape(tail) + "$")
        self._glob = self.filename_pattern.replace("{file_index}", "*")

    @property
    def attrs(self) -> Mapping[str, Any]:
        return {}

    def _files(self) -> tuple[list[str], list[int], np.dtype, tuple[int, ...]]:
        """The readable files in order, their frame counts, the dtype and a frame's shape;
        while none is readable and the scan goes on, waits for one (``retry_timeout``)."""
        try:
            return self._scan()
        except KeyError:
            if not self.live:
                raise
        found = self._source.poll(self._scan_or_none, self._source.retry_timeout)
        return found if found is not None else self._scan()

    def _scan_or_none(self) -> Any:
        try:
            return self._scan()
        except KeyError:
            return None

    def _scan(self) -> tuple[list[str], list[int], np.dtype, tuple[int, ...]]:
        numbered = []
        for name in glob.glob(self._glob):
            match = self._number.search(os.path.basename(name))
            if match:
                numbered.append((int(match.group(1)), name))
        files, counts = [], []
        dtype, frame_shape = None, None
        for _, name in sorted(numbered):
            try:
                with open_hdf5_file(name) as h5:
                    dataset = h5[self.data_path]
                    shape, dtype = dataset.shape, dataset.dtype
            except (OSError, KeyError, RuntimeError):
                break  # being written: neither it nor later files are readable yet
            files.append(name)
            counts.append(shape[0])
            frame_shape = tuple(shape[1:])
        if dtype is None:
            raise KeyError(f"{self.path}: no Lima file {self._glob} readable (yet)")
        return files, counts, np.dtype(dtype), frame_shape

    @property
    def dtype(self) -> np.dtype:
        return self._files()[2]

    @property
    def shape(self) -> tuple[int, ...]:
        _, counts, _, frame_shape = self._files()
        return (sum(counts), *frame_shape)

    def read_all(self) -> Any:
        return self.read_rows(0, self.shape[0], 1)

    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        files, counts, dtype, frame_shape = self._files()
        wanted = range(start, stop, step)
        out = np.empty((len(wanted), *frame_shape), dtype=dtype)
        first = 0
        for name, count in zip(files, counts):
            rows = [(k, i - first) for k, i in enumerate(wanted) if first <= i < first + count]
            if rows:
                with open_hdf5_file(name) as h5:
                    dataset = h5[self.data_path]
                    local = [i for _, i in rows]
                    block = dataset[local[0] : local[-1] + 1 : step]
                    out[[k for k, _ in rows]] = block
            first += count
        return out

    @property
    def live(self) -> bool:
        return self._source.follow and not self._source.entry_ended(self.path)

    def _rows(self) -> int:
        try:
            return sum(self._scan()[1])
        except KeyError:
            return 0

    def wait(self, length: int, timeout: float | None) -> bool:
        def done() -> bool | None:
            if self._rows() >= length:
                return True
            if not self.live:
                return self._rows() >= length
            return None

        return bool(self._source.poll(done, timeout))
