"""Adapters where the reference client's shapes differ from blissdata_core's."""

from __future__ import annotations

from typing import Any

from ..store import DataStore as _CoreDataStore


class DataStore(_CoreDataStore):
    """``blissdata.redis_engine.store.DataStore``: the project's store, plus ``_redis``.

    Downstream code (blissoda) reaches for ``data_store._redis``, the raw
    redis-py client; here it is the public :attr:`DataStore.redis`.
    """

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails, whatever core keeps internally.
        if name == "_redis":
            return self.redis
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
