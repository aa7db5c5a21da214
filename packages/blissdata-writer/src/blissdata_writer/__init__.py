"""blissdata_writer."""
