"""``journeyflow query``: SQL (DuckDB) over ``OUT/tables``, or a named example query
(:mod:`journeyflow.analytics.query`)::

    journeyflow query OUT "SELECT …" | --example NAME [--param k=v] [--customer ID|EMAIL|PHONE]
                      [--format table|csv|json] [--max_rows N]
    journeyflow query --list_examples

``--customer`` (or ``--param customer_id=…``) takes a customer id, any identifier key, or a raw email or phone
number, hashed with ``JOURNEYFLOW_HASH_KEY`` and the replay's ``--default_region`` / ``--merge_plus_addresses``
(from ``OUT/run.json``) like the pipeline did (:mod:`journeyflow.analytics.lookup`).  Exit 0;
2 for a usage error, an unknown example, a missing or unknown ``--param``, a customer not in the output, or SQL
that DuckDB rejects.  duckdb is imported only when a query runs."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from journeyflow.cli.common import did_you_mean, hyphen_aliases, whole_number

HELP = "SQL (DuckDB) over OUT/tables, or a named example query"


def add_args(p: argparse.ArgumentParser) -> None:
    """``[OUT] [SQL] [--example NAME] [--param NAME=VALUE]... [--customer ID|EMAIL|PHONE] [--list_examples]
    [--format table|csv|json] [--max_rows N] [--default_region R]`` (the hyphenated spellings are deprecated)."""
    p.add_argument("out", nargs="?", help="replay output directory (with tables/)")
    p.add_argument("sql", nargs="?", help="SQL over the views decisions, suppressed_candidates, journey_steps, "
                                          "customer_snapshots, identity_links, dead_letter, field_warnings and "
                                          "journeys (the run's journey steps, from OUT/run.json)")
    p.add_argument("--example", metavar="NAME", help="run one of the example queries instead of SQL")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable the query reads with getvariable('NAME') (repeatable; default: none)")
    p.add_argument("--customer", metavar="ID|EMAIL|PHONE",
                   help="the customer_id parameter, looked up by customer id, identifier key, email or phone")
    p.add_argument("--default_region", default=None, metavar="R",
                   help="region of --customer phone numbers written without a +country code (default: the "
                        "replay's --default_region, from OUT/run.json; US without one)")
    p.add_argument("--list_examples", action="store_true", help="list the example queries and exit")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    p.add_argument("--max_rows", type=whole_number(0), default=200, metavar="N", help="rows printed in table format")
    hyphen_aliases(p, "--list_examples", "--max_rows")


def _params(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise ValueError(f"--param takes NAME=VALUE, got {item!r}")
        out[k.strip()] = v
    return out


def _first_sentence(sql: str) -> str:
    """The first sentence of the leading ``--`` comment of an example query (up to its first ``.`` or ``?`` that
    ends a word and lies outside parentheses), its lines joined."""
    words = []
    for line in sql.strip().splitlines():
        if not line.startswith("--"):
            break
        words += line.removeprefix("--").split()
    depth = 0
    for i, w in enumerate(words):
        depth += w.count("(") - w.count(")")
        if depth <= 0 and w.endswith((".", "?")):
            return " ".join(words[:i + 1])
    return " ".join(words)


def _sql_error(e: Exception, sql: str | None = None) -> str:
    """DuckDB's message for ``e``; for a table that does not exist, the views a query can read instead of DuckDB's
    guess among its own catalog (``nosuch`` → "did you mean pg_sequences?"); for a parser error in ``sql`` with a
    bare ``at`` (journey_steps.at, a keyword to DuckDB), how to quote it."""
    import re

    from journeyflow.analytics.tables import TABLES
    text = str(e).strip()
    m = re.search(r"Table with name (\S+) does not exist", text)
    if m is None:
        # a column named like an SQL keyword (journey_steps.at: DuckDB's AT TIME ZONE) reads as the keyword, and the
        # parser complains about the word after it ("syntax error at or near "from"")
        if type(e).__name__ == "ParserException" and re.search(r"(?i)(?<![\w\".])at(?![\w\"])", sql or ""):
            text += ' (a column named like an SQL keyword must be quoted: "at", as in SELECT "at" FROM journey_steps)'
        return f"{type(e).__name__}: {text}"
    views = [*TABLES, "journeys"]
    return (f"no table or view {m.group(1)!r}{did_you_mean(m.group(1), views)}; the views are "
            f"{', '.join(views)}")


def _fail(message: str) -> int:
    """A usage or input error: one line with argparse's "error:" prefix, as every command's (qa17g), exit 2."""
    print(f"journeyflow query: error: {message}", file=sys.stderr)
    return 2


def _check_params(example: str | None, params: dict[str, Any]) -> str | None:
    """Why the ``--param``s do not fit ``example`` (a missing or unknown name), or None."""
    from journeyflow.analytics.query import EXAMPLE_PARAMS
    if example is None:
        return None
    wanted = EXAMPLE_PARAMS.get(example, ())
    for name in params:
        if name not in wanted:
            return (f"example {example} has no parameter {name!r}{did_you_mean(name, wanted)}; "
                    f"its parameters: {', '.join(wanted) or 'none'}")
    for name in wanted:
        if name not in params:
            extra = " or --customer ID|EMAIL|PHONE" if name == "customer_id" else ""
            return f"example {example} needs --param {name}=…{extra}"
    return None


def _json_value(v: Any) -> Any:
    """:func:`journeyflow.analytics.query.json_value` (``json.dumps``'s ``default``)."""
    from journeyflow.analytics.query import json_value
    return json_value(v)


def _finite(v: Any) -> Any:
    """:func:`journeyflow.analytics.query.json_ready`: NaN / infinite floats as None, intervals as ISO-8601
    durations, at any depth (structs, lists, map entries)."""
    from journeyflow.analytics.query import json_ready
    return json_ready(v)


def _csv_native(t: Any) -> bool:
    """Whether pyarrow's CSV writer writes a column of Arrow type ``t`` as it is; any other column (lists and structs:
    JSON text; intervals: ISO-8601 durations; timestamps and anything else: their JSON text) is converted first."""
    import pyarrow as pa
    # (timestamps: as JSON writes them, ISO-8601 with a T: the CSV writer's own "2026-10-01 00:17:09.823000Z"
    # differed from the JSON output's "2026-10-01T00:17:09.823000Z")
    return (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_decimal(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_date(t) or pa.types.is_time(t))


def _flat(table: Any) -> Any:
    """``table`` with every column CSV cannot hold as text: list, struct or map columns (``reason_codes``,
    ``candidates``, ``identifiers``…) as JSON text, intervals (``max(decided_at) - min(decided_at)``) as ISO-8601
    durations, any other type pyarrow's CSV writer refuses as its text."""
    import pyarrow as pa
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t) or pa.types.is_map(t):
            col = pa.array([None if v is None else json.dumps(_finite(v), default=_json_value, sort_keys=True)
                            for v in col.to_pylist()], pa.string())
        elif not _csv_native(t):
            col = pa.array([None if v is None else v if isinstance(v, str) else str(_json_value(v))
                            for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def run(ns: argparse.Namespace, rest: list[str] | None = None) -> int:
    """Run the SQL or example and print the result; 0, or 2 for a usage error, a missing parameter, an unknown
    customer or bad SQL (one line on stderr)."""
    from journeyflow.analytics.query import EXAMPLE_PARAMS, EXAMPLE_QUERIES, format_table, query
    if ns.list_examples:
        for name, sql in EXAMPLE_QUERIES.items():
            params = EXAMPLE_PARAMS.get(name, ())
            print(f"{name}{' (' + ', '.join('--param ' + p + '=…' for p in params) + ')' if params else ''}")
            print(textwrap.fill(_first_sentence(sql), width=110, initial_indent="    ", subsequent_indent="    "))
        return 0
    if ns.out is None:
        return _fail("give OUT and SQL, or OUT --example NAME")
    if ns.sql is not None and not ns.sql.strip():
        ns.sql = None  # (an unset shell variable: "$SQL") is no SQL, not a query with no result
    if (ns.sql is None) == (ns.example is None):
        return _fail("give either SQL or --example NAME")
    if ns.example is not None and ns.example not in EXAMPLE_QUERIES:
        return _fail(f"unknown example {ns.example!r}{did_you_mean(ns.example, list(EXAMPLE_QUERIES))}; "
                     f"examples: {', '.join(EXAMPLE_QUERIES)}")
    try:
        params = _params(ns.param)
    except ValueError as e:
        return _fail(str(e))
    if getattr(ns, "customer", None) is not None:
        if "customer_id" in params and params["customer_id"] != ns.customer:
            return _fail("give the customer once: --customer or --param customer_id=…, not two different ones")
        params["customer_id"] = ns.customer
    problem = _check_params(ns.example, params)
    if problem:
        return _fail(problem)
    if "customer_id" in params:
        from journeyflow.analytics.lookup import find_customer
        from journeyflow.config.errors import UserError
        try:
            params["customer_id"] = find_customer(ns.out, params["customer_id"],
                                                  default_region=getattr(ns, "default_region", None))
        except UserError as e:
            return _fail(str(e))
    sql = EXAMPLE_QUERIES[ns.example] if ns.example else ns.sql
    from journeyflow.cli.common import warn_missing_tables
    warn_missing_tables(ns.out, "query", "the query reads {them} as an empty table (is the output complete?)", sql)
    import duckdb
    try:
        result = query(ns.out, sql, params=params)
    except duckdb.Error as e:  # bad SQL is the user's to fix: one line, no traceback
        return _fail(_sql_error(e, sql))
    if ns.format == "csv":
        import pyarrow.csv as pacsv
        pacsv.write_csv(_flat(result), sys.stdout.buffer)
        sys.stdout.flush()
    elif ns.format == "json":
        print(json.dumps(_finite(result.to_pylist()), indent=2, default=_json_value, allow_nan=False))
    else:
        print(format_table(result, max_rows=ns.max_rows))
    return 0
