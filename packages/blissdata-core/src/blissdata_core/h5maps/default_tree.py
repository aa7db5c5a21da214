"""The ``h5maps`` tree of scans that publish none (PROTOCOL.md section 11.3).

Producers from other ecosystems (Bluesky runs through bluesky-blissdata) do
not publish h5maps; the h5 facade shows this tree for them and the writer
writes it, so both agree.  Any scan can then be browsed like a BLISS file: ``<number>.1`` (NXentry) with
``title``, ``start_time`` (when the scan info has one), ``measurement/<name>``
for every array stream and ``instrument/<name>/data`` linking to it.  Stream
names keep their last ``:`` part (``axis:sx`` -> ``sx``) unless two collide
(then ``axis_sx``, ``timer_sx``).
"""

from __future__ import annotations

from typing import Any


def default_h5map(scan: Any) -> dict:
    """The root group item for ``scan`` (number, name, info and streams are used)."""
    entry_name = f"{scan.number}.1"
    info = scan.info if isinstance(scan.info, dict) else {}
    names = _short_names([name for name, s in scan.streams.items() if _is_array(s)])
    measurement = {short: {"type": "stream", "stream": name} for name, short in names.items()}
    instrument = {
        short: {
            "type": "group",
            "attributes": {"NX_class": "NXdetector"},
            "children": {
                "data": {
                    "type": "soft_link",
                    "target_path": f"/{entry_name}/measurement/{short}",
                }
            },
        }
        for short in names.values()
    }
    title = info.get("title")
    entry: dict[str, Any] = {
        "title": title if isinstance(title, str) and title else str(scan.name),
        "measurement": {
            "type": "group",
            "attributes": {"NX_class": "NXcollection"},
            "children": measurement,
        },
        "instrument": {
            "type": "group",
            "attributes": {"NX_class": "NXinstrument"},
            "children": instrument,
        },
    }
    start_time = info.get("start_time")
    if isinstance(start_time, str) and start_time:
        entry["start_time"] = start_time
    return {
        "type": "group",
        "attributes": {"NX_class": "NXroot"},
        "children": {
            entry_name: {"type": "group", "attributes": {"NX_class": "NXentry"}, "children": entry}
        },
    }


def _is_array(stream: Any) -> bool:
    try:
        return stream.kind == "array"
    except Exception:  # noqa: BLE001 - a broken stream is just left out
        return False


def _short_names(names: list[str]) -> dict[str, str]:
    short = {name: name.rsplit(":", 1)[-1].replace("/", "_") or name for name in names}
    counts: dict[str, int] = {}
    for value in short.values():
        counts[value] = counts.get(value, 0) + 1
    return {
        name: value if counts[value] == 1 else name.replace("/", "_").replace(":", "_")
        for name, value in short.items()
    }


def scan_h5maps(scan: Any) -> Any:
    """The raw ``h5maps`` of a scan: its own, else the default tree at ``scan.path``.

    An explicit empty ``h5maps`` means "no file"; only a missing one gets the default.
    """
    info = scan.info if isinstance(scan.info, dict) else {}
    h5maps = info.get("h5maps")
    if h5maps is not None:
        return h5maps
    path = getattr(scan, "path", None)
    return {path: default_h5map(scan)} if path else {}
