"""What blissdata-h5 and blissdata-writer share with blissdata-core."""

from __future__ import annotations

import importlib

import pytest

from blissdata_core import compat
from blissdata_core.compat.modules import PROVIDED_BY_UPPER_LAYERS
from blissdata_core.errors import H5MapError


def test_one_h5map_error_class():
    # the writer and the facade re-export the core's class
    for module in ("blissdata_h5.errors", "blissdata_writer.errors"):
        assert importlib.import_module(module).H5MapError is H5MapError


@pytest.fixture
def layer():
    compat.install_as_blissdata()
    yield compat
    compat.uninstall()


def test_the_upper_layers_provide_their_blissdata_paths(layer):
    """install_as_blissdata(): the blissdata 2.x paths blissdata-h5/-writer provide import."""
    for path, names in PROVIDED_BY_UPPER_LAYERS.items():
        module = importlib.import_module(path)
        missing = [n for n in names if not hasattr(module, n)]
        assert not missing, f"{path} lacks {missing}"
