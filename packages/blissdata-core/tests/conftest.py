"""Shared helpers of the core tests (fixtures come from blissdata_core.testing)."""

import pytest


@pytest.fixture
def new_scan(data_store):
    """Factory: a scan in state CREATED with the given streams."""
    counter = iter(range(1, 10**6))

    def make(**definitions):
        from blissdata_core import Stream

        scan = data_store.create_scan(
            {"name": "test", "number": next(counter), "data_policy": "no_policy"}
        )
        streams = {}
        for name, spec in definitions.items():
            dtype, shape = spec if isinstance(spec, tuple) else (spec, None)
            streams[name] = scan.create_stream(Stream.make_definition(name, dtype, shape))
        return scan, streams

    return make
