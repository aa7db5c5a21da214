"""``blissdata.redis_engine``."""
