"""``blissdata.lima.image_utils``: the decoded-frame type plugins return."""

from blissdata_core.compat.lima_access import ImageData  # noqa: F401
