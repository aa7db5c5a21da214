"""Values printed as a user reads them: ``0.05``, ``[1, 2, 3]``, ``'NXentry'``.

NumPy 2's reprs (``np.float64(0.05)``, ``np.str_('x')``) say how to rebuild a
value in Python; a tree listing wants the value itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Arrays longer than this are summarised with "..." as numpy does.
SUMMARY_THRESHOLD = 20


def format_value(value: Any) -> str:
    """A scalar, string or array as text, without numpy's type wrappers."""
    if isinstance(value, bytes):
        return repr(value.decode("utf-8", "replace"))
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SOU":
            items = [format_value(item) for item in value.ravel().tolist()]
            text = ", ".join(items[:SUMMARY_THRESHOLD])
            more = ", ..." if len(items) > SUMMARY_THRESHOLD else ""
            return f"[{text}{more}]" if value.ndim else text
        return np.array2string(value, separator=", ", threshold=SUMMARY_THRESHOLD)
    if isinstance(value, np.generic):
        return format_value(value.item())
    if isinstance(value, str):
        return repr(value)
    return str(value)
