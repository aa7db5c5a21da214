"""Protocol 1 constants: key names, ids, limits, the server-side seal function.

Everything here is fixed by ``spec/PROTOCOL.md``; change it only together with
the spec (and a protocol version bump where the wire changes).
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
PROTOCOL_KEY = "_PROTOCOL_VERSION_"
SCAN_HISTORY_KEY = "_SCAN_HISTORY_"
SCAN_HISTORY_MAXLEN = 2048

SCAN_KEY_PREFIX = "esrf:scan:"
STREAM_KEY_PREFIX = "esrf:stream:"
SEARCH_INDEX_NAME = "esrf:scan:index"

#: A scan whose keys expire within this many seconds counts as deleted.
DELETION_GRACE_SECONDS = 10

#: Largest stream id component; the seal entry uses it twice.
MAX_STREAM_ID = 2**64 - 1
SEAL_ENTRY_ID = f"{MAX_STREAM_ID}-{MAX_STREAM_ID}"
#: XREAD from here returns only the seal entry.
BEFORE_SEAL_ID = f"{MAX_STREAM_ID}-{MAX_STREAM_ID - 1}"

#: Data entries use sequence 1: ``<first point index>-1``.
DATA_ENTRY_SEQ = 1

#: Scan info larger than this (as JSON text) is refused.
MAX_INFO_BYTES = 2**20

#: Identity fields known to the ESRF identity model, in document order.
IDENTITY_FIELDS = (
    "name",
    "number",
    "data_policy",
    "session",
    "proposal",
    "collection",
    "dataset",
    "path",
)
REQUIRED_IDENTITY_FIELDS = ("name", "number", "data_policy")

SEAL_FUNCTION_NAME = "seal_stream"
SEAL_FUNCTION_LIBRARY = "mylib"
SEAL_FUNCTION_CODE = """#!lua name=mylib
-- Seal a blissdata stream: append the terminal entry carrying the total length.
-- Reading the last entry and appending the seal must be one atomic step.
local function seal_stream(keys, args)
  local key = keys[1]
  local seal_id = '18446744073709551615-18446744073709551615'
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  local total = 0
  if last ~= nil then
    if last[1] == seal_id then
      error(key .. ' is already sealed.')
    end
    local first = tonumber(string.match(last[1], '^(%d+)-'))
    local count = 1
    local fields = last[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'len' then
        count = tonumber(fields[i + 1])
      end
    end
    total = first + count
  end
  redis.call('XADD', key, seal_id, 'id', total)
  return total
end

redis.register_function('seal_stream', seal_stream)
"""

#: Text fields of the search index, as (JSON path, attribute name).
INDEX_TAG_FIELDS = (
    ("$.pk", "pk"),
    ("$.id.pk", "id_pk"),
    ("$.id.name", "id_name"),
    ("$.id.data_policy", "id_data_policy"),
    ("$.id.session", "id_session"),
    ("$.id.proposal", "id_proposal"),
    ("$.id.collection", "id_collection"),
    ("$.id.dataset", "id_dataset"),
    ("$.id.path", "id_path"),
    ("$.state_stream.pk", "state_stream_pk"),
)
INDEX_NUMERIC_FIELDS = (("$.id.number", "id_number"),)

#: The schema text stored beside the index, byte-identical to what the
#: reference client's ORM stores (it compares it to decide on migrations).
INDEX_SCHEMA_TEXT = (
    "ON JSON PREFIX 1 esrf:scan: SCHEMA $.pk AS pk TAG SEPARATOR | "
    "$.id.pk AS id_pk TAG SEPARATOR | $.id.name AS id_name TAG SEPARATOR | "
    "$.id.number AS id_number NUMERIC $.id.data_policy AS id_data_policy TAG SEPARATOR | "
    "$.id.session AS id_session TAG SEPARATOR | $.id.proposal AS id_proposal TAG SEPARATOR | "
    "$.id.collection AS id_collection TAG SEPARATOR | $.id.dataset AS id_dataset TAG SEPARATOR | "
    "$.id.path AS id_path TAG SEPARATOR |  $.state_stream.pk AS state_stream_pk TAG SEPARATOR | "
)


def index_create_args() -> list[str]:
    """Arguments of ``FT.CREATE`` for the scan search index."""
    args = [SEARCH_INDEX_NAME, "ON", "JSON", "PREFIX", "1", SCAN_KEY_PREFIX, "SCHEMA"]
    for path, name in INDEX_TAG_FIELDS[:3]:
        args += [path, "AS", name, "TAG", "SEPARATOR", "|"]
    for path, name in INDEX_NUMERIC_FIELDS:
        args += [path, "AS", name, "NUMERIC"]
    for path, name in INDEX_TAG_FIELDS[3:]:
        args += [path, "AS", name, "TAG", "SEPARATOR", "|"]
    return args


def scan_key(pk: str) -> str:
    return SCAN_KEY_PREFIX + pk


def stream_key(pk: str) -> str:
    return STREAM_KEY_PREFIX + pk
