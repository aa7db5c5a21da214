"""The ``lima2`` plugin: Lima 2 detector frames, read from the acquisition's master file.

On the wire (protocol 1, lima2 protocol version 2) the stream is numeric,
``uint32`` scalars, each the number of frames available so far: the newest
one is the number of frames.  ``info`` holds the frames' ``dtype`` and
``shape``, ``acq_uuid``, ``source_name``, the Lima 2 conductor's
``conductor_hostname``/``conductor_port`` and ``master_file``: ``[file,
dataset]`` where the whole acquisition's frames end up, or null when the
frame source is not saved.

This client does not talk to the conductor: frames are read from the master
file, which holds every frame once the stream is sealed (the reference reads
it then too).  Before that, a frame is read when the master dataset already
holds it; otherwise, and for a source without master file, the frame is only
at the conductor and reading it raises
:class:`~blissdata_core.errors.ExternalDataError` saying so.

A lima2 stream is :class:`~blissdata_core.streams.capabilities.FileBacked`
(one run over the master dataset, saved once sealed) and
:class:`~blissdata_core.streams.capabilities.LinkedDataset`: the writer links
the master dataset, as blisswriter does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...encoding import NumericEncoder
from ...errors import ExternalDataError
from ..capabilities import HDF5, FileRun
from ..definition import StreamDefinition
from ..event_stream import EventStream
from ..file_formats import read_points
from ._hdf5 import open_dataset
from ._status import PointView, Progress, StatusStream

PLUGIN_NAME = "lima2"
PROTOCOL_VERSION = 2


@dataclass(frozen=True)
class Lima2FrameReference:
    """Where one frame is saved: row ``index`` of ``file_path::data_path``."""

    file_path: str
    data_path: str
    index: int


class Lima2View(PointView):
    """Frames ``index .. index + len - 1`` that a cursor saw available."""


class Lima2Stream(StatusStream):
    """Frames of a Lima 2 frame source (see the module)."""

    plugin_name = PLUGIN_NAME
    view_cls = Lima2View

    def __init__(self, event_stream: EventStream):
        super().__init__(event_stream)
        info = self.info
        version = info.get("protocol_version")
        if version != PROTOCOL_VERSION:
            raise ValueError(
                f"Stream {self.name!r}: lima2 protocol version {version!r}, "
                f"this client reads version {PROTOCOL_VERSION}"
            )
        master = info.get("master_file")
        if master is not None:
            if not (isinstance(master, (list, tuple)) and len(master) == 2):
                raise ValueError(f"Stream {self.name!r}: bad master_file {master!r}")
            master = (str(master[0]), str(master[1]))
        self._master: tuple[str, str] | None = master

    # -- producer side -------------------------------------------------------------------
    @staticmethod
    def make_definition(  # type: ignore[override]
        name: str,
        source_name: str,
        conductor_hostname: str,
        conductor_port: int,
        acq_uuid: str,
        master_file: tuple[str, str] | None,
        dtype: Any,
        shape: Sequence[int],
    ) -> StreamDefinition:
        """Definition of a lima2 stream (same arguments as blissdata-lima2 2.x)."""
        info = {
            "plugin": PLUGIN_NAME,
            "dtype": np.dtype(dtype).name,
            "shape": [int(n) for n in shape],
            "protocol_version": PROTOCOL_VERSION,
            "acq_uuid": acq_uuid,
            "source_name": source_name,
            "conductor_hostname": conductor_hostname,
            "conductor_port": conductor_port,
            "master_file": None
            if master_file is None
            else [str(master_file[0]), str(master_file[1])],
        }
        return StreamDefinition(name, info, NumericEncoder(np.uint32))

    # -- description -----------------------------------------------------------------------
    @property
    def master_file(self) -> tuple[str, str] | None:
        """``(file, dataset)`` holding every frame once the stream is sealed, or None."""
        return self._master

    @property
    def conductor(self) -> str:
        return f"{self.info.get('conductor_hostname')}:{self.info.get('conductor_port')}"

    def _decode_progress(self, status: Any, previous: Progress) -> tuple[int, int]:
        count = int(status)
        if count < 0:
            raise ValueError("negative frame count")
        return count, 0

    def _only_at_conductor(self, what: str, why: str) -> ExternalDataError:
        return ExternalDataError(
            f"{what} of {self.name!r} (source {self.info.get('source_name')!r}, acquisition "
            f"{self.info.get('acq_uuid')!r}) {why}: it is only available from the Lima2 "
            f"conductor {self.conductor}, which this client does not read"
        )

    # -- frames ------------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> np.ndarray:
        frames = self._point_range(key)
        if isinstance(frames, int):
            return self._read(range(frames, frames + 1))[0]
        if not len(frames):
            return np.empty((0, *(max(n, 0) for n in self._shape)), dtype=self._dtype)
        return self._read(frames)

    def _read(self, frames: range) -> np.ndarray:
        last = frames[-1]
        if self._master is None:
            raise self._only_at_conductor(f"Frame {last}", "is not saved (no master file)")
        if not self._progress.sealed and not self._in_master(last):
            raise self._only_at_conductor(
                f"Frame {last}", f"is not yet in the master file {self._master[0]}"
            )
        run = FileRun(0, last + 1, self._master[0], HDF5, self._master[1], 0)
        return read_points([run], frames, self._dtype, self._shape, repr(self.name))

    def _in_master(self, index: int) -> bool:
        assert self._master is not None
        try:
            with open_dataset(*self._master) as dataset:
                return dataset.shape[0] > index
        except (OSError, KeyError, ExternalDataError):
            return False

    def get_references(self, key: Any) -> Lima2FrameReference | list[Lima2FrameReference]:
        """Where frames are (or will be) in the master file, whether there yet or not."""
        if self._master is None:
            raise self._only_at_conductor("Frames", "are not saved (no master file)")
        frames = self._point_range(key)
        if isinstance(frames, int):
            return Lima2FrameReference(*self._master, frames)
        return [Lima2FrameReference(*self._master, i) for i in frames]

    def get_last_live_image(self) -> Any:
        raise self._only_at_conductor("The live frame", "is not saved")

    # -- FileBacked / LinkedDataset ----------------------------------------------------------
    def file_runs(self, start: int = 0, stop: int | None = None) -> list[FileRun]:
        """Frames ``start .. stop - 1``: rows of the master dataset."""
        if self._master is None:
            raise self._only_at_conductor("Frames", "are not saved (no master file)")
        if stop is None:
            stop = len(self)
        if start < 0 or stop < start:
            raise ValueError(f"bad frame range {start}..{stop}")
        if stop == start:
            return []
        return [FileRun(start, stop - start, self._master[0], HDF5, self._master[1], start)]

    def wait_saved(self, stop: int, timeout: float | None = None) -> bool:
        """The master file is complete once the stream is sealed: wait for that."""
        if stop <= 0:
            return True
        if self._master is None:
            return False
        self._wait_progress(lambda p: p.sealed, timeout)
        progress = self._progress
        return progress.sealed and stop <= progress.length

    def linked_dataset(self) -> tuple[str, str] | None:
        return self._master

    def __repr__(self) -> str:
        return f"<Lima2Stream {self.name!r} key={self.key}>"


stream_cls = Lima2Stream
view_cls = Lima2View
