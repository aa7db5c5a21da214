"""h5maps keys are compared in one spelling (blissdata_core.h5maps.file_key), as the h5 facade does."""

from __future__ import annotations

import h5py
from writer_helpers import write_scan

from blissdata_core import DataStore


def _publish(redis_url: str, path: str, h5maps: dict) -> str:
    ds = DataStore(redis_url)
    scan = ds.create_scan(
        {"name": "spelled", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": h5maps},
    )
    scan.prepare()
    scan.start()
    scan.stop()
    scan.close()
    ds.close()
    return scan.key


def _entry(title: str) -> dict:
    return {"type": "group", "children": {"1.1": {"type": "group", "children": {"title": title}}}}


def test_a_key_spelled_otherwise_names_the_normalised_file(redis_url, tmp_path):
    (tmp_path / "sub").mkdir()
    path = str(tmp_path / "a.h5")
    spelled = f"{tmp_path}/sub/..//./a.h5"
    status = write_scan(redis_url, _publish(redis_url, spelled, {spelled: _entry("t")}))
    assert status.state == "complete", status.message
    assert status.files == [path]
    with h5py.File(path, "r") as f:
        assert f["1.1/title"][()] == b"t"


def test_two_spellings_of_one_file_fail_the_scan_before_writing(redis_url, tmp_path):
    path = str(tmp_path / "a.h5")
    maps = {path: _entry("one"), f"{tmp_path}/./a.h5": _entry("two")}
    status = write_scan(redis_url, _publish(redis_url, path, maps))
    assert status.state == "failed"
    assert "twice" in status.message
    assert not (tmp_path / "a.h5").exists()
