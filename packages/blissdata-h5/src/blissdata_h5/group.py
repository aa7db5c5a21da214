"""Group: h5py's read API over a :class:`~blissdata_h5.nodes.GroupNode`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import h5py

from blissdata_core.errors import BlissdataError

from .base import HLObject
from .nodes import ExternalLinkNode, GroupNode, SoftLinkNode, join_path, sort_names

if TYPE_CHECKING:
    from .dataset import Dataset
    from .file import File


class Group(HLObject, Mapping):
    def __init__(self, file: File, name: str, node: GroupNode):
        super().__init__(file, name, node)

    # --- mapping -------------------------------------------------------------
    def __getitem__(self, path: str | bytes) -> Group | Dataset:
        if isinstance(path, bytes):
            path = path.decode()
        if not isinstance(path, str):
            raise TypeError(f"Accessing a group is done with bytes or str, not {type(path)}")
        return self._file._open(join_path(self._name, path))

    def __iter__(self) -> Iterator[str]:
        return iter(self._node.keys())

    def __len__(self) -> int:
        return len(self._node.keys())

    def __contains__(self, path: object) -> bool:
        """As h5py: the groups on the way must exist; the last link need not resolve."""
        if isinstance(path, bytes):
            path = path.decode()
        if not isinstance(path, str):
            return False
        full = join_path(self._name, path)
        if full == "/":
            return True
        parent, base = full.rsplit("/", 1)
        try:
            _, _, node = self._file._resolve(parent or "/", 0)
            return isinstance(node, GroupNode) and base in node.keys()
        except (KeyError, BlissdataError):  # a missing or broken group on the way
            return False

    def __eq__(self, other: object) -> bool:
        # the same object, as h5py compares ids (Mapping would compare contents)
        if not isinstance(other, Group):
            return NotImplemented
        return (self._file.filename, self._name) == (other._file.filename, other._name)

    def __hash__(self) -> int:
        return hash((self._file.filename, self._name))

    def __bool__(self) -> bool:
        return True

    def get(
        self, name: str, default: Any = None, getclass: bool = False, getlink: bool = False
    ) -> Any:
        """As h5py's: ``getlink`` gives the link object, ``getclass`` the class."""
        if getlink:
            try:
                node = self._file._raw(join_path(self._name, name))
            except BlissdataError:  # a broken map item is still a (hard) link
                node = GroupNode  # any non-link marker
            if node is None:
                return default
            if isinstance(node, SoftLinkNode):
                link = h5py.SoftLink(node.target)
                return type(link) if getclass else link
            if isinstance(node, ExternalLinkNode):
                link = h5py.ExternalLink(node.filename, node.target)
                return type(link) if getclass else link
            return h5py.HardLink if getclass else h5py.HardLink()
        try:
            obj = self[name]
        except KeyError:
            return default
        return type(obj) if getclass else obj

    # --- traversal -----------------------------------------------------------
    def visit(self, func: Callable[[str], Any]) -> Any:
        """Call ``func(name)`` for every object below, names sorted, links skipped."""
        return self.visititems(lambda name, _obj: func(name))

    def visititems(self, func: Callable[[str, Any], Any]) -> Any:
        return self._visit(self._node, "", func)

    def _visit(self, node: GroupNode, prefix: str, func: Callable) -> Any:
        # HDF5 visits by name even in groups that list by creation order
        for key in sort_names(node.keys()):
            try:
                child = node.child(key)
            except KeyError:
                continue
            if isinstance(child, SoftLinkNode | ExternalLinkNode):
                continue
            name = f"{prefix}{key}"
            obj = self._file._wrap(join_path(self._name, name), child)
            result = func(name, obj)
            if result is not None:
                return result
            if isinstance(child, GroupNode):
                result = self._visit(child, name + "/", func)
                if result is not None:
                    return result
        return None

    def __repr__(self) -> str:
        try:
            members = len(self)
        except Exception:  # noqa: BLE001 - repr must not fail
            members = "?"
        return f'<blissdata_h5 group "{self._name}" ({members} members)>'
