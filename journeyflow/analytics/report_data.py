"""The figures of the report, aggregated with DuckDB over a replay's tables (:mod:`journeyflow.analytics.report`).

Every function takes a connection of :func:`journeyflow.analytics.query.connect` (analyst tables plus the
``journeys`` view) and returns plain rows; the SQL of the journey figures is the example queries of
:mod:`.outcome_queries`, so ``journeyflow query OUT --example NAME`` gives an analyst the same numbers.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from journeyflow.analytics.outcome_queries import ID_MAP, OUTCOME_QUERIES
from journeyflow.analytics.query import CONFLICT_RESOLVED, EXAMPLE_QUERIES
from journeyflow.model.reasons import DEAD_AFTER_READ

__all__ = ["AVOIDED", "COMPLIANCE", "HOLDOUT", "PARTIAL_DAY_SLACK_MS", "conflicts", "coverage",
           "daily", "day_covered", "dead_letters", "field_warnings", "headline", "messages_histogram", "reason_class",
           "rows", "step_outcomes", "suppressions"]

#: Suppression reasons that are an unnecessary message avoided by a rule of the arbiter (or a journey exit).
AVOIDED = ("frequency_cap", "duplicate_content", "recent_purchase", "open_ticket", "exclusion_group",
           "lower_priority", "journey_exited", "duplicate_candidate")
#: Reasons that are compliance: no consent for the channel / category, no deliverable address, a deleted account.
COMPLIANCE = ("consent", "no_address", "account_deleted")
#: The holdout: customers of a journey's control group are never messaged.
HOLDOUT = ("control_group",)


def reason_class(reason: str) -> str:
    """``avoided`` | ``compliance`` | ``holdout`` | ``other`` for a suppression reason."""
    if reason in AVOIDED:
        return "avoided"
    if reason in COMPLIANCE:
        return "compliance"
    if reason in HOLDOUT:
        return "holdout"
    return "other"


def rows(con: Any, sql: str) -> list[dict[str, Any]]:
    """The result of ``sql`` as a list of dicts."""
    return con.sql(sql).to_arrow_table().to_pylist()


#: Field warnings with the uid of their record and whether that record became a dead letter after it was read
#: (:data:`~journeyflow.model.reasons.DEAD_AFTER_READ`), or is the copy of a record read twice (a duplicate_event
#: dead letter) other than the first: the first copy (its input line, ``source``) is the kept one, the other's
#: warnings were counted as a kept record's (k-1 twice: "2 kept records" for one).
_WARNED = f"""warned AS (
    SELECT w.*, w.stream || '/' || w.event_id AS uid,
           w.stream || '/' || w.event_id IN (SELECT source FROM dead_letter
                                               WHERE reason IN {DEAD_AFTER_READ!r})
           OR (w.stream || '/' || w.event_id IN (SELECT source FROM dead_letter WHERE reason = 'duplicate_event')
               AND w.source <> min(w.source) OVER (PARTITION BY w.stream, w.event_id)) AS dead_after_read
    FROM field_warnings w
)"""


def headline(con: Any) -> dict[str, Any]:
    """Customers and customers with a decision (both after identity merges: a streaming output holds several
    snapshots per customer, and decisions carry the id canonical at the time), decisions,
    actions executed, suppressed candidates by class and reason, conflicts resolved (decisions that chose an action
    over at least one other candidate, a deferred ``wait`` winner included: the decisions the example query
    ``conflicts_resolved`` counts), dead letters and field warnings (rows of their tables)."""
    one = rows(con, f"""
        WITH {ID_MAP}, {_WARNED}
        SELECT (SELECT count(DISTINCT coalesce(m.final_id, s.customer_id))
                FROM customer_snapshots s LEFT JOIN id_map m ON m.id = s.customer_id) AS customers,
               (SELECT count(DISTINCT coalesce(m.final_id, d.customer_id))
                FROM decisions d LEFT JOIN id_map m ON m.id = d.customer_id) AS customers_decided,
               (SELECT count(*) FROM decisions) AS decisions,
               (SELECT count(*) FROM decisions WHERE action IN ('send', 'create_task', 'route_case')) AS executed,
               (SELECT count(*) FROM decisions WHERE action = 'send') AS messages,
               (SELECT count(*) FROM decisions WHERE action = 'wait') AS deferred,
               -- the decisions of the example query conflicts_resolved (query.CONFLICT_RESOLVED, one definition)
               (SELECT count(*) FROM decisions d
                WHERE {CONFLICT_RESOLVED} AND len(d.candidates) > 0) AS conflicts_resolved,
               (SELECT count(*) FROM dead_letter) AS dead_letters,
               (SELECT count(*) FROM field_warnings) AS field_warnings,
               -- records kept with a field warning (one per record, however many fields), and the warnings of
               -- records dead-lettered after they were read (not kept)
               (SELECT count(DISTINCT uid) FILTER (WHERE NOT dead_after_read) FROM warned)
                   AS field_warning_records_kept,
               (SELECT count(*) FILTER (WHERE dead_after_read) FROM warned) AS field_warnings_of_dead_letters""")[0]
    by_reason = {r["reason"]: r["n"] for r in rows(con, """
        SELECT reason, count(*) AS n FROM suppressed_candidates
        WHERE reason <> 'quiet_hours_deferred' GROUP BY ALL ORDER BY n DESC, reason""")}
    # (candidates of tasks and cases are not messages: the headline says how many of the suppressed are)
    not_messages = rows(con, """SELECT count(*) AS n FROM suppressed_candidates
                                WHERE reason <> 'quiet_hours_deferred' AND action IN ('create_task', 'route_case')
                             """)[0]["n"]
    # the decisions' distinct customer ids as they were at decision time (before later merges)
    ids = rows(con, "SELECT count(DISTINCT customer_id) AS n FROM decisions")[0]["n"]
    classes: dict[str, int] = {"avoided": 0, "compliance": 0, "holdout": 0, "other": 0}
    for reason, n in by_reason.items():
        classes[reason_class(reason)] += n
    return {**one, "customer_ids_decided": ids, "suppressed": sum(by_reason.values()),
            "suppressed_tasks_and_cases": not_messages,
            "suppressed_by_reason": by_reason,
            "suppressed_by_class": classes}


def step_outcomes(con: Any) -> dict[str, list[dict[str, Any]]]:
    """Per journey (key), its steps in journey order: ``{"step_id", "kind", "channel", "customers_reached", "sent",
    "deferred", "suppressed", "by_reason": {reason: n}}`` (from ``journey_step_outcomes``)."""
    out: dict[str, list[dict[str, Any]]] = {}
    index: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows(con, OUTCOME_QUERIES["journey_step_outcomes"]):
        key = (r["journey_id"], r["step_id"])
        s = index.get(key)
        if s is None:
            s = {"step_id": r["step_id"], "kind": r["kind"], "channel": r["channel"],
                 "customers_reached": r["customers_reached"], "sent": 0, "deferred": 0, "suppressed": 0,
                 "by_reason": {}}
            index[key] = s
            out.setdefault(r["journey_id"], []).append(s)
        o, n = r["outcome"], r["candidates"]
        if o == "sent":
            s["sent"] = n
        elif o == "deferred":
            s["deferred"] = n
        elif o is not None and o.startswith("suppressed:"):
            s["by_reason"][o.split(":", 1)[1]] = n
            s["suppressed"] += n
    return out


#: One day in ms.
_DAY_MS = 86_400_000
#: A day the run covers but for less than this at its start or end counts as whole (a generated or exported input
#: starts at 00:01 and ends at 23:57: a few minutes missing are no visible drop, and a hollow point would be noise).
PARTIAL_DAY_SLACK_MS = 3_600_000


def coverage(manifest: Mapping[str, Any] | None) -> tuple[int, int, bool] | None:
    """The event time a replay's input covers, from its ``run.json``: ``(start, end, timers_after)`` in epoch ms,
    from its earliest accepted event to its latest decided one (``--until T`` before the last event: T, later events
    are dead letters), and whether timers fired after that end (``--until end``, or ``--until T`` after the last
    event: the days after it hold only those).  None when unknown (no manifest, no accepted event, a time that does
    not parse)."""
    from journeyflow.stages.timeparse import parse_ts
    et = ((manifest or {}).get("input") or {}).get("event_times") or {}
    until = ((manifest or {}).get("options") or {}).get("until")
    try:
        start = et["min"] if isinstance(et.get("min"), int) else parse_ts(et["min_iso"])
        last = et["max"] if isinstance(et.get("max"), int) else parse_ts(et["max_iso"])
        horizon = parse_ts(until) if until and until != "end" else None
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if horizon is not None and horizon < last:
        return start, horizon, False
    return start, last, until == "end" or (horizon is not None and horizon > last)


def day_covered(day: date, span: tuple[int, int, bool] | None) -> str:
    """What part of the UTC ``day`` the run covers (``span``: :func:`coverage`): ``whole day``, ``partial: from
    15:00 UTC``, ``partial: until 14:21 UTC``, ``partial: 09:00–14:21 UTC``, ``after the input's last event:
    timers only`` (``--until end``); ``unknown`` without a span.  Less than :data:`PARTIAL_DAY_SLACK_MS` missing
    at either end of the day is a whole day."""
    if span is None:
        return "unknown"
    start, end, timers_after = span
    d0 = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    d1 = d0 + _DAY_MS - 1  # the day's last millisecond

    def hm(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M")

    if end < d0:
        return "after the input's last event: timers only" if timers_after else "after the run's horizon"
    if start > d1:
        return "before the input's first event"
    lo, hi = start > d0 + PARTIAL_DAY_SLACK_MS, end < d1 - PARTIAL_DAY_SLACK_MS
    if not lo and not hi:
        return "whole day"
    then = ", then timers only" if timers_after and hi else ""
    if lo and hi:
        return f"partial: {hm(start)}–{hm(end)} UTC{then}"
    return f"partial: from {hm(start)} UTC" if lo else f"partial: until {hm(end)} UTC{then}"


def daily(con: Any, name: str, span: tuple[int, int, bool] | None = None) -> list[dict[str, Any]]:
    """``sends_per_day`` or ``conversions_per_day`` with every UTC day between the first and the last present (0 where
    nothing happened), days as ISO strings, each with ``covered``: the part of it the run covers
    (:func:`day_covered` of ``span``, :func:`coverage`), so that a first or last day the input covers in part
    does not read as a drop."""
    data = rows(con, OUTCOME_QUERIES[name])
    if not data:
        return []
    series_col = "channel" if name == "sends_per_day" else "journey_id"
    value_col = "sent" if name == "sends_per_day" else "conversions"
    first, last = min(r["day"] for r in data), max(r["day"] for r in data)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    covered = {d: day_covered(d, span) for d in days}
    got = {(r["day"], r[series_col]): r[value_col] for r in data}
    return [{"day": d.isoformat(), series_col: s, value_col: got.get((d, s), 0), "covered": covered[d]}
            for s in sorted({r[series_col] for r in data}) for d in days]


def suppressions(con: Any) -> list[dict[str, Any]]:
    """Suppressed candidates by reason (quiet-hours deferrals are not suppressions), with the reason's class;
    ``customers`` counted after identity merges (``id_map``)."""
    return [{**r, "class": reason_class(r["reason"])} for r in rows(con, f"""
        WITH {ID_MAP}
        SELECT s.reason, count(*) AS candidates, count(DISTINCT coalesce(m.final_id, s.customer_id)) AS customers
        FROM suppressed_candidates s LEFT JOIN id_map m ON m.id = s.customer_id
        WHERE s.reason <> 'quiet_hours_deferred' GROUP BY ALL ORDER BY candidates DESC, s.reason""")]


def conflicts(con: Any) -> list[dict[str, Any]]:
    """The example query ``conflicts_resolved``: decisions that chose an action over other candidates, by the beaten
    candidates' reason."""
    return rows(con, EXAMPLE_QUERIES["conflicts_resolved"])


