"""Packaged copy of spec/schemas and spec/vectors (tools/sync_spec.py)."""
