"""The repository's tests use the shared fixtures of blissdata_core.testing (opt-in, not pytest11).

``BLISSDATA_TEST_GEVENT=1`` runs them in a gevent-monkey-patched process, as
BLISS and Flint are (``nox -s gevent``): the patch is applied here, first thing,
before the tests import anything of the project.  That pass runs in one process
(``-p no:xdist``): pytest-xdist's workers talk to their controller through a
real thread and the primitives of ``threading``, which the patch would turn
into greenlet ones.
"""

import os

GEVENT = os.environ.get("BLISSDATA_TEST_GEVENT") == "1"

if GEVENT:
    from gevent import monkey

    monkey.patch_all()

pytest_plugins = ["blissdata_core.testing"]


def pytest_configure(config):
    if GEVENT and (config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses")):
        import pytest

        raise pytest.UsageError(
            "BLISSDATA_TEST_GEVENT=1 runs the tests in one gevent-patched process: "
            "add -p no:xdist (or -n 0)"
        )
