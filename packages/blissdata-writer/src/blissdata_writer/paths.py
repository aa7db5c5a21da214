"""The ``--root`` allow-list: which target files the writer may touch."""

from __future__ import annotations

import os

from .errors import PathRefusedError


def check_target(path: str, roots: list[str] | None) -> str:
    """The resolved target, or PathRefusedError when it is relative or outside every root.

    ``..`` and symlinks (of the file and of its directories) are resolved before
    comparing, so neither can lead out of a root.
    """
    if not os.path.isabs(path):
        raise PathRefusedError(f"refused {path!r}: target paths must be absolute")
    real = os.path.realpath(path)
    if not roots:
        return real
    for root in roots:
        real_root = os.path.realpath(root)
        if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
            return real
    raise PathRefusedError(f"refused {path!r}: outside the allowed roots {', '.join(roots)}")
