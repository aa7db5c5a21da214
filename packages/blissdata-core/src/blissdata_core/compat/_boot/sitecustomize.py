"""Activates blissdata_core's compatibility layer in every Python the launcher starts.

The launcher (``blissdata compat -- CMD``) puts this directory first on
PYTHONPATH and sets ``BLISSDATA_COMPAT=1``; Python imports this module at
start-up.  Any other ``sitecustomize`` on the path still runs afterwards.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _activate():
    if os.environ.get("BLISSDATA_COMPAT") != "1":
        return
    try:
        from blissdata_core.compat import install_as_blissdata
    except ImportError as exc:
        sys.stderr.write(f"blissdata compat: blissdata_core is not importable here ({exc})\n")
        return
    installation = install_as_blissdata()
    if installation.replaced:
        sys.stderr.write(f"blissdata compat: {installation.describe()}\n")


def _chain():
    """Run the sitecustomize this one hides, if any."""
    path = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_activate()
_chain()
