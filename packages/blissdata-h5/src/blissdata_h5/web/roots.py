"""The served directories: a ``file`` query parameter becomes a path inside one of them, or nothing.

A request names a file relative to a root.  Whatever ``..``, absolute paths or
symbolic links it uses, the file it reaches must lie inside that root once
resolved, else it is refused: nothing outside the roots is ever opened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from ..errors import OutsideRootsError


class Roots:
    def __init__(self, directories: list[str | os.PathLike]):
        if not directories:
            raise ValueError("at least one root directory is needed")
        self.directories = [os.path.abspath(os.fspath(d)) for d in directories]
        self._real = [os.path.realpath(d) for d in self.directories]

    def candidates(self, relative: str) -> list[str]:
        """The paths ``relative`` names under each root, those that stay inside it."""
        if "\0" in relative:
            raise OutsideRootsError("a file name cannot hold a NUL character")
        found = []
        for directory, real in zip(self.directories, self._real, strict=True):
            path = os.path.normpath(os.path.join(directory, relative))
            if _inside(os.path.realpath(path), real) and _inside(path, directory):
                found.append(path)
        if not found:
            raise OutsideRootsError(f"{relative!r} is outside the served directories")
        return found

    def resolve(self, relative: str, is_there: Callable[[str], bool]) -> str:
        """The first candidate that exists (on disk first, then as ``is_there`` says).

        With none, the first candidate: opening it reports the missing file.
        """
        paths = self.candidates(relative)
        for path in paths:
            if os.path.isfile(path):
                return path
        if len(paths) == 1:
            return paths[0]  # nothing to choose: opening it tells whether it is there
        for path in paths:
            if is_there(path):
                return path
        return paths[0]

    def relative(self, path: str) -> str | None:
        """``path`` as a request names it (relative to the first root holding it)."""
        for directory in self.directories:
            if _inside(path, directory):
                return os.path.relpath(path, directory)
        return None

    def files(self, suffixes: tuple[str, ...], limit: int) -> Iterator[str]:
        """HDF5-looking files under the roots (relative names), at most ``limit``."""
        count = 0
        for directory in self.directories:
            for parent, subdirs, names in os.walk(directory):
                subdirs.sort()  # walked in name order, stopped as soon as enough are found
                for name in sorted(names):
                    if os.path.splitext(name)[1].lower() in suffixes:
                        yield os.path.relpath(os.path.join(parent, name), directory)
                        count += 1
                        if count >= limit:
                            return


def _inside(path: str, directory: str) -> bool:
    return os.path.commonpath([path, directory]) == directory
