"""A streamed dataset whose stream needs a plugin the reader lacks.

The group lists it and iteration goes on; its data raises an error naming the
plugin (a placeholder dataset: ``.name`` and ``.attrs`` work, data does not).
"""

from __future__ import annotations

import io
import types

import numpy as np
import pytest
from helpers import entry_map

import blissdata_h5
from blissdata_core import Stream
from blissdata_core.errors import MissingPluginException
from blissdata_core.streams import plugins
from blissdata_h5 import cli

#: A plugin the producer has and the reader lacks.
PLUGIN = "plugin_the_reader_lacks"


def _publish(data_store, path):
    measurement = {
        "diode": {"type": "stream", "stream": "diode"},
        "image": {
            "type": "dataset",
            "value": {"type": "stream", "stream": "det:image"},
            "attributes": {"interpretation": "image"},
        },
        "zlast": 7,
    }
    scan = data_store.create_scan(
        {"name": "ascan", "number": 1, "data_policy": "no_policy", "path": path},
        info={"h5maps": {path: entry_map(1, {"measurement": {"type": "group", "children": measurement}})}},
    )  # fmt: skip
    diode = scan.create_stream(Stream.make_definition("diode", "float64"))
    with plugins.served(PLUGIN, types.SimpleNamespace(stream_cls=Stream)):
        image = scan.create_stream(
            Stream.make_definition("det:image", "uint16", (2, 3), info={"plugin": PLUGIN})
        )
    scan.prepare()
    scan.start()
    diode.send(np.arange(3.0))
    image.send(np.zeros((3, 2, 3), dtype=np.uint16))
    for stream in (diode, image):
        stream.join()
    return scan


def test_a_stream_without_its_plugin_names_the_plugin_and_iteration_goes_on(data_store, tmp_path):
    path = str(tmp_path / "s.h5")
    _publish(data_store, path)
    with blissdata_h5.File(path, data_store=data_store, source="redis") as f:
        measurement = f["1.1/measurement"]
        items = dict(measurement.items())
        assert sorted(items) == ["diode", "image", "zlast"]
        assert items["zlast"][()] == 7
        np.testing.assert_array_equal(items["diode"][()], np.arange(3.0))
        seen = []
        f.visititems(lambda name, obj: seen.append(name))
        assert seen == ["1.1", "1.1/measurement", "1.1/measurement/diode",
                        "1.1/measurement/image", "1.1/measurement/zlast"]  # fmt: skip
        image = items["image"]
        assert image.name == "/1.1/measurement/image"
        assert image.attrs["interpretation"] == "image"
        assert PLUGIN in repr(image)
        for use in (lambda d: d.shape, lambda d: d.dtype, lambda d: d[()], lambda d: d[0], len):
            with pytest.raises(blissdata_h5.MissingPluginError) as exc:
                use(image)
            assert isinstance(exc.value, MissingPluginException)
            assert str(exc.value) == (
                f"/1.1/measurement/image: stream 'det:image' needs plugin {PLUGIN!r}, "
                "which is not installed"
            )
            assert (exc.value.plugin_name, exc.value.stream_name) == (PLUGIN, "det:image")
        out = io.StringIO()
        cli.tree(f, out)
        text = out.getvalue()
        assert f"needs plugin {PLUGIN!r}" in text and "/1.1/measurement/zlast" in text
        assert "JSON" not in text
