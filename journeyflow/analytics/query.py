"""SQL over a replay's analyst tables with DuckDB.

``query(OUT, sql)`` opens an in-memory DuckDB connection, registers every table of ``OUT/tables`` (read with
:func:`journeyflow.analytics.tables.read_table`, so the columns are exactly those of ``schemas/bigquery``) as a view
named after the table, and returns the result as a pyarrow Table.  ``journey_steps.at`` is a keyword in DuckDB's
grammar: write it quoted, ``"at"``.  Times are ``TIMESTAMP WITH TIME ZONE`` and the
session time zone is UTC, so ``date_trunc('day' | 'week', …)`` buckets are UTC days and ISO weeks (Monday).

:data:`EXAMPLE_QUERIES` holds the analyst questions the tables were designed for.  Some take parameters, read with
``getvariable('<name>')`` (``NULL`` when not given): ``query(OUT, sql, params={"customer_id": "crm:C000123"})``
sets them with ``SET VARIABLE`` first; from the command line: ``--param customer_id=crm:C000123``.
"""
from __future__ import annotations

import json
import math
import os
import threading
from decimal import Decimal
from typing import Any, Callable, Mapping

import duckdb
import pyarrow as pa

from journeyflow.analytics.outcome_queries import ID_MAP, OUTCOME_QUERIES
from journeyflow.analytics.tables import TABLES, load_tables

__all__ = ["EXAMPLE_QUERIES", "EXAMPLE_PARAMS", "JOURNEYS_SCHEMA", "connect", "interruptible", "iso_duration",
           "journey_definitions", "json_ready", "json_value", "query", "run_example", "format_table"]

#: The one definition of a conflict resolved: a decision that chose an action (a ``wait`` deferred by quiet hours
#: included) over at least one other candidate (``decisions.candidates`` non-empty).  The example query
#: ``conflicts_resolved`` and the report's headline figure (``report_data.headline``) both use it.
CONFLICT_RESOLVED = "d.action NOT IN ('suppress', 'none')"

