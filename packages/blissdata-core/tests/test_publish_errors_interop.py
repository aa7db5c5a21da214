"""A scan closed after a failed publication (its ``publish_errors``, spec revision 3),
read by the reference client."""

from __future__ import annotations

import json
import textwrap

import pytest

from blissdata_core import PublishError, Stream
from blissdata_core.testing import run_reference

pytestmark = pytest.mark.interop

REF_READ = textwrap.dedent(
    """
    import sys, json
    from blissdata.redis_engine.store import DataStore
    scan = DataStore(sys.argv[1]).load_scan(sys.argv[2])
    x = scan.streams["x"]
    data = x[:]
    print(json.dumps({"state": int(scan.state), "data": data.tolist(), "len": len(x),
                      "sealed": x.is_sealed()}))
    """
)


def test_scan_closed_after_a_publish_failure_read_by_reference(
    data_store, redis_url, fail_publication
):
    scan = data_store.create_scan({"name": "ourscan", "number": 6, "data_policy": "no_policy"})
    x = scan.create_stream(Stream.make_definition("x", "float64"))
    scan.prepare()
    scan.start()
    x.send(1.0)
    x.join()
    repair = fail_publication(x)
    x.send(2.0)
    with pytest.raises(PublishError):
        x.join()
    repair()
    scan.stop()
    scan.close()
    assert scan.publish_errors["x"]["lost"] == 1
    out = json.loads(run_reference(REF_READ, redis_url, scan.key).strip().splitlines()[-1])
    assert out == {"state": 4, "data": [1.0], "len": 1, "sealed": True}
