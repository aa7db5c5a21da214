"""The one spelling of a file path under which h5maps keys are compared.

A scan names its files by absolute path (PROTOCOL.md section 11). Producers,
writers and readers may spell one path differently (``/data/./a.h5``,
``/data//a.h5``, ``/data/x/../a.h5``); writer and readers compare them after
:func:`file_key`, so a file is one file to both. Symlinks are left as they
are: they belong to the file system, which may change under a running scan,
not to the spelling (:func:`same_file` also compares the resolved paths).
"""

from __future__ import annotations

import os


def file_key(path: str | os.PathLike[str]) -> str:
    """``path`` absolute and normalised (no ``.``, ``..`` or repeated separators);
    a relative path is taken from the current directory."""
    text = os.fspath(path)
    return os.path.abspath(text) if text else text


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two spellings name one file: same key, or same path once symlinks are resolved."""
    key_a, key_b = file_key(a), file_key(b)
    return key_a == key_b or os.path.realpath(key_a) == os.path.realpath(key_b)
