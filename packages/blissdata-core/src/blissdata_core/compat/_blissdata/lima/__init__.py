"""``blissdata.lima``."""
