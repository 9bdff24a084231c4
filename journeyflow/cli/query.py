"""``journeyflow query``: SQL (DuckDB) over ``OUT/tables``, or a named example query
(:mod:`journeyflow.analytics.query`)::

    journeyflow query OUT "SELECT …" | --example NAME [--param k=v] [--format table|csv|json] [--max-rows N]
    journeyflow query --list-examples

Exit 0; 2 for a usage error, an unknown example, a bad ``--param`` or SQL that DuckDB rejects.  duckdb is imported
only when a query runs."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "SQL (DuckDB) over OUT/tables, or a named example query"


def add_args(p: argparse.ArgumentParser) -> None:
    """``[OUT] [SQL] [--example NAME] [--param NAME=VALUE]... [--list-examples] [--format table|csv|json]
    [--max-rows N]``."""
    p.add_argument("out", nargs="?", help="replay output directory (with tables/)")
    p.add_argument("sql", nargs="?", help="SQL over the views decisions, suppressed_candidates, journey_steps, "
                                          "customer_snapshots, identity_links, dead_letter, field_warnings")
    p.add_argument("--example", metavar="NAME", help="run one of the example queries instead of SQL")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable the query reads with getvariable('NAME') (repeatable)")
    p.add_argument("--list-examples", action="store_true", help="list the example queries and exit")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--max-rows", type=int, default=200, help="rows printed in table format (default 200)")


def _params(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise ValueError(f"--param takes NAME=VALUE, got {item!r}")
        out[k.strip()] = v
    return out


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Run the SQL or example and print the result; 0, or 2 for a usage error or bad SQL (one line on stderr)."""
    from journeyflow.analytics.query import EXAMPLE_PARAMS, EXAMPLE_QUERIES, format_table, query
    if ns.list_examples:
        for name, sql in EXAMPLE_QUERIES.items():
            params = EXAMPLE_PARAMS.get(name, ())
            first = next((line.removeprefix("-- ") for line in sql.strip().splitlines() if line.startswith("--")),
                         "")
            print(f"{name}{' (' + ', '.join('--param ' + p + '=…' for p in params) + ')' if params else ''}")
            print(f"    {first}")
        return 0
    if ns.out is None:
        print("journeyflow query: give OUT and SQL, or OUT --example NAME", file=sys.stderr)
        return 2
    if (ns.sql is None) == (ns.example is None):
        print("journeyflow query: give either SQL or --example NAME", file=sys.stderr)
        return 2
    if ns.example is not None and ns.example not in EXAMPLE_QUERIES:
        print(f"journeyflow query: unknown example {ns.example!r}; examples: {', '.join(EXAMPLE_QUERIES)}",
              file=sys.stderr)
        return 2
    try:
        params = _params(ns.param)
    except ValueError as e:
        print(f"journeyflow query: {e}", file=sys.stderr)
        return 2
    sql = EXAMPLE_QUERIES[ns.example] if ns.example else ns.sql
    import duckdb
    try:
        result = query(ns.out, sql, params=params)
    except duckdb.Error as e:  # bad SQL is the user's to fix: one line, no traceback
        print(f"journeyflow query: {type(e).__name__}: {str(e).strip()}", file=sys.stderr)
        return 2
    if ns.format == "csv":
        import pyarrow.csv as pacsv
        pacsv.write_csv(result, sys.stdout.buffer)
        sys.stdout.flush()
    elif ns.format == "json":
        print(json.dumps(result.to_pylist(), indent=2, default=str))
    else:
        print(format_table(result, max_rows=ns.max_rows))
    return 0
