"""BLISS-like ``scan_info``: acquisition chain, devices, channels, plots."""

from __future__ import annotations

from .plan import ScanPlan


def build_scan_info(
    plan: ScanPlan, number: int, session: str, path: str, start_time: str, positions: dict
) -> dict:
    channels = plan.channels
    devices: dict[str, dict] = {}
    for channel in channels:
        devices.setdefault(channel.device, {"channels": []})["channels"].append(channel.stream)
    masters = [d for d in ("timer", "axis") if d in devices]
    top = "axis" if "axis" in devices else "timer"
    devices[top]["triggered_devices"] = [d for d in devices if d != top]

    def by_kind(kinds: tuple[str, ...], masters_only: bool) -> list[str]:
        return [
            c.stream for c in channels if c.kind in kinds and (c.device in masters) == masters_only
        ]

    chain = {
        top: {
            "devices": list(devices),
            "scalars": by_kind(("scalar", "axis"), False)
            + [c.stream for c in channels if c.device == "timer" and top != "timer"],
            "spectra": by_kind(("spectrum",), False),
            "images": by_kind(("image",), False),
            "master": {
                "scalars": [c.stream for c in channels if c.device == top],
                "spectra": [],
                "images": [],
            },
        }
    }
    chan_info = {}
    for channel in channels:
        chan_info[channel.stream] = {
            "display_name": channel.display_name,
            "dim": len(channel.shape),
        }
        if channel.unit:
            chan_info[channel.stream]["unit"] = channel.unit
    return {
        "name": plan.kind,
        "type": plan.kind,
        "title": plan.title,
        "scan_nb": number,
        "session_name": session,
        "filename": path,
        "save": True,
        "data_policy": "no_policy",
        "npoints": plan.npoints,
        "count_time": plan.count_time,
        "start_time": start_time,
        "acquisition_chain": chain,
        "devices": devices,
        "channels": chan_info,
        "plots": _plots(plan),
        "positioners": {
            "positioners_start": dict(positions),
            "positioners_units": {name: "mm" for name in positions},
        },
    }


def _plots(plan: ScanPlan) -> list[dict]:
    by_name = {c.display_name: c.stream for c in plan.channels}
    signal = by_name[plan.signal]
    if plan.kind == "mesh":
        plots = [
            {
                "kind": "scatter-plot",
                "name": "default-scatter",
                "items": [{"kind": "scatter", "x": "axis:sx", "y": "axis:sy", "value": signal}],
            }
        ]
    else:
        plots = [
            {
                "kind": "curve-plot",
                "name": "default-curve",
                "items": [{"kind": "curve", "x": by_name[plan.axes[0]], "y": signal}],
            }
        ]
    if "mca" in plan.detectors:
        plots.append(
            {
                "kind": "1d-plot",
                "name": "mca1",
                "items": [{"kind": "curve", "y": "mca1:spectrum_det0"}],
            }
        )
    if "lima" in plan.detectors:
        plots.append(
            {
                "kind": "image-plot",
                "name": "lima_simulator",
                "items": [{"kind": "image", "image": "lima_simulator:image"}],
            }
        )
    if "lima2" in plan.detectors:
        plots.append(
            {
                "kind": "image-plot",
                "name": "lima2_simulator",
                "items": [{"kind": "image", "image": "lima2_simulator:raw_frame"}],
            }
        )
    if "mosca" in plan.detectors:
        plots.append(
            {
                "kind": "1d-plot",
                "name": "mosca_simulator",
                "items": [{"kind": "curve", "y": "mosca_simulator:spectrum_det00"}],
            }
        )
    return plots
