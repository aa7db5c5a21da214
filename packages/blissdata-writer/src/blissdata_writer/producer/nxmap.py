"""The NeXus layout a BLISS scan asks for, as an ``h5maps`` item tree."""

from __future__ import annotations

from .plan import Channel, ScanPlan


def _group(nx_class: str, children: dict | None = None, **attrs: object) -> dict:
    item: dict = {"type": "group", "attributes": {"NX_class": nx_class, **attrs}}
    if children is not None:
        item["children"] = children
    return item


def _stream(channel: Channel, **attrs: object) -> dict:
    if channel.unit:
        attrs["units"] = channel.unit
    if channel.kind in ("spectrum", "image"):
        attrs["interpretation"] = channel.kind
    value = {"type": "stream", "stream": channel.stream}
    return {"type": "dataset", "attributes": attrs, "value": value} if attrs else value


def _link(target: str) -> dict:
    return {"type": "soft_link", "target_path": target}


def data_path(entry: str, channel: Channel) -> str:
    """Where a channel's data lives in the entry (a Lima detector's frames are its
    ``instrument/<detector>/data``, as in BLISS files: where readers look for them)."""
    if channel.device == "axis":
        return f"/{entry}/instrument/positioners/{channel.display_name}"
    if channel.device == "timer":
        return f"/{entry}/instrument/{channel.display_name}/data"
    if channel.kind == "image":
        return f"/{entry}/instrument/{channel.device}/data"
    return f"/{entry}/instrument/{channel.device}/{channel.display_name}"


def measurement_name(channel: Channel) -> str:
    if channel.device in ("axis", "timer", "diode"):
        return channel.display_name
    if channel.kind == "image":
        return channel.device  # measurement/<detector>, as BLISS names Lima frames
    return f"{channel.device}_{channel.display_name}"


def build_h5map(
    plan: ScanPlan,
    entry: str,
    start_time: str,
    positions: dict[str, float],
    end_time: str | None = None,
) -> dict:
    """The file's root item with one entry ``N.1`` (``end_time`` is added at CLOSED)."""
    channels = plan.channels
    instrument: dict = {
        "positioners": _group(
            "NXcollection", {c.display_name: _stream(c) for c in channels if c.device == "axis"}
        ),
        "positioners_start": _group(
            "NXcollection",
            {
                name: {"type": "dataset", "attributes": {"units": "mm"}, "value": value}
                for name, value in positions.items()
            },
        ),
    }
    for channel in channels:
        if channel.device == "timer":
            instrument[channel.display_name] = _group(
                "NXdetector", {"data": _stream(channel)}, type="timer"
            )
    detectors: dict[str, dict] = {}
    for channel in channels:
        if channel.device in ("axis", "timer"):
            continue
        group = detectors.setdefault(
            channel.device, _group("NXdetector", {}, type=channel.device.rstrip("0123456789_"))
        )
        name = "data" if channel.kind == "image" else channel.display_name
        group["children"][name] = _stream(channel)
    if "lima_simulator" in detectors:
        detectors["lima_simulator"]["children"]["acq_parameters"] = _group(
            "NXcollection",
            {"acq_expo_time": plan.count_time, "acq_nb_frames": plan.npoints, "acq_mode": "SINGLE"},
        )
    instrument.update(detectors)

    by_name = {c.display_name: c for c in channels}
    plot = {name: _link(data_path(entry, by_name[name])) for name in [plan.signal, *plan.axes]}
    children: dict = {
        "title": plan.title,
        "start_time": start_time,
        "instrument": _group("NXinstrument", instrument),
        "measurement": _group(
            "NXcollection", {measurement_name(c): _link(data_path(entry, c)) for c in channels}
        ),
        "plotselect": _group("NXdata", plot, signal=plan.signal, axes=plan.axes),
    }
    if end_time is not None:
        children["end_time"] = end_time
    return _group(
        "NXroot", {entry: _group("NXentry", children, default="plotselect")}, default=entry
    )
