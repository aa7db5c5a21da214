"""``blissdata.redis_engine.exceptions`` (deprecated path in the reference)."""

from blissdata_core.compat._blissdata.exceptions import *  # noqa: F401, F403
from blissdata_core.compat._blissdata.exceptions import (  # noqa: F401
    EndOfStream,
    IndexNoMoreThereError,
    IndexNotYetThereError,
    IndexWontBeThereError,
)