def dead_letters(con: Any) -> list[dict[str, Any]]:
    """Dead letters by reason and stream."""
    return rows(con, """SELECT reason, coalesce(stream, '(unknown)') AS stream, count(*) AS records FROM dead_letter
                        GROUP BY ALL ORDER BY records DESC, reason, stream""")


def field_warnings(con: Any) -> list[dict[str, Any]]:
    """Field warnings of kept records (optional fields dropped or replaced; a record dead-lettered after it was read,
    :data:`DEAD_AFTER_READ`, left out) by reason, stream and field: ``{"reason", "stream", "field", "records"}``,
    most first."""
    return rows(con, f"""WITH {_WARNED}
                        SELECT reason, coalesce(stream, '(unknown)') AS stream, coalesce(field, '(unknown)') AS field,
                               count(*) AS records FROM warned WHERE NOT dead_after_read
                        GROUP BY ALL ORDER BY records DESC, reason, stream, field""")


#: Decisions and journey steps carry the customer id that was canonical *at the time*; ``final_id`` maps any id to
#: the customer it was merged into (ids without a snapshot map to themselves): the examples' ``id_map``.
_ID_MAP = ID_MAP


def _final(col: str) -> str:
    return f"coalesce((SELECT final_id FROM id_map WHERE id = {col}), {col})"


