"""Stream plugins: classes selected by a stream's ``info["plugin"]``.

A plugin is a module (or object) exposing ``stream_cls``, a
:class:`~blissdata_core.streams.stream.BaseStream` subclass built from an
:class:`~blissdata_core.streams.event_stream.EventStream`.  Plugins are found
through the ``blissdata_core.plugins`` entry-point group, and through any
further group added with :func:`add_entry_point_group`; on a name clash the
project's own plugin wins, unless the group was added to override it (the
compatibility layer adds the reference client's ``blissdata`` that way: code
written for blissdata 2.x may test the classes of the plugins it installed).  A name read from Redis selects among installed entry points and
never imports anything else.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

_logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "blissdata_core.plugins"

#: Stream ``info["format"]`` values of older BLISS versions, mapped to plugins.
LEGACY_FORMATS = {"lima_v1": "lima", "lima_v2": "lima2", "subscan": "scan_sequence"}

_lock = threading.Lock()
_entry_points: dict[str, Any] | None = None
_loaded: dict[str, Any] = {}
#: Further entry-point groups, in priority order after ENTRY_POINT_GROUP ...
_extra_groups: list[str] = []
#: ... and those whose plugins win over ours, in priority order.
_overriding_groups: list[str] = []
#: Distributions whose entry points are ignored (a package the project stands in for).
_ignored_distributions: set[str] = set()


def add_entry_point_group(
    group: str, override: bool = False, ignore_distributions: tuple[str, ...] = ()
) -> None:
    """Also load stream plugins registered in ``group``: after ours, or before
    them with ``override`` (a name in both then loads the group's plugin).
    Entry points of ``ignore_distributions`` are skipped (the package whose
    plugins this one implements itself)."""
    global _entry_points
    with _lock:
        _ignored_distributions.update(ignore_distributions)
        if group == ENTRY_POINT_GROUP or group in _extra_groups + _overriding_groups:
            return
        (_overriding_groups if override else _extra_groups).append(group)
        _entry_points = None
        _loaded.clear()


def _distribution(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def remove_entry_point_group(group: str) -> None:
    """Stop looking in ``group``; plugins already loaded from it are forgotten."""
    global _entry_points
    with _lock:
        for groups in (_extra_groups, _overriding_groups):
            if group in groups:
                groups.remove(group)
                _entry_points = None
                _loaded.clear()


def available_plugins() -> list[str]:
    return sorted(_discover())


def _discover() -> dict[str, Any]:
    global _entry_points
    if _entry_points is None:
        found: dict[str, Any] = {}
        for group in reversed([*_overriding_groups, ENTRY_POINT_GROUP, *_extra_groups]):
            found.update(
                {
                    ep.name: ep
                    for ep in entry_points(group=group)
                    if group == ENTRY_POINT_GROUP or _distribution(ep) not in _ignored_distributions
                }
            )
        _entry_points = found
    return _entry_points


def load_plugin(name: str) -> Any | None:
    """The plugin object for ``name``, or None when no entry point has that name.

    Import errors propagate: the caller turns them into a broken stream.
    """
    with _lock:
        if name in _loaded:
            return _loaded[name]
        entry = _discover().get(name)
        if entry is None:
            return None
        plugin = entry.load()
        _loaded[name] = plugin
        return plugin


@contextmanager
def served(name: str, plugin: Any) -> Iterator[None]:
    """Serve ``plugin`` under ``name`` for the duration, installed or not.

    For tests and tools that play a producer having a plugin the reader lacks:
    streams created inside use ``plugin``; scans loaded after see it missing
    again (unless an entry point of that name is installed).
    """
    with _lock:
        previous = _loaded.get(name, _ABSENT)
        _loaded[name] = plugin
    try:
        yield
    finally:
        with _lock:
            if previous is _ABSENT:
                _loaded.pop(name, None)
            else:
                _loaded[name] = previous


_ABSENT = object()
