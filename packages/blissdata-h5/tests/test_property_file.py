"""The live facade equals h5py on the file written for the same h5maps."""

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
def scans(draw: st.DrawFn) -> tuple[dict, dict]:
    data = draw(streams())
    return draw(trees(sorted(data), "1.1")), data


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scan=scans())
def test_redis_view_equals_h5py_on_the_file(data_store, tmp_path, scan):
    h5map, data = scan
    path = str(tmp_path / f"f{next(_counter)}.h5")
    live = make_scan(
        data_store,
        path,
        h5maps=h5map,
        streams={name: (str(array.dtype), array.shape[1:]) for name, array in data.items()},
    )
    for name, array in data.items():
        if len(array):
            send(live, name, array)
    live.stop()
    live.close()
    # a writer works from the h5maps as Redis gives them back (JSON floats included)
    published = data_store.load_scan(live.key).info["h5maps"][path]
    write_file_like_writer(path, published, data)
    with h5py.File(path, "r") as theirs:
        for source in ("redis", "file", "auto"):
            with blissdata_h5.File(path, data_store=data_store, source=source) as ours:
                assert_same_tree(ours, theirs)