EXAMPLE_QUERIES: dict[str, str] = {
    # ------------------------------------------------------------------------------------------------------
    "suppressions_by_reason_per_week": f"""
-- Candidates not chosen, per ISO week (UTC, Monday) and reason code.  Customers are counted after identity merges
-- (id_map): a customer suppressed before and after a login counts once.  Quiet-hours deferrals are not suppressions
-- (the candidate is decided again when the quiet hours end), as in the report's chart of this name.
WITH {ID_MAP}
SELECT date_trunc('week', s.decided_at)::DATE             AS week,
       s.reason,
       count(*)                                           AS suppressed,
       count(DISTINCT coalesce(m.final_id, s.customer_id)) AS customers
FROM suppressed_candidates s LEFT JOIN id_map m ON m.id = s.customer_id
WHERE s.reason <> 'quiet_hours_deferred'
GROUP BY ALL
ORDER BY week, suppressed DESC, s.reason
""",
    # ------------------------------------------------------------------------------------------------------
    "journey_funnel": f"""
-- Per journey: customers who entered, reached each step (every step, in the order the journey file declares them;
-- a wait step counts when the customer started waiting there, an exit step when the customer left there; steps the journeys view does not know come after
-- them, by id) and reached the goal, with % of entered.  Reaching a send step is not being messaged: control-group
-- customers and those without consent reach it too; `messaged` counts the customers an action of the step was
-- executed for (send / create_task / route_case decisions).  Customers are counted after identity merges
-- (id_map), as in journey_conversion_by_arm and journey_step_outcomes.
WITH {ID_MAP},
steps AS (
    SELECT coalesce(m.final_id, s.customer_id) AS customer_id, s.journey_id, s.step_id, s.kind, s.detail
    FROM journey_steps s LEFT JOIN id_map m ON m.id = s.customer_id
), entered AS (
    SELECT journey_id, count(DISTINCT customer_id) AS n FROM steps WHERE kind = 'entered' GROUP BY ALL
), reached AS (
    SELECT journey_id, step_id, count(DISTINCT customer_id) AS customers
    FROM steps WHERE (kind IN ('step', 'waiting') OR (kind = 'exited' AND detail = 'exit_step')) GROUP BY ALL
), messaged AS (
    SELECT d.journey_id, d.step_id, count(DISTINCT coalesce(m.final_id, d.customer_id)) AS customers
    FROM decisions d LEFT JOIN id_map m ON m.id = d.customer_id
    WHERE d.action IN ('send', 'create_task', 'route_case') AND d.journey_id IS NOT NULL GROUP BY ALL
), goals AS (
    SELECT journey_id, count(DISTINCT customer_id) AS customers FROM steps WHERE kind = 'goal' GROUP BY ALL
), stages AS (
    SELECT journey_id, -1 AS ord, 'entered' AS stage, n AS customers, NULL::BIGINT AS messaged FROM entered
    UNION ALL
    SELECT j.journey_id, j.step_order, 'step ' || j.step_id, coalesce(r.customers, 0),
           CASE WHEN j.kind IN ('send', 'create_task', 'route_case') THEN coalesce(g.customers, 0) END
    FROM journeys j JOIN entered e USING (journey_id) LEFT JOIN reached r USING (journey_id, step_id)
    LEFT JOIN messaged g USING (journey_id, step_id)
    UNION ALL  -- steps the journeys view does not declare (an output without run.json): after the declared ones
    SELECT r.journey_id, 1000 + dense_rank() OVER (PARTITION BY r.journey_id ORDER BY r.step_id), 'step ' || r.step_id,
           r.customers, g.customers
    FROM reached r ANTI JOIN journeys j USING (journey_id, step_id) LEFT JOIN messaged g USING (journey_id, step_id)
    UNION ALL
    SELECT e.journey_id, 1000000, 'goal', coalesce(g.customers, 0), NULL
    FROM entered e LEFT JOIN goals g USING (journey_id)
    WHERE e.journey_id IN (SELECT journey_id FROM journeys WHERE has_goal) OR g.customers IS NOT NULL
)
SELECT s.journey_id,
       row_number() OVER (PARTITION BY s.journey_id ORDER BY s.ord) - 1 AS stage_order,
       s.stage,
       s.customers,
       round(100.0 * s.customers / nullif(e.n, 0), 1) AS pct_of_entered,
       s.messaged
FROM stages s LEFT JOIN entered e USING (journey_id)
ORDER BY s.journey_id, stage_order
""",
    # ------------------------------------------------------------------------------------------------------
    "messages_per_customer_per_week": f"""
-- Messages actually sent (action = 'send') per customer, ISO week (UTC) and channel.  The customer is the one after
-- identity merges (id_map): messages sent before and after a login are one customer's.
WITH {ID_MAP}
SELECT coalesce(m.final_id, d.customer_id)  AS customer_id,
       date_trunc('week', d.decided_at)::DATE AS week,
       d.channel,
       count(*)                             AS messages
FROM decisions d LEFT JOIN id_map m ON m.id = d.customer_id
WHERE d.action = 'send'
GROUP BY ALL
ORDER BY customer_id, week, d.channel
""",
    # ------------------------------------------------------------------------------------------------------
    "why_no_cart_reminder": f"""
-- Why did a customer not get the cart reminder?  Every cart_abandonment candidate that was not chosen, with the
-- reason and what the decision did instead, reminders deferred by quiet hours, refused entries and exits of the
-- journey.  Rows are found under
-- every id the customer had (id_map: an anonymous cart before a login is the logged-in customer's); customer_id is
-- the customer after identity merges, recorded_as the id the row was written under.  A reminder deferred by quiet
-- hours (what 'deferred', a wait decision) says when it is decided again: deferred_until.
-- Parameter: customer_id (required on the command line; all customers when NULL).
WITH {ID_MAP}
SELECT coalesce(m.final_id, s.customer_id) AS customer_id,
       s.customer_id               AS recorded_as,
       s.decided_at                AS "at",
       'suppressed_candidate'      AS what,
       s.step_id,
       s.channel,
       s.reason,
       d.action                    AS decision_action,
       d.journey_id                AS chosen_journey,
       d.channel                   AS chosen_channel,
       s.trigger_event_id          AS trigger,
       NULL::TIMESTAMPTZ           AS deferred_until
FROM suppressed_candidates s
LEFT JOIN decisions d USING (decision_id)
LEFT JOIN id_map m ON m.id = s.customer_id
WHERE s.journey_id = 'cart_abandonment'
  AND (getvariable('customer_id') IS NULL OR coalesce(m.final_id, s.customer_id) = getvariable('customer_id'))
UNION ALL
SELECT coalesce(m.final_id, d.customer_id), d.customer_id, d.decided_at, 'deferred', d.step_id, d.channel,
       d.reason_codes[1], d.action, d.journey_id, d.channel, d.trigger_event_id, d.due_at
FROM decisions d
LEFT JOIN id_map m ON m.id = d.customer_id
WHERE d.journey_id = 'cart_abandonment' AND d.action = 'wait'
  AND (getvariable('customer_id') IS NULL OR coalesce(m.final_id, d.customer_id) = getvariable('customer_id'))
UNION ALL
SELECT coalesce(m.final_id, j.customer_id), j.customer_id, j."at", 'journey_' || j.kind, j.step_id, NULL, j.detail,
       NULL, NULL, NULL, j.trigger_id, NULL
FROM journey_steps j
LEFT JOIN id_map m ON m.id = j.customer_id
WHERE j.journey_id = 'cart_abandonment' AND j.kind IN ('entry_refused', 'exited')
  AND (getvariable('customer_id') IS NULL OR coalesce(m.final_id, j.customer_id) = getvariable('customer_id'))
ORDER BY customer_id, "at", what
""",
    # ------------------------------------------------------------------------------------------------------
    "conflicts_resolved": f"""
-- Decisions that chose an action over at least one other candidate, by the beaten candidates' reason.
SELECT c.reason,
       count(DISTINCT d.decision_id) AS decisions,
       count(*)                      AS beaten_candidates
FROM decisions d, UNNEST(d.candidates) AS u(c)
WHERE {CONFLICT_RESOLVED}
GROUP BY ALL
ORDER BY decisions DESC, c.reason
""",
}

