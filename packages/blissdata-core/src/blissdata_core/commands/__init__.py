"""Subcommands of the ``blissdata`` console script, one module each.

A module here exposes ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed arguments, returning the exit code).  List it
in :data:`blissdata_core.cli.COMMANDS` to make it appear.
"""
