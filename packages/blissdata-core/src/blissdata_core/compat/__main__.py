"""``python -m blissdata_core.compat -- CMD ARGS``: see :mod:`.launcher`."""

from .launcher import main

raise SystemExit(main())