EXAMPLE_QUERIES.update(OUTCOME_QUERIES)

#: Parameters each example reads with ``getvariable``.  The command line requires them (``journeyflow query``
#: exits 2 naming a missing one); :func:`run_example` leaves a missing one ``NULL`` (why_no_cart_reminder: every
#: customer).
EXAMPLE_PARAMS: dict[str, tuple[str, ...]] = {"why_no_cart_reminder": ("customer_id",)}


#: The ``journeys`` view: one row per journey step, in the order the journey file declares them.
JOURNEYS_SCHEMA = pa.schema([("journey_id", pa.string()), ("name", pa.string()), ("category", pa.string()),
                             ("has_goal", pa.bool_()), ("control_group_pct", pa.float64()),
                             ("step_order", pa.int64()), ("step_id", pa.string()), ("kind", pa.string()),
                             ("channel", pa.string())])


def journey_definitions(out_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The journeys a replay ran (``OUT/run.json``'s ``journeys``: id, name, category, has_goal, control_group_pct,
    steps as ``{"id", "kind", "channel"}`` in file order); the shipped journey set when there is no manifest (an
    output written before manifests, or by hand)."""
    from journeyflow.pipelines.output import journey_summaries, read_manifest
    manifest = read_manifest(out_dir) if out_dir is not None else None
    if manifest is not None and "journeys" in manifest:
        return manifest["journeys"]
    from journeyflow.stages.journeys import default_journeys
    return journey_summaries(default_journeys())


def _journeys_table(journeys: list[dict[str, Any]]) -> pa.Table:
    rows = [{"journey_id": j["id"], "name": j.get("name"), "category": j.get("category"),
             "has_goal": bool(j.get("has_goal")), "control_group_pct": float(j.get("control_group_pct") or 0),
             "step_order": i, "step_id": s["id"], "kind": s.get("kind"), "channel": s.get("channel")}
            for j in journeys for i, s in enumerate(j.get("steps", []))]
    return pa.Table.from_pylist(rows, schema=JOURNEYS_SCHEMA)


def connect(out_dir: str | os.PathLike[str] | None = None,
            tables: Mapping[str, pa.Table] | None = None,
            journeys: list[dict[str, Any]] | None = None) -> duckdb.DuckDBPyConnection:
    """In-memory DuckDB with one view per analyst table (from ``out_dir``, or the given ``tables``) and the view
    ``journeys`` (``journeys``, else :func:`journey_definitions` of ``out_dir``; columns :data:`JOURNEYS_SCHEMA`)."""
    if tables is None:
        if out_dir is None:
            raise ValueError("give out_dir or tables")
        tables = load_tables(out_dir)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for name in TABLES:
        if name in tables:
            con.register(name, tables[name])
    con.register("journeys", _journeys_table(journeys if journeys is not None else journey_definitions(out_dir)))
    return con


def _set_params(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any] | None) -> None:
    for k, v in (params or {}).items():
        if not k.isidentifier():
            raise ValueError(f"parameter names are identifiers, got {k!r}")
        con.execute(f"SET VARIABLE {k} = ?", [v])


def interruptible(con: duckdb.DuckDBPyConnection, work: Callable[[], Any]) -> Any:
    """``work()`` (DuckDB calls on ``con``) in a worker thread, so that Ctrl-C stops it: DuckDB runs a query in C++
    and the interpreter's SIGINT handler does not run until it returns (a long ``journeyflow query`` ignored Ctrl-C).
    On KeyboardInterrupt in the calling (main) thread, :meth:`~duckdb.DuckDBPyConnection.interrupt` cancels the query
    and the KeyboardInterrupt propagates (the CLI: one line, exit 130).  Errors of ``work`` are raised as they are."""
    result: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: a KeyboardInterrupt inside join() can leave is_alive() False

    def run() -> None:
        try:
            result["value"] = work()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = e
        finally:
            done.set()

    threading.Thread(target=run, name="journeyflow-duckdb", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        while not done.is_set():  # the query stops at its next interrupt check; wait for it before closing
            con.interrupt()
            done.wait(0.5)
        raise
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None) -> pa.Table:
    _set_params(con, params)

    def work() -> pa.Table:
        rel = con.sql(sql)
        if rel is None:  # a statement without a result (SET, CREATE ...)
            return pa.table({})
        return rel.to_arrow_table()
    return interruptible(con, work)


def query(out_dir: str | os.PathLike[str], sql: str, params: Mapping[str, Any] | None = None,
          tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
    """Run ``sql`` over the tables of ``out_dir`` (views named after the tables); the result as pyarrow."""
    con = connect(out_dir, tables)
    try:
        return _run(con, sql, params)
    finally:
        con.close()


def run_example(out_dir: str | os.PathLike[str], name: str, params: Mapping[str, Any] | None = None,
                tables: Mapping[str, pa.Table] | None = None) -> pa.Table:
    """Run the example query ``name`` of :data:`EXAMPLE_QUERIES` with ``params`` (the variables it reads with
    ``getvariable``); raises KeyError for an unknown name."""
    if name not in EXAMPLE_QUERIES:
        raise KeyError(f"unknown example {name!r}; examples: {', '.join(EXAMPLE_QUERIES)}")
    return query(out_dir, EXAMPLE_QUERIES[name], params=params, tables=tables)


def iso_duration(v: Any) -> str:
    """An ``INTERVAL`` (DuckDB's ``max(decided_at) - min(decided_at)``, read as pyarrow's ``MonthDayNano``) or a
    ``datetime.timedelta`` as an ISO-8601 duration: ``P1Y2M3DT4H5M6.5S``, ``PT0S`` for none; a negative part keeps
    its sign (``P-1D``, as PostgreSQL's ``iso_8601`` interval style writes it)."""
    if hasattr(v, "total_seconds"):  # timedelta: whole days and the rest, both with the sign of the whole
        us = (v.days * 86_400 + v.seconds) * 1_000_000 + v.microseconds
        days, rest_us = divmod(abs(us), 86_400 * 1_000_000)
        months, days, nanos = 0, days if us >= 0 else -days, rest_us * 1000 if us >= 0 else -rest_us * 1000
    else:
        months, days, nanos = v.months, v.days, v.nanoseconds
    date = "".join(f"{n}{u}" for n, u in ((int(months / 12), "Y"), (months - 12 * int(months / 12), "M"),
                                          (days, "D")) if n)
    sign, nanos = ("-" if nanos < 0 else ""), abs(nanos)
    h, rest = divmod(nanos, 3_600 * 10**9)
    m, rest = divmod(rest, 60 * 10**9)
    sec, frac = divmod(rest, 10**9)
    seconds = f"{sec}.{frac:09d}".rstrip("0").rstrip(".") if frac else str(sec)
    time = "".join(f"{sign}{n}{u}" for n, u in ((h, "H"), (m, "M")) if n) + (f"{sign}{seconds}S" if rest else "")
    return "P" + date + ("T" + time if time else "") if date or time else "PT0S"


def json_value(v: Any) -> Any:
    """JSON for what ``json`` cannot write itself (``json.dumps``'s ``default``): times as ISO-8601 (UTC as ``Z``),
    intervals as ISO-8601 durations (``P1DT2H``, :func:`iso_duration`), whole decimals (``HUGEINT``,
    ``DECIMAL(38, 0)``) as integers, other decimals as numbers, other values as strings."""
    if hasattr(v, "isoformat"):
        return v.isoformat().replace("+00:00", "Z")
    if hasattr(v, "nanoseconds") or hasattr(v, "total_seconds"):
        return iso_duration(v)
    if isinstance(v, Decimal):
        return int(v) if v.is_finite() and v == v.to_integral_value() else json_ready(float(v))
    return str(v)


def json_ready(v: Any) -> Any:
    """``v`` (a value of ``Table.to_pylist()``) for ``json.dumps(..., default=json_value)``, at any depth: a NaN
    or infinite float (``x / 0``) as None (JSON has no such number; strict parsers refuse ``NaN``), an interval as
    its ISO-8601 duration (pyarrow's ``MonthDayNano`` is a named tuple ``json`` would write as ``[0, 1, 0]``), a
    map's ``(key, value)`` entries as ``[key, value]`` with the value converted too."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if hasattr(v, "nanoseconds"):
        return json_value(v)
    if isinstance(v, dict):
        return {k: json_ready(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_ready(x) for x in v]
    return v


def _nested_text(v: Any) -> str:
    """A struct, list or map value as one line of JSON (times, intervals and decimals as :func:`json_value`)."""
    return json.dumps(json_ready(v), default=json_value, ensure_ascii=False)


def format_table(table: pa.Table, max_rows: int = 200, max_width: int = 48) -> str:
    """A plain-text grid of ``table`` (first ``max_rows`` rows) for the terminal: times as ISO-8601 (UTC as ``Z``),
    intervals as ISO-8601 durations, structs, lists and maps as one line of JSON (their times and intervals so too);
    a cell wider than ``max_width`` is cut with ``…``."""
    names = table.column_names
    if not names:
        return "(no result)"
    rows = table.slice(0, max_rows).to_pylist()

    def cell(v: Any) -> str:
        if v is None:
            return "NULL"
        if hasattr(v, "isoformat"):
            s = v.isoformat()
            return s.replace("+00:00", "Z")
        if hasattr(v, "nanoseconds") or hasattr(v, "total_seconds"):
            s = iso_duration(v)
        elif isinstance(v, (dict, list, tuple)):  # a struct, list or map: JSON, its intervals and times as above
            s = _nested_text(v)
        else:
            s = str(v)
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    grid = [[cell(r[n]) for n in names] for r in rows]
    numeric = [pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
               for t in table.schema.types]
    widths = [max([len(n)] + [len(g[i]) for g in grid]) for i, n in enumerate(names)]

    def line(vals: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(vals, widths, numeric)).rstrip()

    out = [line(names), "  ".join("-" * w for w in widths)]
    out += [line(g) for g in grid]
    more = table.num_rows - len(rows)
    out.append(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''}"
               + (f", {more} not shown)" if more > 0 else ")"))
    return "\n".join(out)
