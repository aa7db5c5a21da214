"""``blissdata.redis_engine.encoding``."""
