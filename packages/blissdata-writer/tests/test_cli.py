"""The console script: simulate prints the key, write exits 0 on success and 1 on failure."""

from __future__ import annotations

import subprocess

import h5py
from writer_helpers import writer_command

from blissdata_writer.progress import render_line
from blissdata_writer.status import ScanStatus


def test_simulate_then_write(redis_url, tmp_path):
    path = tmp_path / "cli.h5"
    sim = subprocess.run(
        writer_command("simulate", redis_url, "--scan", "ascan", "--npoints", "3", "--count-time", "0",
                       "--path", str(path), "--detectors", "diode"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = sim.stdout.strip().splitlines()[-1]
    assert key.startswith("esrf:scan:")
    ok = subprocess.run(
        writer_command("write", redis_url, key, "--root", str(tmp_path)),
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    with h5py.File(path, "r") as f:
        assert len(f["1.1/measurement/diode1"]) == 3
    again = subprocess.run(writer_command("write", redis_url, key), capture_output=True, text=True)
    assert again.returncode == 1  # the entry exists now
    assert "failed" in again.stdout
    replaced = subprocess.run(
        writer_command("write", redis_url, key, "--replace"), capture_output=True, text=True
    )
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    with h5py.File(path, "r") as f:
        assert list(f) == ["1.1"]
        assert len(f["1.1/measurement/diode1"]) == 3


def test_write_refused_outside_root(redis_url, tmp_path):
    path = tmp_path / "out" / "cli.h5"
    sim = subprocess.run(
        writer_command("simulate", redis_url, "--scan", "ct", "--path", str(path), "--detectors", "diode"),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = sim.stdout.strip().splitlines()[-1]
    refused = subprocess.run(
        writer_command("write", redis_url, key, "--root", str(tmp_path / "elsewhere")),
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 1
    assert "refused" in refused.stdout
    assert not path.exists()


def test_progress_line():
    status = ScanStatus(
        scan="esrf:scan:X", state="writing", points=15, datasets={"a": 10, "b": 5}, label="3 ascan"
    )
    line = render_line(status, 100)
    assert "3 ascan" in line and "writing" in line and "15 pts" in line
