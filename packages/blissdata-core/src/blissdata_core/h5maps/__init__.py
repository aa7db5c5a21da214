"""The h5maps specification (PROTOCOL.md section 11), implemented once.

Parsing, validation and value decoding of a scan's ``info["h5maps"]``, and
the default tree of scans without one.  The writer and the h5 facade both
build on this package, so a map means the same thing to both.
"""

from ..errors import H5MapError
from .default_tree import default_h5map, scan_h5maps
from .items import (
    OBJECT_TYPES,
    Dataset,
    ExternalBinaryDataset,
    ExternalLink,
    Group,
    Item,
    SoftLink,
    VirtualDataset,
    VirtualSource,
    diff,
    get_item,
    join_path,
    parse_item,
    parse_maps,
    parse_root,
    stream_datasets,
)
from .paths import file_key, same_file
from .values import (
    BINARY_DTYPE,
    INLINE_DTYPE,
    STRING_DTYPE,
    VALUE_TYPES,
    StreamRef,
    Value,
    check_binary_dtype,
    decode,
    decode_value,
    is_stream_ref,
)

__all__ = [
    "BINARY_DTYPE",
    "INLINE_DTYPE",
    "OBJECT_TYPES",
    "STRING_DTYPE",
    "VALUE_TYPES",
    "Dataset",
    "ExternalBinaryDataset",
    "ExternalLink",
    "Group",
    "H5MapError",
    "Item",
    "SoftLink",
    "StreamRef",
    "Value",
    "VirtualDataset",
    "VirtualSource",
    "check_binary_dtype",
    "decode",
    "decode_value",
    "default_h5map",
    "diff",
    "file_key",
    "get_item",
    "is_stream_ref",
    "join_path",
    "parse_item",
    "parse_maps",
    "parse_root",
    "same_file",
    "scan_h5maps",
    "stream_datasets",
]
