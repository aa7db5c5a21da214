"""Conformance runner: vectors and the producer x consumer interop matrix."""
