"""Run unmodified blissdata 2.x code on blissdata_core (``install_as_blissdata``).

After :func:`install_as_blissdata`, ``import blissdata`` and the submodule paths
that downstream code imports (:data:`PROVIDED_MODULES`) resolve to this
project's implementation, and stream plugins registered in the reference's
entry-point group ``blissdata`` load beside the project's own.  Nothing happens
unless it is called, directly or through the launcher (``blissdata compat -- CMD``).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import warnings
from dataclasses import dataclass

from ..errors import ReferenceAlreadyImported
from ..streams import plugins
from .finder import COMPAT_VERSION, TOP, BlissdataFinder
from .modules import PROVIDED_MODULES

__all__ = [
    "COMPAT_VERSION",
    "PROVIDED_MODULES",
    "Installation",
    "ReferenceAlreadyImported",
    "install_as_blissdata",
    "is_installed",
    "uninstall",
]

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_finder: BlissdataFinder | None = None

#: The reference's entry-point group for stream plugins (lima2, mosca, ...).
REFERENCE_PLUGIN_GROUP = "blissdata"


@dataclass(frozen=True)
class Installation:
    """What :func:`install_as_blissdata` did: the installed blissdata it hides, if any."""

    version: str
    replaced: str | None  # location of an installed real blissdata, now shadowed

    def describe(self) -> str:
        what = f"'blissdata' resolves to blissdata_core (as blissdata {self.version})"
        if self.replaced:
            return f"{what}; the installed blissdata at {self.replaced} is shadowed"
        return what


def _installed_reference() -> str | None:
    """Where a real blissdata would be imported from, were the layer not active."""
    spec = importlib.util.find_spec(TOP) if TOP not in sys.modules else None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or []) or [spec.origin]
    return ", ".join(str(loc) for loc in locations)


def is_installed() -> bool:
    return _finder is not None


def install_as_blissdata() -> Installation:
    """Make ``blissdata`` and its submodules resolve to this project (idempotent).

    Raises :class:`ReferenceAlreadyImported` when the real blissdata was already
    imported in this process.  When a real blissdata is installed but not yet
    imported, it is shadowed, and a warning says so.
    """
    global _finder
    with _lock:
        if _finder is not None:
            return Installation(COMPAT_VERSION, None)
        loaded = sys.modules.get(TOP)
        if loaded is not None:
            raise ReferenceAlreadyImported(
                f"blissdata is already imported from {getattr(loaded, '__file__', '?')}; "
                "call install_as_blissdata() before anything imports blissdata"
            )
        replaced = _installed_reference()
        _finder = BlissdataFinder()
        sys.meta_path.insert(0, _finder)
        # plugins installed for blissdata 2.x (blissdata-lima2, blissdata-mosca)
        # win: their users may test their classes; the reference's own are ours
        plugins.add_entry_point_group(
            REFERENCE_PLUGIN_GROUP, override=True, ignore_distributions=(TOP,)
        )
    installation = Installation(COMPAT_VERSION, replaced)
    if replaced:
        warnings.warn(installation.describe(), RuntimeWarning, stacklevel=2)
    _logger.info(installation.describe())
    return installation


def uninstall() -> None:
    """Remove the import hook and forget the aliased modules (for tests and tools)."""
    global _finder
    with _lock:
        if _finder is None:
            return
        sys.meta_path.remove(_finder)
        _finder = None
        for name in [n for n in sys.modules if n == TOP or n.startswith(TOP + ".")]:
            del sys.modules[name]
        plugins.remove_entry_point_group(REFERENCE_PLUGIN_GROUP)
