"""The live facade equals h5py on the file a writer writes for the same h5maps.

The file is written by this package's careful mapping h5maps -> HDF5 (as
blisswriter 3.0 lays it out, ``helpers.write_file_like_writer``); the real
writers' files are compared with the facade in the interop matrix
(``tests/integration``).
"""

from __future__ import annotations

import itertools

import h5py
from compare import assert_same_tree
from helpers import make_scan, send, write_file_like_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import streams, trees

import blissdata_h5

_counter = itertools.count()


@st.composite
def scans(draw: st.DrawFn) -> list[tuple[dict, dict]]:
    out = []
    # 9 then 10: creation order differs from name order ("10.1" < "9.1")
    count = draw(st.integers(1, 2))
    for number in draw(st.sampled_from([[1, 2], [9, 10], [3, 12]]))[:count]:
        data = draw(streams())
        out.append((draw(trees(sorted(data), f"{number}.1")), data))
    return out


def write_file(data_store, key: str, path: str, data: dict) -> None:
    # a writer works from the h5maps as Redis gives them back (JSON floats included)
    published = data_store.load_scan(key).info["h5maps"][path]
    write_file_like_writer(path, published, data)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scan_list=scans())
def test_redis_view_equals_h5py_on_the_file(data_store, tmp_path, scan_list):
    path = str(tmp_path / f"f{next(_counter)}.h5")
    for h5map, data in scan_list:
        number = int(next(iter(h5map["children"])).split(".")[0])
        live = make_scan(
            data_store,
            path,
            number,
            h5maps=h5map,
            streams={name: (str(array.dtype), array.shape[1:]) for name, array in data.items()},
        )
        for name, array in data.items():
            if len(array):
                send(live, name, array)
        live.stop()
        live.close()
        write_file(data_store, live.key, path, data)
    with h5py.File(path, "r") as theirs:
        for source in ("redis", "file", "auto"):
            with blissdata_h5.File(path, data_store=data_store, source=source) as ours:
                assert_same_tree(ours, theirs)
