"""blissdata_core: the protocol 1 client (data store, scans, streams, cursors)."""
