"""auto mode: whatever the memory manager trimmed, reads equal the published data."""

from __future__ import annotations

import itertools

import numpy as np
from h5_scans import entry_map, make_scan, send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import blissdata_h5
from blissdata_writer import scan_writer as writer

_counter = itertools.count()


@st.composite
def trimmed_streams(draw: st.DrawFn):
    dtype = draw(st.sampled_from(["float64", "int16", "uint8"]))
    point = draw(st.sampled_from([(), (3,), (2, 2)]))
    data = draw(hnp.arrays(np.dtype(dtype), (draw(st.integers(1, 15)),) + point))
    cuts = sorted(draw(st.sets(st.integers(1, len(data) - 1), max_size=4))) if len(data) > 1 else []
    batches = np.split(data, cuts)
    trimmed = draw(st.integers(0, len(batches)))
    key = draw(st.one_of(st.integers(-len(data), len(data) - 1), st.slices(len(data))))
    return data, batches, trimmed, key


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=trimmed_streams())
def test_auto_after_trimming_equals_the_published_data(data_store, tmp_path, case):
    data, batches, trimmed, key = case
    path = str(tmp_path / f"t{next(_counter)}.h5")
    scan = make_scan(
        data_store,
        path,
        h5maps=entry_map(1, {"x": {"type": "stream", "stream": "x"}}),
        streams={"x": (str(data.dtype), data.shape[1:])},
    )
    ids = []
    for batch in batches:
        ids.append(f"{len(np.concatenate(batches[: len(ids)])) if ids else 0}-1")
        send(scan, "x", batch)
    scan.stop()
    scan.close()
    assert writer.ScanWriter(data_store, scan.key).run().state == "complete"
    if trimmed:
        data_store.redis.xdel(scan.streams["x"].key, *ids[:trimmed])
    with blissdata_h5.File(path, data_store=data_store, source="auto") as f:
        x = f["1.1/x"]
        assert x.shape == data.shape and x.dtype == data.dtype
        np.testing.assert_array_equal(x[()], data)
        np.testing.assert_array_equal(x[key], data[key])
