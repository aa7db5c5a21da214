"""The ``lima`` plugin: 2D detector frames saved in HDF5 files, published by reference.

The Redis stream holds status events only (see :mod:`._lima_format`); the
high-level stream turns them into frames: ``len(stream)`` is the number of
frames acquired, ``stream[i]`` and cursor views read frames from the files the
detector saved.  Frames acquired but not (yet, or ever) in a finished file
are read from the detector server's memory over Tango when it still holds
them (the ``tango`` extra, see :mod:`._lima_tango`), as the blissdata 2.x
client does: only frames within ``buffer_max_number`` of the last one, and
only while the server still runs the frame's acquisition (the Redis key
named after the server counts acquisitions, see
:func:`prepare_next_lima_acquisition`).  Otherwise a frame not yet saved is
waited for, and one never saved raises
:class:`~blissdata_core.errors.FrameNoMoreThereError`.
:meth:`LimaStream.get_last_live_image` reads the server's newest frame.

A lima stream is :class:`~blissdata_core.streams.capabilities.FileBacked`:
:meth:`LimaStream.file_runs` says which files hold which frames (HDF5 rows, or
frames of EDF files), which is what the writer and the h5 facade use.

Producers use :meth:`LimaStream.make_definition` and
:meth:`LimaStream.send_status`; the result is read by the blissdata 2.x client
as well.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...encoding import JsonEncoder
from ...errors import (
    ExternalDataError,
    FrameNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
)
from ..capabilities import FileRun
from ..definition import StreamDefinition
from ..event_stream import EventStream
from ..file_formats import read_points
from ._lima_format import (
    FrameReference,
    LimaLayout,
    make_status,
    parse_status,
)
from ._lima_tango import ImageData, LimaServer
from ._status import PointView, Progress, StatusStream

PLUGIN_NAME = "lima"
LEGACY_FORMAT = "lima_v1"


def acquisition_on_server(data_store: Any, server_url: str) -> int | None:
    """The number of the acquisition the Lima server ``server_url`` runs (None: unknown).

    Producers count acquisitions in the Redis key named after the server
    (:func:`prepare_next_lima_acquisition`); a stream's frames belong to
    acquisitions ``acquisition_offset``, ``acquisition_offset + 1``...
    """
    value = data_store.runtime.conn.call("GET", server_url)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def prepare_next_lima_acquisition(data_store: Any, server_url: str) -> int:
    """Count one more acquisition of the Lima server ``server_url``; returns its number
    (0 for the first), which the next lima stream takes as ``acquisition_offset``."""
    replies = data_store.runtime.conn.transaction([("SETNX", server_url, -1), ("INCR", server_url)])
    return int(replies[1])


class LimaView(PointView):
    """Frames ``index .. index + len - 1`` that a cursor saw acquired (as the
    status plugins' views: data and file references read from the stream)."""


class LimaStream(StatusStream):
    """Frames of a lima detector, read from the files it saved."""

    plugin_name = PLUGIN_NAME
    view_cls = LimaView

    #: How long ``stream[i]`` waits for a frame acquired but not yet in a
    #: finished file (seconds; None waits until the stream is sealed).
    file_wait_timeout: float | None = None

    def __init__(self, event_stream: EventStream):
        super().__init__(event_stream)
        if event_stream.encoding.get("type") != "json":
            raise ValueError(
                f"Stream {self.name!r}: the lima plugin needs a JSON encoding, "
                f"not {event_stream.encoding.get('type')!r}"
            )
        self._layout = LimaLayout.from_info(self.info.get("lima_info"))
        self._server: LimaServer | None = None
        self._last_acq_on_server = -1

    # -- producer side ----------------------------------------------------------------
    @staticmethod
    def make_definition(  # type: ignore[override]
        name: str,
        dtype: Any,
        shape: Sequence[int],
        server_url: str,
        buffer_max_number: int,
        frames_per_acquisition: int,
        acquisition_offset: int,
        saving: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> StreamDefinition:
        """Definition of a lima stream (same arguments as the blissdata 2.x client).

        ``saving`` (when frames are saved) has the keys ``file_path`` (a
        %-pattern taking the file number), ``data_path``, ``file_format``
        (e.g. ``"HDF5"``), ``file_offset`` and ``frames_per_file``.
        """
        info = copy.deepcopy(dict(info or {}))
        info["format"] = LEGACY_FORMAT  # what blissdata < 2 readers look for
        info["plugin"] = PLUGIN_NAME
        info["dtype"] = np.dtype(dtype).name
        info["shape"] = [int(n) for n in shape]
        info["lima_info"] = LimaLayout.make_info(
            server_url, buffer_max_number, frames_per_acquisition, acquisition_offset, saving
        )
        return StreamDefinition(name, info, JsonEncoder())

    def send_status(self, last_index: int, last_index_saved: int = -1) -> None:
        """Tell readers that frames up to ``last_index`` were acquired, and up to
        ``last_index_saved`` saved.  Indexes count from 0 over the whole scan."""
        self._event_stream.send(make_status(last_index, last_index_saved))

    def send(self, data: Any) -> None:
        """Publish a status event (a dict with ``last_index``/``last_index_saved``)."""
        if not isinstance(data, dict):
            raise TypeError(
                f"A lima stream publishes status dicts (see send_status), not {type(data).__name__}"
            )
        self._event_stream.send(
            make_status(data.get("last_index", -1), data.get("last_index_saved", -1))
        )

    # -- description -------------------------------------------------------------------
    @property
    def layout(self) -> LimaLayout:
        return self._layout

    @property
    def is_saved(self) -> bool:
        """Whether the detector saves frames into files (else they are only live)."""
        return self._layout.saved

    @property
    def last_index_saved(self) -> int:
        self._refresh()
        return self._last_index_saved

    # -- status ---------------------------------------------------------------------------
    def _decode_progress(self, status: Any, previous: Progress) -> tuple[int, int]:
        last_index, last_index_saved = parse_status(status)
        return last_index + 1, last_index_saved + 1

    @property
    def _last_index(self) -> int:
        """The newest frame acquired as last read (-1: none)."""
        return self._progress.length - 1

    @property
    def _last_index_saved(self) -> int:
        """The newest frame saved as last read (-1: none)."""
        return self._progress.saved - 1

    # -- frames ------------------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        length = self._progress.length
        if index < 0:
            index += length
            if index < 0:
                raise IndexError(f"frame index out of range ({length} frames)")
        if index >= length:
            self._refresh()
            if index >= self._progress.length:
                if self._progress.sealed:
                    raise IndexWontBeThereError(
                        f"Stream {self.name!r} is sealed with {self._progress.length} frames, "
                        f"there will be no frame {index}"
                    )
                raise IndexNotYetThereError(f"Frame {index} of {self.name!r} not yet acquired")
        return index

    def _wait_readable(self, last: int) -> None:
        """Make sure frames up to ``last`` are in finished files, waiting for them if needed."""
        outcome = self._wait_closed(last, self.file_wait_timeout)
        if outcome == "never":
            raise FrameNoMoreThereError(
                f"Frame {last} of {self.name!r} was never saved (the detector saved frames "
                f"up to {self._last_index_saved}), and the Lima server "
                f"{self._layout.server_url!r} no longer holds it"
            )
        if outcome == "timeout":
            raise ExternalDataError(
                f"Frame {last} of {self.name!r} was not saved within {self.file_wait_timeout} s"
            )

    def _wait_closed(self, last: int, timeout: float | None) -> str | None:
        """Wait until frame ``last`` sits in a finished file: None when it does, else
        ``"never"`` (the stream is sealed without it) or ``"timeout"``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            progress = self._progress
            closed = self._layout.last_closed_frame(progress.saved - 1, progress.sealed)
            if last <= closed:
                return None
            if progress.sealed:
                return "never"
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return "timeout"
            self._wait_status(remaining)

    # -- FileBacked ----------------------------------------------------------------------------
    def file_runs(self, start: int = 0, stop: int | None = None) -> list[FileRun]:
        """Where frames ``start .. stop - 1`` are saved, or will be (see
        :class:`~blissdata_core.streams.capabilities.FileBacked`)."""
        if not self._layout.saved:
            raise ExternalDataError(
                f"Frames of {self.name!r} are not saved in files: they are only available "
                f"from the Lima server {self._layout.server_url!r}"
            )
        if stop is None:
            stop = len(self)
        if start < 0 or stop < start:
            raise ValueError(f"bad frame range {start}..{stop}")
        return self._layout.runs(start, stop)

    def wait_saved(self, stop: int, timeout: float | None = None) -> bool:
        """Block until frames ``0 .. stop - 1`` sit in finished files; False if they never
        will (the stream ended first, or frames are not saved at all) or on timeout."""
        if stop <= 0:
            return True
        if not self._layout.saved:
            return False
        self._refresh()
        return self._wait_closed(stop - 1, timeout) is None

    def get_references(self, key: int | slice) -> FrameReference | list[FrameReference]:
        """Where frames are saved, whether they are there yet or not."""
        if not self._layout.saved:
            raise ExternalDataError(f"Frames of {self.name!r} are not saved in files")
        if isinstance(key, slice):
            return [self._layout.reference(i) for i in range(*key.indices(len(self)))]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            index = int(key)
            if index < 0:
                index += len(self)
            return self._layout.reference(index)
        raise TypeError(f"stream indices must be integers or slices, not {type(key).__name__}")

    def __getitem__(self, key: int | slice) -> np.ndarray:
        if isinstance(key, slice):
            if key.step is not None and key.step <= 0:
                raise ValueError("slice step must be a positive integer")
            frames = range(*key.indices(len(self)))
            if not len(frames):
                return np.empty((0, *(max(n, 0) for n in self._shape)), dtype=self._dtype)
            return self._get_frames(frames)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if int(key) < 0 or int(key) >= self._progress.length:
                self._refresh()
            index = self._check_index(int(key))
            return self._get_frames(range(index, index + 1))[0]
        raise TypeError(f"stream indices must be integers or slices, not {type(key).__name__}")

    def _get_frames(self, frames: range) -> np.ndarray:
        """Frames from finished files, else from the server's memory, else from files
        once they are finished."""
        closed = -1
        if self._layout.saved:
            closed = self._layout.last_closed_frame(self._last_index_saved, self._progress.sealed)
        if frames[-1] <= closed:
            return self._read(frames)
        beyond = [i for i in frames if i > closed]
        live, reason = [], ""
        for index in beyond:
            image, reason = self._from_server(index)
            if image is None:
                break
            live.append(image)
        if len(live) == len(beyond):
            in_files = [i for i in frames if i <= closed]
            parts = (
                [self._read(range(in_files[0], in_files[-1] + 1, frames.step))] if in_files else []
            )
            parts.append(np.stack(live))
            return np.concatenate(parts) if len(parts) > 1 else parts[0]
        if not self._layout.saved:
            raise FrameNoMoreThereError(
                f"Frame {beyond[len(live)]} of {self.name!r} is not saved in files, and "
                f"the Lima server {self._layout.server_url!r} does not give it: {reason}"
            )
        self._wait_readable(frames[-1])
        return self._read(frames)

    def _from_server(self, index: int) -> tuple[np.ndarray | None, str]:
        """Frame ``index`` from the Lima server's memory, or None and why not."""
        layout = self._layout
        if layout.buffer_max_number <= self._last_index - index:
            return None, (
                f"it keeps the last {layout.buffer_max_number} frame(s) only "
                f"(the detector is at frame {self._last_index})"
            )
        acquisition, _, _ = layout.locate(index)
        in_acquisition = index - acquisition * layout.frames_per_acquisition
        wanted = acquisition + layout.acquisition_offset
        if not self._acquisition_on_server(wanted):
            if self._last_acq_on_server < 0:
                return None, (
                    f"no producer counts its acquisitions (Redis key {layout.server_url!r}, "
                    "see prepare_next_lima_acquisition): its frames cannot be told apart"
                )
            return None, f"it no longer runs acquisition {wanted}"
        try:
            image = self.server.read_image(in_acquisition)
        except ExternalDataError as exc:
            return None, str(exc)
        if image.frame_id != in_acquisition:
            return None, f"asked for frame {in_acquisition}, it gave frame {image.frame_id}"
        # the server may have started another acquisition while we read
        if not self._acquisition_on_server(wanted):
            return None, f"it started another acquisition than {wanted} while read"
        return np.asarray(image.array, dtype=self._dtype), ""

    def _acquisition_on_server(self, acquisition: int) -> bool:
        if acquisition < self._last_acq_on_server:
            return False
        data_store = self._event_stream.data_store
        if data_store is None:
            return False
        current = acquisition_on_server(data_store, self._layout.server_url)
        if current is None:
            return False
        self._last_acq_on_server = current
        return current == acquisition

    def _read(self, frames: range) -> np.ndarray:
        """Frames from their files (see :func:`~blissdata_core.streams.file_formats.read_points`)."""
        runs = self._layout.runs(frames.start, frames[-1] + 1)
        return read_points(runs, frames, self._dtype, self._shape, repr(self.name))

    # -- the detector server -------------------------------------------------------------------
    @property
    def server(self) -> LimaServer:
        """The Lima Tango device (connected on first use; needs the ``tango`` extra)."""
        if self._server is None:
            self._server = LimaServer(self._layout.server_url)
        return self._server

    def get_last_live_image(self) -> ImageData:
        """The newest frame in the Lima server's memory, as ``(array, frame_id, acq_tag)``.

        It may belong to another acquisition than this stream's: nothing is
        checked.  ``frame_id`` counts within the server's acquisition; it is
        None when the server cannot tell (internal trigger of a multi-frame
        scan, or an old Lima).  Raises
        :class:`~blissdata_core.errors.NoImageAvailable` when the server
        has no frame yet, :class:`~blissdata_core.errors.LimaServerError` when
        it cannot be read (pytango missing, server down).
        """
        image = self.server.last_image()
        frame_id = image.frame_id
        if frame_id == 0 and self.server.trigger_mode == "INTERNAL_TRIGGER":
            # frame 0 of each internally triggered acquisition: only a single
            # frame scan (a ``ct``) knows it is the scan's frame 0
            self._refresh()
            if self._last_index != 0:
                frame_id = None
        return ImageData(image.array, frame_id, None)

    def __repr__(self) -> str:
        return f"<LimaStream {self.name!r} key={self.key}>"


stream_cls = LimaStream
view_cls = LimaView
