"""blissdata_h5."""
