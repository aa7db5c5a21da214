"""What every object of a file shares (h5py's ``HLObject``): name, file, parent, attrs."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from .attrs import AttributeManager
from .h5type import h5_type

if TYPE_CHECKING:
    from .file import File
    from .group import Group


class HLObject:
    #: The silx ``H5Type`` member this class mimics (see :attr:`h5_class`).
    _h5_type_name = "GROUP"

    def __init__(self, file: File, name: str, node: Any):
        self._file = file
        self._name = name
        self._node = node

    @property
    def name(self) -> str:
        return self._name

    @property
    def file(self) -> File:
        return self._file

    @property
    def parent(self) -> Group:
        return self._file[posixpath.dirname(self._name) or "/"]

    @property
    def h5_class(self) -> Any:
        """silx's ``H5Type`` of this object: silx then treats it as h5py's."""
        return h5_type(self._h5_type_name)

    @property
    def attrs(self) -> AttributeManager:
        return AttributeManager(self._node.attrs, self._name)
