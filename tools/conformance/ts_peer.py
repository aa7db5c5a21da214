"""The TypeScript client (packages/blissdata-js) as a producer and a consumer of the interop matrix.

It is driven through its conformance driver (``node dist/driver.js``, the line
protocol of spec/vectors/README.md) with the requests ``play``, ``read_scans``
and ``follow``: the same jobs the reference driver answers, so that
``tools.conformance.interop`` checks its answers as it checks the Python
clients'.  One driver process a role and a scenario: the follower blocks, and
a new process holds no connection to a database flushed since.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
from typing import Any

import numpy as np

from tools.conformance.ts_adapter import TsAdapter, build
from tools.vectors import valuerepr


@functools.cache
def unavailable() -> str:
    """Why the TS client cannot take part ("" when it can): Node.js, npm, a build."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"blissdata-js needs {' and '.join(missing)}, not found"
    try:
        build()
    except Exception as exc:
        return f"blissdata-js does not build: {type(exc).__name__}: {exc}"[:300]
    return ""


def _wire(obj: Any) -> Any:
    """JSON without NaN and infinities (JSON.parse refuses them): ``{"$float": "NaN"}``."""
    if isinstance(obj, dict):
        return {k: _wire(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_wire(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"$float": "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")}
    return obj


class TsPeer:
    """One driver process (close it: :meth:`close`)."""

    def __init__(self) -> None:
        self.driver = TsAdapter().driver

    def play(self, url: str, scans: list[dict]) -> dict:
        """Publish the scans; ``{"scans": [{"key", "seal_returns", "errors"}]}``."""
        # as JSON text, parsed there with exact numbers (``1.0`` stays a float, big integers exact)
        text = json.dumps(_wire(scans), allow_nan=False)
        return self.driver.request({"op": "play", "url": url, "scans_text": text})

    def read_scans(self, url: str, jobs: list[dict]) -> dict:
        """What ``interop_peer.read_scan`` answers, for each job of ``interop.read_jobs``."""
        reply = self.driver.request({"op": "read_scans", "url": url, "scans": jobs})
        for scan in reply["scans"]:
            if "info_json" in scan:  # exact integers, parsed here
                scan["info"] = json.loads(scan.pop("info_json"))
        return reply

    def start_follow(self, url: str, since: str, timeout: float = 60) -> None:
        """Wait for the next scan after ``since`` and follow it (answer: :meth:`followed`)."""
        self.driver.send({"op": "follow", "url": url, "since": since, "timeout": timeout})

    def followed(self, json_names: list[str]) -> dict:
        """The follow's answer as ``interop_peer.follow_scan`` gives it."""
        reply = self.driver.receive()
        streams = {}
        for name, got in reply["points"].items():
            if name in json_names:
                streams[name] = {"json": [p["json"] for p in got]}
            elif got:
                points = [valuerepr.from_repr(p) for p in got]
                streams[name] = {"array": valuerepr.array_repr(np.stack(points))}
            else:
                streams[name] = {"points": 0}
        return {"key": reply["key"], "streams": streams}

    def close(self) -> None:
        self.driver.close()
