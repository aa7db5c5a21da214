"""The repository's tests use the shared fixtures of blissdata_core.testing (opt-in, not pytest11)."""

pytest_plugins = ["blissdata_core.testing"]
