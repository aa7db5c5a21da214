"""The allow-list holds between the check and the opening: a symlink swapped in is refused."""

from __future__ import annotations

import os
import threading

import h5py
import pytest
from writer_helpers import write_scan

from blissdata_core import DataStore
from blissdata_core.testing import gevent_patched
from blissdata_writer.errors import PathRefusedError
from blissdata_writer.files import FilePool, open_resolved
from blissdata_writer.paths import check_target
from blissdata_writer.producer import simulate_scan


@pytest.fixture
def dirs(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    return root, outside


def _swap_for_symlink(directory, target):
    os.rename(directory, str(directory) + ".real")
    os.symlink(target, directory)


def test_a_directory_swapped_for_a_symlink_after_the_check_is_refused(dirs):
    root, outside = dirs
    checked = check_target(str(root / "sub" / "s.h5"), [str(root)])
    _swap_for_symlink(root / "sub", outside)
    with pytest.raises(PathRefusedError, match="symlink"):
        FilePool().acquire(checked)
    assert not os.listdir(outside)


def test_a_file_swapped_for_a_symlink_after_the_check_is_refused(dirs):
    root, outside = dirs
    checked = check_target(str(root / "sub" / "s.h5"), [str(root)])
    (outside / "victim.h5").write_bytes(b"not yours")
    os.symlink(outside / "victim.h5", root / "sub" / "s.h5")
    with pytest.raises(PathRefusedError, match="symlink"):
        open_resolved(checked)
    assert (outside / "victim.h5").read_bytes() == b"not yours"


def test_missing_directories_are_created_and_existing_files_appended(tmp_path):
    path = str(tmp_path / "a" / "b" / "s.h5")
    with open_resolved(path) as f:
        f["x"] = 1
    with open_resolved(path) as f:
        f["y"] = 2
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["x", "y"]


@pytest.mark.reliability
def test_symlink_race_never_writes_outside_the_root(redis_url, dirs):
    """A directory flips between real and a symlink out of the root while scans are written."""
    if gevent_patched():
        pytest.skip(
            "a race between OS threads: under gevent the flipping thread is a greenlet that "
            "never blocks, so the writer could not run until it stops (no race at all)"
        )
    root, outside = dirs
    ds = DataStore(redis_url)
    scans = [
        simulate_scan(
            ds, npoints=3, count_time=0.0, path=str(root / "sub" / f"s{i}.h5"), detectors=("diode",)
        )
        for i in range(30)
    ]
    stop = threading.Event()
    sub, real = root / "sub", str(root / "sub") + ".real"

    def flip():
        made = 0
        while not stop.is_set():
            os.rename(sub, real)
            try:
                os.symlink(outside, sub)
                os.unlink(sub)
            except FileExistsError:  # the writer made the directory anew meanwhile
                pass
            while True:
                try:
                    os.rename(real, sub)
                    break
                except OSError:  # ... and wrote in it: keep that aside, inside the root
                    made += 1
                    os.rename(sub, root / f"made{made}")

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        states = [write_scan(redis_url, scan.key, roots=[str(root)]) for scan in scans]
    finally:
        stop.set()
        flipper.join()
    assert not os.listdir(outside)
    # a directory renamed away mid-write may fail a scan too: never silently
    assert all(status.state in ("complete", "failed") for status in states), states
