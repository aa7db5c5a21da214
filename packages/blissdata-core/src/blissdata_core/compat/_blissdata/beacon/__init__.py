"""``blissdata.beacon``."""
