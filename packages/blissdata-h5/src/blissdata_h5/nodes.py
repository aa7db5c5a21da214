"""The small interface every source implements, and the wrappers sit on.

A source exposes a tree of nodes.  Groups list and hand out their children
*unresolved* (links stay links, so that ``visit`` can skip them and
``get(getlink=True)`` can report them); the :mod:`blissdata_h5.file` resolver
follows links.  Datasets expose their shape and read whole rows along the
first axis; numpy indexing on top of that lives in :mod:`blissdata_h5.selection`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np


def sort_names(names: Any) -> list[str]:
    """HDF5 (and so h5py) lists links by name, comparing UTF-8 bytes."""
    return sorted(names, key=lambda name: name.encode())


def join_path(base: str, name: str) -> str:
    """Absolute path of ``name`` seen from group ``base``, as HDF5 resolves it.

    Empty and ``.`` components vanish; ``..`` is an ordinary (and in practice
    missing) name in HDF5, so a link through it dangles as it does in the file.
    """
    full = name if name.startswith("/") else f"{base}/{name}"
    parts = [part for part in full.split("/") if part not in ("", ".")]
    return "/" + "/".join(parts)


class Node(ABC):  # noqa: B024 - a common base; groups and datasets add the methods
    """Anything that can sit at a path: a group, a dataset or a link."""

    #: Where the node lives in its own tree (used to fetch it from elsewhere).
    path: str = "/"


class GroupNode(Node):
    @property
    @abstractmethod
    def attrs(self) -> Mapping[str, Any]:
        """Attribute values, typed as h5py returns them."""

    @abstractmethod
    def keys(self) -> list[str]:
        """Child names in h5py order."""

    @abstractmethod
    def child(self, name: str) -> Node:
        """The child called ``name``, links unresolved; KeyError when absent."""


class DatasetNode(Node):
    @property
    @abstractmethod
    def attrs(self) -> Mapping[str, Any]: ...

    @property
    @abstractmethod
    def dtype(self) -> np.dtype: ...

    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Current shape; the first axis of a live dataset grows."""

    @abstractmethod
    def read_all(self) -> Any:
        """What h5py's ``dataset[()]`` returns."""

    @abstractmethod
    def read_rows(self, start: int, stop: int, step: int) -> np.ndarray:
        """Rows ``start:stop:step`` (step > 0, bounds within ``shape[0]``)."""

    def check(self) -> None:  # noqa: B027 - most datasets have nothing to check
        """Raise now (when opened) what reading would raise: a bad value in the map."""

    @property
    def live(self) -> bool:
        """True while more rows may still arrive."""
        return False

    def storage(self) -> tuple[tuple[int, ...] | None, list[tuple[int, str]]]:
        """How a file stores it: (chunk shape or None, [(filter id, filter name)]).

        Viewers show it (h5grove's metadata); data not read from a file has neither.
        """
        return None, []

    def wait(self, length: int, timeout: float | None) -> bool:
        """Block until ``length`` rows exist or no more can come; True when they exist."""
        return self.shape[0] >= length if self.shape else True


class SoftLinkNode(Node):
    def __init__(self, target: str, path: str):
        self.target = target
        self.path = path


class ExternalLinkNode(Node):
    def __init__(self, filename: str, target: str, path: str):
        self.filename = filename
        self.target = target
        self.path = path


class Source(ABC):
    """One file as seen through some backend (Redis scans, the HDF5 file, both)."""

    filename: str
    kind: str

    @abstractmethod
    def root(self) -> GroupNode: ...

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        pass
