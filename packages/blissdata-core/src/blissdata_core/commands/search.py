"""``blissdata search``: scans whose identity matches FIELD=VALUE conditions."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..protocol import IDENTITY_FIELDS
from ._common import (
    ENV_URL,
    SCAN_HEADER,
    CommandError,
    add_url_option,
    format_table,
    open_store,
    run_command,
    scan_rows,
)

HELP = "find scans by identity (name, number, session, path...)"

#: Identity fields indexed as numbers; the others are matched as strings.
NUMERIC_FIELDS = ("number",)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search",
        help=HELP,
        description="Find scans whose identity matches every FIELD=VALUE given, newest "
        f"first.  Fields: {', '.join(IDENTITY_FIELDS)}.  'number' is matched as an "
        "integer; string fields exactly, or with a leading/trailing * wildcard "
        "(quote it for the shell: name='loop*').  Exit status 1 when nothing matches.  "
        f"The Redis URL defaults to ${ENV_URL}.",
    )
    parser.add_argument("conditions", nargs="+", metavar="FIELD=VALUE")
    add_url_option(parser)
    parser.set_defaults(func=lambda args: run_command("search", run, args))


def parse_conditions(conditions: list[str]) -> dict[str, Any]:
    """``["name=loop*", "number=3"]`` -> ``{"name": "loop*", "number": 3}``."""
    query: dict[str, Any] = {}
    for condition in conditions:
        field, sep, value = condition.partition("=")
        field = field.strip()
        if not sep or not field:
            raise CommandError(f"conditions are FIELD=VALUE, not {condition!r}")
        if field not in IDENTITY_FIELDS:
            raise CommandError(
                f"unknown field {field!r}; searchable fields: {', '.join(IDENTITY_FIELDS)}"
            )
        if field in query:
            raise CommandError(f"field {field!r} given twice")
        if field in NUMERIC_FIELDS:
            try:
                query[field] = int(value)
            except ValueError:
                raise CommandError(f"{field} is an integer field, not {value!r}") from None
        else:
            if not value:
                raise CommandError(f"empty value for {field!r}")
            query[field] = value
    return query


def run(args: argparse.Namespace) -> int:
    query = parse_conditions(args.conditions)
    with open_store(args.url) as store:
        try:
            _, keys = store.search_existing_scans(**query)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc)) from None
        rows = scan_rows(store, sorted(keys, reverse=True))  # ULID keys: newest last
    if not rows:
        print("no scan matches", file=sys.stderr)
        return 1
    print(format_table(rows, SCAN_HEADER))
    return 0
