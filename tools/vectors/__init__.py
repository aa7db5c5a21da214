"""Conformance vectors: recipes, the generator and the reference driver (standard library only here)."""
