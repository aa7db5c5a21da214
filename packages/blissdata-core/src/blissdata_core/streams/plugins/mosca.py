"""The ``mosca`` plugin: MCA spectra of a mosca server, read from the files it saves.

On the wire (protocol 1, mosca JSON protocol 1) the stream holds JSON status
events ``{"last_read_index": i, "last_saved_index": j}`` (-1 when none): the
newest says that spectra ``0 .. i`` were acquired and ``0 .. j`` saved.
``info`` holds ``detector`` (the detector number), ``data_index``, the
spectra's ``dtype`` and ``shape`` and ``mosca_info``: ``protocol_version``,
``server_url``, ``acq_id`` and, when spectra are saved, ``file_path`` (the
directory), ``file_prefix``, ``data_path``, ``file_format``,
``points_per_file``, ``saving_enabled`` and ``enabled_detectors``.

Spectrum *k* is row ``k % points_per_file`` of dataset
``{data_path}/spectra_{detector:02d}`` in the HDF5 file
``{file_path}/{file_prefix}spectra_{k // points_per_file:04d}.h5``.  Saved
spectra are read from there; spectra acquired but not saved (or all of them
when saving is off) are only in the mosca server's memory, and reading them
raises :class:`~blissdata_core.errors.ExternalDataError` saying so.

A mosca stream is :class:`~blissdata_core.streams.capabilities.FileBacked`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...encoding import JsonEncoder
from ...errors import ExternalDataError
from ..capabilities import HDF5, FileRun
from ..definition import StreamDefinition
from ..event_stream import EventStream
from ..file_formats import read_points
from ._status import PointView, Progress, StatusStream

PLUGIN_NAME = "mosca"
PROTOCOL_VERSION = 1

#: Keys of the ``saving`` argument of ``make_definition`` (as blissdata-mosca 2.x).
SAVING_KEYS = frozenset(
    {
        "file_path",
        "data_path",
        "file_format",
        "file_prefix",
        "points_per_file",
        "saving_enabled",
        "enabled_detectors",
    }
)


@dataclass(frozen=True)
class SpectrumReference:
    """Where one spectrum is saved: row ``index`` of ``file_path::data_path``."""

    file_path: str
    data_path: str
    index: int


@dataclass(frozen=True)
class MoscaSaving:
    directory: str
    prefix: str
    data_path: str
    points_per_file: int

    def file_of(self, number: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}spectra_{number:04d}.h5")

    def runs(self, start: int, stop: int, dataset: str) -> list[FileRun]:
        ppf = self.points_per_file
        runs = []
        index = start
        while index < stop:
            number, in_file = divmod(index, ppf) if ppf > 0 else (0, index)
            count = min(stop - index, ppf - in_file) if ppf > 0 else stop - index
            runs.append(FileRun(index, count, self.file_of(number), HDF5, dataset, in_file))
            index += count
        return runs


class MoscaView(PointView):
    """Spectra ``index .. index + len - 1`` that a cursor saw acquired."""


def make_status(last_read_index: int, last_saved_index: int = -1) -> dict[str, int]:
    return {"last_read_index": int(last_read_index), "last_saved_index": int(last_saved_index)}


class MoscaStream(StatusStream):
    """Spectra of one detector of a mosca server (see the module)."""

    plugin_name = PLUGIN_NAME
    view_cls = MoscaView

    def __init__(self, event_stream: EventStream):
        super().__init__(event_stream)
        if event_stream.encoding.get("type") != "json":
            raise ValueError(f"Stream {self.name!r}: the mosca plugin needs a JSON encoding")
        info = self.info
        mosca = info.get("mosca_info")
        if not isinstance(mosca, dict):
            raise ValueError(f"Stream {self.name!r}: no mosca_info")
        if mosca.get("protocol_version") != PROTOCOL_VERSION:
            raise ValueError(
                f"Stream {self.name!r}: mosca protocol version {mosca.get('protocol_version')!r}, "
                f"this client reads version {PROTOCOL_VERSION}"
            )
        self._mosca = mosca
        self._detector = int(info["detector"])
        self._saving: MoscaSaving | None = None
        if mosca.get("saving_enabled") and SAVING_KEYS <= mosca.keys():
            self._saving = MoscaSaving(
                str(mosca["file_path"]),
                str(mosca["file_prefix"]),
                str(mosca["data_path"]),
                int(mosca["points_per_file"]),
            )

    # -- producer side -------------------------------------------------------------------
    @staticmethod
    def make_definition(  # type: ignore[override]
        name: str,
        detector: int,
        data_index: int,
        dtype: Any,
        shape: Sequence[int],
        tango_url: str,
        acq_id: int,
        saving: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
    ) -> StreamDefinition:
        """Definition of a mosca stream (same arguments as blissdata-mosca 2.x)."""
        info = copy.deepcopy(dict(info or {}))
        info["plugin"] = PLUGIN_NAME
        info["detector"] = detector
        info["data_index"] = data_index
        info["dtype"] = np.dtype(dtype).name
        info["shape"] = [int(n) for n in shape]
        mosca_info = info.setdefault("mosca_info", {})
        mosca_info["server_url"] = tango_url
        mosca_info["acq_id"] = acq_id
        mosca_info["protocol_version"] = PROTOCOL_VERSION
        if saving:
            missing, extra = SAVING_KEYS - saving.keys(), saving.keys() - SAVING_KEYS
            if missing:
                raise ValueError(f"The following keys are missing from 'saving' dict: {missing}")
            if extra:
                raise ValueError(f"The following keys are not expected in 'saving' dict: {extra}")
            mosca_info.update(saving)
        return StreamDefinition(name, info, JsonEncoder())

    def send_status(self, last_read_index: int, last_saved_index: int = -1) -> None:
        """Tell readers that spectra up to ``last_read_index`` were acquired, and up to
        ``last_saved_index`` saved."""
        self._event_stream.send(make_status(last_read_index, last_saved_index))

    def send(self, data: Any) -> None:
        """Publish a status event (a dict with ``last_read_index``/``last_saved_index``)."""
        if not isinstance(data, dict):
            raise TypeError(
                f"A mosca stream publishes status dicts (see send_status), not {type(data).__name__}"
            )
        self._event_stream.send(
            make_status(data.get("last_read_index", -1), data.get("last_saved_index", -1))
        )

    # -- description -----------------------------------------------------------------------
    @property
    def detector(self) -> int:
        return self._detector

    @property
    def data_index(self) -> Any:
        return self.info.get("data_index")

    @property
    def server_url(self) -> str:
        return str(self._mosca.get("server_url"))

    @property
    def dataset_path(self) -> str | None:
        """The dataset holding this detector's spectra in each file."""
        if self._saving is None:
            return None
        return f"{self._saving.data_path}/spectra_{self._detector:02d}"

    @property
    def last_saved_index(self) -> int:
        return self._refresh().saved - 1

    def _decode_progress(self, status: Any, previous: Progress) -> tuple[int, int]:
        read, saved = status["last_read_index"], status["last_saved_index"]
        for value in (read, saved):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError("indexes must be integers")
        return read + 1, saved + 1

    def _only_on_server(self, what: str, why: str) -> ExternalDataError:
        return ExternalDataError(
            f"{what} of {self.name!r} {why}: it is only in the memory of the mosca server "
            f"{self.server_url!r} (acquisition {self._mosca.get('acq_id')!r}), "
            "which this client does not read"
        )

    # -- spectra -----------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> np.ndarray:
        points = self._point_range(key)
        if isinstance(points, int):
            return self._read(range(points, points + 1))[0]
        if not len(points):
            return np.empty((0, *(max(n, 0) for n in self._shape)), dtype=self._dtype)
        return self._read(points)

    def _read(self, points: range) -> np.ndarray:
        last = points[-1]
        if self._saving is None:
            raise self._only_on_server(f"Spectrum {last}", "is not saved (saving is off)")
        saved = self._progress.saved
        if last >= saved:
            saved = self._refresh().saved
        if last >= saved:
            why = "was never saved" if self._progress.sealed else "is not saved yet"
            raise self._only_on_server(
                f"Spectrum {last}", f"{why} (spectra 0..{saved - 1} are saved)"
            )
        runs = self._saving.runs(points.start, last + 1, self.dataset_path or "")
        return read_points(runs, points, self._dtype, self._shape, repr(self.name))

    def get_references(
        self, key: Any, stop: int | None = None
    ) -> SpectrumReference | list[SpectrumReference]:
        """Where spectra are (or will be) saved, whether there yet or not: ``key`` an
        index or a slice, or ``get_references(start, stop)`` as blissdata-mosca has it."""
        if stop is not None:
            key = slice(key, stop)
        if self._saving is None:
            raise self._only_on_server("Spectra", "are not saved (saving is off)")
        points = self._point_range(key)
        single = isinstance(points, int)
        wanted = range(points, points + 1) if single else points
        refs = [
            SpectrumReference(run.file_path, run.data_path or "", run.file_index + i)
            for run in self._saving.runs(wanted.start, wanted.stop, self.dataset_path or "")
            for i in range(run.count)
        ]
        refs = [r for i, r in zip(range(wanted.start, wanted.stop), refs) if i in wanted]
        return refs[0] if single else refs

    def get_last_live_spectra(self) -> Any:
        raise self._only_on_server("The live spectrum", "is not saved")

    # -- FileBacked ----------------------------------------------------------------------------
    def file_runs(self, start: int = 0, stop: int | None = None) -> list[FileRun]:
        """Where spectra ``start .. stop - 1`` are saved, or will be."""
        if self._saving is None:
            raise self._only_on_server("Spectra", "are not saved (saving is off)")
        if stop is None:
            stop = len(self)
        if start < 0 or stop < start:
            raise ValueError(f"bad spectrum range {start}..{stop}")
        return self._saving.runs(start, stop, self.dataset_path or "")

    def wait_saved(self, stop: int, timeout: float | None = None) -> bool:
        """Block until spectra ``0 .. stop - 1`` are reported saved."""
        if stop <= 0:
            return True
        if self._saving is None:
            return False
        return self._wait_progress(lambda p: p.saved >= stop, timeout)

    def __repr__(self) -> str:
        return f"<MoscaStream {self.name!r} key={self.key}>"


stream_cls = MoscaStream
view_cls = MoscaView
