"""The adapter of the TypeScript client (packages/blissdata-js).

It runs the client's conformance driver (``node dist/driver.js``) once, as a
subprocess, and exchanges one JSON object per line with it: the protocol of
spec/vectors/README.md ("Driving a client in another language"), which any
other language can implement with a driver of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JS_PACKAGE = ROOT / "packages" / "blissdata-js"


def build(package: Path = JS_PACKAGE, install: bool = False) -> None:
    """``npm ci`` (when asked or the compiler is missing) and ``npm run build``.

    Under a file lock: test workers build at the same time, and one's ``npm ci``
    empties node_modules under another's build ("tsc: not found").
    """
    import fcntl

    with open(package / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if install or not (package / "node_modules" / ".bin" / "tsc").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=package, check=True)
        subprocess.run(["npm", "run", "--silent", "build"], cwd=package, check=True)


class LineDriver:
    """A driver program speaking the line protocol on stdin/stdout."""

    def __init__(self, command: list[str], cwd: Path | None = None) -> None:
        self.command = command
        self.cwd = cwd
        self._proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
                env={**os.environ, "NODE_NO_WARNINGS": "1"},
            )
        return self._proc

    def request(self, req: dict) -> dict:
        self.send(req)
        return self.receive()

    def send(self, req: dict) -> None:
        """Write one request (its reply is read by :meth:`receive`)."""
        proc = self._start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()

    def receive(self) -> dict:
        proc = self._start()
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            self._proc = None
            raise RuntimeError(f"driver {self.command} exited ({proc.wait()})")
        reply = json.loads(line)
        if "driver_error" in reply:
            raise RuntimeError(f"driver error: {reply['driver_error'][:1500]}")
        return reply

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.stdin.write('{"op": "quit"}\n')  # type: ignore[union-attr]
                self._proc.stdin.flush()  # type: ignore[union-attr]
                self._proc.wait(timeout=5)
            except Exception:
                self._proc.kill()
        self._proc = None


class LineProtocolAdapter:
    """An implementation behind a line-protocol driver: every method is one request."""

    name = "line"

    def __init__(self, driver: LineDriver) -> None:
        self.driver = driver

    def read(
        self, url: str, scan_key: str, stream_name: str, ops: list[dict], json_stream: bool = False
    ) -> dict:
        return self.driver.request(
            {
                "op": "read",
                "url": url,
                "scan_key": scan_key,
                "stream": stream_name,
                "ops": ops,
                "json_stream": json_stream,
            }  # fmt: skip
        )

    def encode(self, url: str, definition: dict, sends: list[dict], seal: bool) -> dict:
        return self.driver.request(
            {"op": "encode", "url": url, "definition": definition, "sends": sends, "seal": seal}
        )

    def store(self, url: str, keys: dict, timetags: dict, ops: list[dict]) -> dict:
        return self.driver.request(
            {"op": "store", "url": url, "keys": keys, "timetags": timetags, "ops": ops}
        )

    def lifecycle(self, url: str, case: dict) -> dict:
        case = {k: v for k, v in case.items() if k != "expect"}
        return self.driver.request({"op": "lifecycle", "url": url, "case": case})

    def validate(self, schema: str, document: Any) -> bool | None:
        return self.driver.request({"op": "validate", "schema": schema, "document": document})[
            "valid"
        ]

    def expected_malformed(self, case: dict) -> list[str]:
        return case["expect_error"]

    def expected_validity(self, case: dict) -> bool:
        return case["valid"]

    def close(self) -> None:
        self.driver.close()


class TsAdapter(LineProtocolAdapter):
    """blissdata-js, the TypeScript client (build it first: :func:`build`)."""

    name = "ts"

    def __init__(self, package: Path = JS_PACKAGE) -> None:
        super().__init__(LineDriver(["node", str(package / "dist" / "driver.js")], cwd=package))

    def h5maps(self, h5maps_json: dict) -> dict:
        # as JSON text: the driver parses it with exact integers (up to 2**64 - 1)
        return self.driver.request({"op": "h5maps", "text": json.dumps(h5maps_json)})
