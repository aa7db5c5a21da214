"""blissdata_h5: h5py's read API over live scans in Redis and over saved files.

>>> with blissdata_h5.File("/data/s.h5", data_store=url) as f:
...     diode = f["3.1/measurement/diode"][:]
"""

from .attrs import AttributeManager
from .dataset import Dataset
from .errors import (
    DanglingLinkError,
    FileSourceError,
    H5MapError,
    H5PathError,
    MissingPluginError,
    MissingStreamError,
)
from .file import File
from .group import Group

__all__ = [
    "AttributeManager",
    "DanglingLinkError",
    "Dataset",
    "File",
    "FileSourceError",
    "Group",
    "H5MapError",
    "H5PathError",
    "MissingPluginError",
    "MissingStreamError",
]
