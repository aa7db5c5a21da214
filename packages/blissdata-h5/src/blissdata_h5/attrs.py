"""Read-only ``attrs`` of a group or dataset, shaped like h5py's AttributeManager."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class AttributeManager(Mapping):
    """Attribute names and values of one object (values typed like h5py's)."""

    def __init__(self, values: Mapping[str, Any], name: str):
        self._values = values
        self._name = name

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(f"Can't open attribute {key!r} of {self._name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def stored_dtype(self, key: str) -> Any:
        """The dtype the file stores attribute ``key`` with; None when not read from a file.

        Viewers show it (a variable-length ASCII and a UTF-8 string both read as ``str``).
        """
        getter = getattr(self._values, "stored_dtype", None)
        if getter is None:
            return None
        try:
            return getter(key)
        except KeyError:
            raise KeyError(f"Can't open attribute {key!r} of {self._name!r}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        raise PermissionError("blissdata_h5 files are read-only")

    __delitem__ = __setitem__

    def __repr__(self) -> str:
        return f"<Attributes of blissdata_h5 object {self._name!r}>"