def messages_histogram(con: Any) -> list[dict[str, Any]]:
    """Customers by number of messages (``send`` decisions) over the run, in at most 25 bins: ``{"bin", "customers"}``.
    Every customer of ``customer_snapshots`` counts (decisions under an id later merged count for the merged
    customer)."""
    data = rows(con, f"""
        WITH {_ID_MAP},
             people AS (SELECT {_final('customer_id')} AS customer_id FROM customer_snapshots
                        UNION SELECT {_final('customer_id')} FROM decisions),
             sent AS (SELECT {_final('customer_id')} AS customer_id, count(*) AS n
                      FROM decisions WHERE action = 'send' GROUP BY ALL)
        SELECT coalesce(s.n, 0) AS messages, count(*) AS customers
        FROM people p LEFT JOIN sent s USING (customer_id) GROUP BY ALL ORDER BY messages""")
    hist = {r["messages"]: r["customers"] for r in data}
    if not hist:
        return []
    top = max(hist)
    width = max(1, math.ceil((top + 1) / 25))
    out = []
    for lo in range(0, top + 1, width):
        hi = lo + width - 1
        out.append({"bin": str(lo) if lo == hi else f"{lo}–{hi}",
                    "customers": sum(c for m, c in hist.items() if lo <= m <= hi)})
    return out
