"""The import hook behind :func:`install_as_blissdata`: ``blissdata.*`` paths alias our modules.

``import blissdata.X.Y`` is answered by the module ``blissdata_core.compat._blissdata.X.Y``
(the map of the reference client's layout, :mod:`._blissdata`), or by a module
another installed package of the project registers in the entry-point group
:data:`MODULE_GROUP` (``"blissdata.h5api.dynamic_hdf5" = "blissdata_h5.compat.dynamic_hdf5"``),
so a layer above core can fill a path without core importing it.  The alias is
the very same module object, so ``isinstance`` checks and class identity hold
across both names.  ``importlib.metadata`` also finds a ``blissdata``
distribution (:data:`COMPAT_VERSION`), since callers choose code paths by it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable
from functools import cache
from types import ModuleType
from typing import Any

TOP = "blissdata"
SHIM_PACKAGE = "blissdata_core.compat._blissdata"
#: Entry-point group through which other project packages provide ``blissdata.*`` paths.
MODULE_GROUP = "blissdata_core.compat_modules"
#: What ``importlib.metadata.version("blissdata")`` answers while the layer is active:
#: the reference release the wire protocol matches, with a local label naming us.
COMPAT_VERSION = "2.4.5+blissdata.core"


@cache
def registered_modules() -> dict[str, str]:
    """``blissdata.*`` paths that other installed project packages provide."""
    return {ep.name: ep.value for ep in importlib.metadata.entry_points(group=MODULE_GROUP)}


def target_of(fullname: str) -> str | None:
    """The project module that answers ``fullname`` (a ``blissdata`` path), or None.

    ``from blissdata.h5api import dynamic_hdf5`` imports the submodule under the
    parent's own name (``blissdata_core.compat._blissdata.h5api.dynamic_hdf5``),
    so registered paths are answered under that spelling too.
    """
    if fullname.startswith(SHIM_PACKAGE + "."):
        registered = registered_modules().get(TOP + fullname[len(SHIM_PACKAGE) :])
        return registered
    if fullname != TOP and not fullname.startswith(TOP + "."):
        return None
    registered = registered_modules().get(fullname)
    if registered is not None:
        return registered
    candidate = SHIM_PACKAGE + fullname[len(TOP) :]
    try:
        found = importlib.util.find_spec(candidate)
    except ModuleNotFoundError:
        return None
    return candidate if found is not None else None


class _AliasLoader(importlib.abc.Loader):
    """Executes an alias by putting the target module itself in ``sys.modules``."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps in the target

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds after exec_module.
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _CompatDistribution(importlib.metadata.Distribution):
    """Metadata of the ``blissdata`` name while the layer is active (no files, no entry points)."""

    def read_text(self, filename: str) -> str | None:
        if filename == "METADATA":
            return (
                "Metadata-Version: 2.1\nName: blissdata\n"
                f"Version: {COMPAT_VERSION}\n"
                "Summary: blissdata_core compatibility layer (install_as_blissdata)\n"
            )
        return None

    def locate_file(self, path: Any) -> Any:
        return None


class BlissdataFinder(importlib.abc.MetaPathFinder):
    """Answers ``blissdata`` and its submodules; nothing else."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        module = target_of(fullname)
        if module is None:
            return None
        spec_of_target = importlib.util.find_spec(module)
        is_package = spec_of_target is not None and spec_of_target.submodule_search_locations
        spec = importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(module), is_package=bool(is_package)
        )
        return spec

    def find_distributions(self, context: Any = None) -> Iterable[importlib.metadata.Distribution]:
        name = getattr(context, "name", None)
        if name is None or name.replace("-", "_").lower() == TOP:
            return [_CompatDistribution()]
        return []
