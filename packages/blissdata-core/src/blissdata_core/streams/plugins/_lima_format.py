"""What a lima stream says on the wire, and where its frames are saved.

A lima detector does not publish frames into Redis.  Its stream is a JSON
stream of status events ``{"last_index": i, "last_index_saved": j}`` (the
newest event says it all), and the stream info carries a ``lima_info`` block
(lima JSON protocol 1)::

    protocol_version, server_url, buffer_max_number,
    frame_per_acquisition, acquisition_offset,
    and, when frames are saved:
    file_path (a %-pattern taking the file number), data_path, file_format,
    file_offset, frame_per_file

Frames of a scan are numbered across acquisitions; each acquisition starts a
new set of files (see :meth:`LimaLayout.locate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...errors import LimaInfoError
from ..capabilities import HDF5, FileRun

LIMA_PROTOCOL_VERSION = 1

#: Keys of the ``saving`` argument of ``make_definition`` (as in blissdata 2.x).
SAVING_KEYS = frozenset({"file_path", "data_path", "file_format", "file_offset", "frames_per_file"})


@dataclass(frozen=True)
class FrameReference:
    """Where one frame is saved: ``file_path::data_path[index]`` in format ``format``."""

    format: str
    file_path: str
    data_path: str | None
    index: int


def format_family(file_format: str) -> str:
    """A lima ``file_format`` (``HDF5``, ``HDF5BS``, ``EDF``, ``EDFLZ4``, ``CBF``...) as
    :attr:`~blissdata_core.streams.capabilities.FileRun.file_format`: every HDF5
    flavour is ``"hdf5"`` (compression is inside the file); others are lowercased,
    so ``"edf"`` is plain EDF only."""
    lowered = file_format.lower()
    return HDF5 if lowered.startswith(HDF5) else lowered


@dataclass(frozen=True)
class LimaSaving:
    file_pattern: str
    data_path: str
    file_format: str
    file_offset: int
    frames_per_file: int


def _int(info: dict[str, Any], key: str) -> int:
    value = info.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LimaInfoError(f"lima_info[{key!r}] must be an integer, not {value!r}")
    return value


def _str(info: dict[str, Any], key: str) -> str:
    value = info.get(key)
    if not isinstance(value, str):
        raise LimaInfoError(f"lima_info[{key!r}] must be a string, not {value!r}")
    return value


@dataclass(frozen=True)
class LimaLayout:
    """The ``lima_info`` block, checked, with the frame -> file arithmetic."""

    server_url: str
    buffer_max_number: int
    frames_per_acquisition: int
    acquisition_offset: int
    saving: LimaSaving | None

    @classmethod
    def from_info(cls, lima_info: Any) -> LimaLayout:
        if not isinstance(lima_info, dict):
            raise LimaInfoError(f"Stream info 'lima_info' must be an object, not {lima_info!r}")
        version = lima_info.get("protocol_version")
        if version != LIMA_PROTOCOL_VERSION:
            raise LimaInfoError(
                f"lima JSON protocol {version!r} is not supported "
                f"(this client reads protocol {LIMA_PROTOCOL_VERSION})"
            )
        saving = None
        if "file_path" in lima_info:
            saving = LimaSaving(
                file_pattern=_str(lima_info, "file_path"),
                data_path=_str(lima_info, "data_path"),
                file_format=_str(lima_info, "file_format"),
                file_offset=_int(lima_info, "file_offset"),
                frames_per_file=_int(lima_info, "frame_per_file"),
            )
        return cls(
            server_url=str(lima_info.get("server_url")),
            buffer_max_number=_int(lima_info, "buffer_max_number"),
            frames_per_acquisition=_int(lima_info, "frame_per_acquisition"),
            acquisition_offset=_int(lima_info, "acquisition_offset"),
            saving=saving,
        )

    @staticmethod
    def make_info(
        server_url: str,
        buffer_max_number: int,
        frames_per_acquisition: int,
        acquisition_offset: int,
        saving: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``lima_info`` block a producer publishes (``saving`` keys: :data:`SAVING_KEYS`)."""
        info: dict[str, Any] = {
            "protocol_version": LIMA_PROTOCOL_VERSION,
            "server_url": server_url,
            "buffer_max_number": int(buffer_max_number),
            "frame_per_acquisition": int(frames_per_acquisition),
            "acquisition_offset": int(acquisition_offset),
        }
        if saving:
            missing = SAVING_KEYS - saving.keys()
            extra = saving.keys() - SAVING_KEYS
            if missing:
                raise ValueError(f"'saving' lacks the key(s) {sorted(missing)}")
            if extra:
                raise ValueError(f"'saving' has unexpected key(s) {sorted(extra)}")
            if not isinstance(saving["file_path"], str) or not saving["file_path"]:
                raise ValueError("saving['file_path'] must be a non-empty file name pattern")
            try:
                saving["file_path"] % 0
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"saving['file_path'] must be a %-pattern taking the file number "
                    f"(e.g. 'scan_%04d.h5'), not {saving['file_path']!r}"
                ) from exc
            info.update(
                file_path=saving["file_path"],
                data_path=saving["data_path"],
                file_format=saving["file_format"],
                file_offset=int(saving["file_offset"]),
                frame_per_file=int(saving["frames_per_file"]),
            )
        LimaLayout.from_info(info)  # the reader must accept what we publish
        return info

    @property
    def saved(self) -> bool:
        return self.saving is not None

    def locate(self, frame: int) -> tuple[int, int, int]:
        """``(acquisition, file in acquisition, frame in file)`` of a scan frame number.

        A count of 0 (frames per acquisition or per file) means "unbounded".
        """
        per_acq = self.frames_per_acquisition
        acq, in_acq = divmod(frame, per_acq) if per_acq > 0 else (0, frame)
        per_file = self.saving.frames_per_file if self.saving else 0
        file, in_file = divmod(in_acq, per_file) if per_file > 0 else (0, in_acq)
        return acq, file, in_file

    @property
    def files_per_acquisition(self) -> int:
        per_file = self.saving.frames_per_file if self.saving else 0
        if per_file <= 0 or self.frames_per_acquisition <= 0:
            return 1
        return math.ceil(self.frames_per_acquisition / per_file)

    def reference(self, frame: int) -> FrameReference:
        """Where ``frame`` is (or will be) saved; it may not be there yet."""
        if self.saving is None:
            raise LimaInfoError("This lima stream's frames are not saved in files")
        acq, file, in_file = self.locate(frame)
        number = acq * self.files_per_acquisition + file + self.saving.file_offset
        return FrameReference(
            self.saving.file_format,
            self.saving.file_pattern % number,
            self.saving.data_path,
            in_file,
        )

    def runs(self, start: int, stop: int) -> list[FileRun]:
        """Frames ``start .. stop - 1`` as runs of consecutive frames in one file."""
        if self.saving is None:
            raise LimaInfoError("This lima stream's frames are not saved in files")
        family = format_family(self.saving.file_format)
        per_acq, per_file = self.frames_per_acquisition, self.saving.frames_per_file
        runs = []
        frame = start
        while frame < stop:
            _, _, in_file = self.locate(frame)
            count = stop - frame
            if per_file > 0:
                count = min(count, per_file - in_file)
            if per_acq > 0:
                count = min(count, per_acq - frame % per_acq)
            ref = self.reference(frame)
            data_path = ref.data_path if family == HDF5 else None  # EDF files: frames, no paths
            runs.append(FileRun(frame, count, ref.file_path, family, data_path, ref.index))
            frame += count
        return runs

    def last_closed_frame(self, last_index_saved: int, sealed: bool) -> int:
        """The last frame that sits in a finished file.

        A file is finished once a frame of a later file is saved, or when the
        stream is sealed.  Acquisitions need not fill their last file.
        """
        if sealed or self.saving is None:
            return last_index_saved
        if last_index_saved < 0:
            return -1
        acq, file, _ = self.locate(last_index_saved)
        first_of_file = acq * max(self.frames_per_acquisition, 0) + file * max(
            self.saving.frames_per_file, 0
        )
        return first_of_file - 1


def parse_status(status: Any) -> tuple[int, int]:
    """``(last_index, last_index_saved)`` of a status event; ValueError if malformed."""
    if not isinstance(status, dict):
        raise ValueError(f"lima status must be an object, not {status!r}")
    last = status.get("last_index", -1)
    saved = status.get("last_index_saved", -1)
    for name, value in (("last_index", last), ("last_index_saved", saved)):
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise ValueError(f"lima status {name!r} must be an integer >= -1, not {value!r}")
    return last, saved


def make_status(last_index: int, last_index_saved: int = -1) -> dict[str, int]:
    """A status event, checked the way readers will check it."""
    status = {"last_index": int(last_index), "last_index_saved": int(last_index_saved)}
    parse_status(status)
    if status["last_index_saved"] > status["last_index"]:
        raise ValueError(
            f"last_index_saved ({last_index_saved}) cannot exceed last_index ({last_index})"
        )
    return status
