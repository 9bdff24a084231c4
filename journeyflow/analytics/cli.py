"""argparse glue for ``journeyflow validate | query | report`` (wired into ``journeyflow/cli.py`` by its owner).

Each pair is ``add_<cmd>_args(parser)`` and ``cli_<cmd>(ns, rest=None) -> int`` (``rest`` is accepted so the
functions fit ``journeyflow.cli.COMMANDS`` as they are); :data:`COMMANDS` has the three entries ready for
``COMMANDS.update(...)``::

    journeyflow validate OUT [--min-ts T --max-ts T] [--json] [--failures-only]   exit 1 when a check fails
    journeyflow query OUT "SELECT …" | --example NAME [--param k=v] [--format table|csv|json] [--max-rows N]
    journeyflow query --list-examples
    journeyflow report OUT [--path FILE]                                            prints the path written

Heavy imports (great_expectations, duckdb) happen inside the ``cli_*`` functions, so building the parser stays
cheap.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_validate_args", "cli_validate", "add_query_args", "cli_query", "add_report_args", "cli_report",
           "COMMANDS"]


# ------------------------------------------------------------------------------------------------ validate
def add_validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--min-ts", help="start of the replayed input (epoch ms or ISO-8601); default: derived")
    p.add_argument("--max-ts", help="end of the replayed input (epoch ms or ISO-8601); default: derived")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.add_argument("--failures-only", action="store_true", help="text report: list failed checks only")


def cli_validate(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    from journeyflow.analytics.quality import validate_output
    if (ns.min_ts is None) != (ns.max_ts is None):
        print("journeyflow validate: give both --min-ts and --max-ts, or neither", file=sys.stderr)
        return 2
    rng = (ns.min_ts, ns.max_ts) if ns.min_ts is not None else None
    report = validate_output(ns.out, input_range=rng)
    if getattr(ns, "json", False):
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str))
    else:
        print(report.render(verbose=not getattr(ns, "failures_only", False)))
    return 0 if report.ok else 1


# ------------------------------------------------------------------------------------------------ query
def add_query_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", nargs="?", help="replay output directory (with tables/)")
    p.add_argument("sql", nargs="?", help="SQL over the views decisions, suppressed_candidates, journey_steps, "
                                          "customer_snapshots, identity_links, dead_letter")
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


def cli_query(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
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


# ------------------------------------------------------------------------------------------------ report
def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="replay output directory (with tables/)")
    p.add_argument("--path", help="where to write the HTML (default OUT/report.html)")


def cli_report(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    from journeyflow.analytics.report import write_report
    print(write_report(ns.out, ns.path))
    return 0


#: ``name: (help, setup, run)`` in the shape of ``journeyflow.cli.COMMANDS``.
COMMANDS = {
    "validate": ("data-quality checks (Great Expectations) over OUT/tables; exit 1 on failure",
                 add_validate_args, cli_validate),
    "query": ("SQL (DuckDB) over OUT/tables, or a named example query", add_query_args, cli_query),
    "report": ("write OUT/report.html: charts of funnels, decisions, suppressions, control groups",
               add_report_args, cli_report),
}
