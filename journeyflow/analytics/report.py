"""``OUT/report.html``: one self-contained page over a replay's analyst tables and its run manifest.

Charts are Vega-Altair specifications rendered offline to static SVG (:mod:`.charts`, vl-convert); the page has
inline SVG and CSS only: no JavaScript library, no CDN, no external font or image, so it works offline and can be
attached to a ticket.  Below each chart a ``<details>`` table holds its numbers and names the example query that gives
them (``journeyflow query OUT --example NAME``); the figures are also embedded as JSON
(``<script type="application/json" id="report-data">``) for tests and other tools.

The page leads with the headline figures (unnecessary messages avoided = suppressions by reason, conflicts resolved
by the arbiter, dead letters) and the run's inputs (``run.json``: input files and time range, the journeys / policy /
link-rules texts and their sha256), then per journey: conversion by arm of the randomized assignment with 95%
intervals and the uplift with its interval (:mod:`.outcomes`; "no goal" where the journey declares none), and what
became of each step's proposals in journey order (sent / suppressed by reason / deferred); then sends and
conversions per day (one panel per channel or journey, each with its own scale), suppressions by reason, conflicts
resolved, dead letters and messages per customer.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa

from journeyflow.analytics import charts as ch
from journeyflow.analytics import report_data as rd
from journeyflow.analytics.outcomes import SMALL_SAMPLE, JourneyOutcome, conversion_by_arm, verdict
from journeyflow.analytics.query import connect, journey_definitions
from journeyflow.analytics.tables import TABLES, load_tables

__all__ = ["Chart", "Report", "build_report", "render_html", "write_report"]


@dataclass
class Chart:
    """One chart: its SVG, the table of its numbers, a note, and the example query that reproduces them."""

    id: str
    title: str
    svg: str
    table: dict[str, Any] = field(default_factory=dict)  # {"columns": [...], "rows": [[...], ...]}
    note: str = ""
    query: str = ""  # example query name ("" when the SQL is in report_data only)
    data: list[dict[str, Any]] = field(default_factory=list)  # the rows the chart was drawn from

    def to_dict(self) -> dict[str, Any]:
        """The chart without its SVG, as JSON (embedded in the page)."""
        return {"id": self.id, "title": self.title, "table": self.table, "note": self.note, "query": self.query,
                "data": self.data}


@dataclass
class Report:
    """Everything on the page: headline figures, manifest, journey outcomes, step outcomes and charts."""

    source: str
    row_counts: dict[str, int]
    headline: dict[str, Any]
    manifest: dict[str, Any] | None
    outcomes: list[JourneyOutcome]
    steps: dict[str, list[dict[str, Any]]]
    charts: list[Chart]


def _pct(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{100 * v:+.1f} pp" if signed else f"{100 * v:.1f}%"


def _p(v: float | None) -> str:
    if v is None:
        return "–"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _ci(lo: float | None, hi: float | None, signed: bool = False) -> str:
    if lo is None or hi is None:
        return "–"
    return f"[{_pct(lo, signed)}, {_pct(hi, signed)}]" if not signed else \
        f"[{100 * lo:+.1f}, {100 * hi:+.1f}] pp"


def _outcome_charts(outcomes: list[JourneyOutcome]) -> list[Chart]:
    conv_rows = [{"journey": o.journey_id, "arm": a.arm, "rate": a.rate, "low": a.low, "high": a.high,
                  "label": f"{_pct(a.rate)} of {a.entered:,} {_ci(a.low, a.high)}"}
                 for o in outcomes if o.has_goal for a in o.arms if a.rate is not None]
    table_rows = []
    for o in outcomes:
        if not o.arms:
            table_rows.append([o.journey_id, "–", 0, "–", "–", "–", "–", o.status])
        for a in o.arms:
            table_rows.append([o.journey_id, a.arm, a.entered, a.converted if o.has_goal else "no goal",
                               _pct(a.rate) if o.has_goal else "no goal", _ci(a.low, a.high) if o.has_goal else "–",
                               a.in_journey_at_end if o.has_goal else "–",
                               o.status + (f" ({a.switched:,} of them also in the other arm)" if a.switched
                                           else "")])
    out = [Chart("conversion_by_arm", "Goal conversion by arm (95% Wilson intervals)",
                 ch.to_svg(ch.conversion_chart(conv_rows, "Goal conversion by arm"), "conv") if conv_rows else
                 _empty("Goal conversion by arm", "no journey with a goal has entries"),
                 {"columns": ["journey", "arm", "customers entered", "reached goal", "rate", "95% CI",
                              "still in the journey at the end", "status"], "rows": table_rows},
                 "Arms are the journey's randomized assignment (the arm stored on each customer's first 'entered' "
                 "row), not who was messaged. 'no goal': the journey declares none, so no conversion is measured. "
                 "A goal counts while the customer is in the journey: from entry until it leaves (last step done, "
                 "an exit, max_duration); a goal reached after that is not attributed (a journey whose last step "
                 "is done before its max_duration has passed stops counting goals then). Both arms run the same "
                 "steps, so the window is the same for both. A customer counts in the arm of their first entry "
                 "(intention to treat); the status says how many of an arm's customers were also in the other "
                 "arm, drawn again later (back after their journey history expired, or two profiles that each "
                 "entered before an identity merge). Customers still in the journey at the end have no goal yet but "
                 "their window was still open when the run ended (they entered shortly before it): their goal may "
                 "still come, so the rate is a floor, in both arms alike.",
                 "journey_conversion_by_arm", conv_rows)]
    up_rows = [{"journey": o.journey_id, "uplift": o.uplift, "low": o.uplift_low, "high": o.uplift_high,
                "p": o.p_value, "p_holm": o.p_holm, "small": o.small_sample, "switched": o.switched}
               for o in outcomes if o.status == "ok"]
    for r in up_rows:  # (one reading for the table, the chart and the headline: outcomes.verdict)
        r["verdict"] = verdict(r["low"] > 0 or r["high"] < 0, r["p"], r["p_holm"],
                               sum(1 for x in up_rows if x["p"] is not None))
    out.append(Chart(
        "uplift", "Uplift: treatment − control (95% Newcomb interval)",
        ch.to_svg(ch.uplift_chart(up_rows, "Uplift: treatment − control"), "uplift") if up_rows else
        _empty("Uplift: treatment − control", "no journey with a goal and a control group"),
        {"columns": ["journey", "uplift", "95% CI", "excludes 0", "p (Fisher exact)",
                     f"p (Holm, {len(up_rows)} journey{'s' if len(up_rows) != 1 else ''})", "reading", "sample",
                     "customers in both arms"],
         "rows": [[r["journey"], _pct(r["uplift"], True), _ci(r["low"], r["high"], True),
                   "yes" if r["low"] > 0 or r["high"] < 0 else "no", _p(r["p"]), _p(r["p_holm"]),
                   r["verdict"],
                   f"small: an arm has < {SMALL_SAMPLE} goals or non-goals" if r["small"] else "ok",
                   _switched(r["switched"])]
                  for r in up_rows]
         + [[o.journey_id, o.status, *["–"] * 7] for o in outcomes if o.status != "ok"]},
        "Difference of goal rates between the arms, computed from the randomized assignment only "
        "(statsmodels confint_proportions_2indep, method newcomb); p: Fisher's exact test (scipy), Holm-adjusted "
        "over the journeys shown (statsmodels multipletests): with several journeys, one 95% interval in twenty "
        "excludes 0 by chance. Reading: an effect is shown only when the interval excludes 0 and the test (Holm-"
        "adjusted with several journeys) gives p < 0.05; when they disagree, inconclusive. The uplift measures the "
        "messages only when the input's goals came after these decisions were acted on (live traffic, or a replay "
        "of the live job's own input: the arms are drawn from the entry event, so they are the same); in a replay "
        "of other data (a backfill, generated data) the orders happened whatever was sent. "
        f"A small sample (an arm with fewer than {SMALL_SAMPLE} goals or non-goals) makes the "
        "interval approximate: read it with its p-value. Customers in both arms count in their first arm: a "
        "control customer treated later makes the uplift smaller than the message's effect.",
        "journey_conversion_by_arm", up_rows))
    return out


def _switched(n: int) -> str:
    """The uplift table's cell for ``n`` customers entered in both arms."""
    if not n:
        return "none"
    return f"{n:,} customer{'s' if n != 1 else ''} in both arms (counted in the first: uplift diluted)"


def _step_charts(steps: dict[str, list[dict[str, Any]]], names: Mapping[str, str]) -> list[Chart]:
    out = []
    for jid, ss in steps.items():
        actions = [s for s in ss if s["kind"] in ("send", "create_task", "route_case")]
        if not actions:
            continue
        reasons = sorted({r for s in actions for r in s["by_reason"]})
        outcomes = ["sent", "deferred", *(f"suppressed:{r}" for r in reasons)]
        data = []
        for s in actions:
            for i, o in enumerate(outcomes):
                n = s["sent"] if o == "sent" else s["deferred"] if o == "deferred" else \
                    s["by_reason"].get(o.split(":", 1)[1], 0)
                if n:
                    data.append({"step": s["step_id"], "outcome": o, "n": n, "order": i})
        title = f"Steps of {jid}: sent, suppressed, deferred"
        svg = ch.to_svg(ch.step_outcomes_chart(data, [s["step_id"] for s in actions], outcomes, title),
                        f"steps-{jid}") if data else _empty(title, "no proposals")
        table = {"columns": ["step", "kind", "channel", "customers reached", "proposals sent", "proposals deferred",
                             "proposals suppressed", *(f"suppressed: {r}" for r in reasons)],
                 "rows": [[s["step_id"], s["kind"], s["channel"] or "", s["customers_reached"], s["sent"],
                           s["deferred"], s["suppressed"], *(s["by_reason"].get(r, 0) for r in reasons)]
                          for s in ss]}
        out.append(Chart(f"steps:{jid}", f"{names.get(jid, jid)} ({jid}): steps in journey order", svg, table,
                         "Every step in the order the journey file declares it (the table); the chart shows the "
                         "action steps' proposals. Customers reached are distinct customers (after identity merges); "
                         "proposals are candidates, one per time a customer reached the step (a re-entry proposes "
                         "again). A deferred proposal is decided again after quiet hours and then also counts as "
                         "sent or suppressed: the chart draws the deferrals as a thin bar apart, not in the stack.",
                         "journey_step_outcomes", data))
    return out


def _empty(title: str, why: str) -> str:
    import altair as alt
    chart = alt.Chart(alt.Data(values=[{"t": why}])).mark_text(fontSize=14, color="#888").encode(
        text="t:N").properties(title=title, width=ch.WIDTH, height=60)
    return ch.to_svg(chart, "empty")


#: The daily charts' note on days the run covers in part (:func:`report_data.day_covered`).
_PARTIAL_DAYS = ("A day the run covers only in part (the input's first and last day, from its first accepted event "
                 "to its horizon: --until, else its last event) is drawn as a hollow point and its 'day covered' in "
                 "the table says which part ('partial: until 14:21 UTC'): its lower count is that part, not a drop.")


def _other_charts(con: Any, span: tuple[int, int, bool] | None = None) -> list[Chart]:
    out = []
    sends = rd.daily(con, "sends_per_day", span)
    title = "Messages and tasks executed per day, by channel"
    out.append(Chart("sends_per_day", title, ch.to_svg(ch.daily_panels(
        sends, "channel", "sent", title, "executed",
        "one panel per channel, each with its own symlog scale; suppress / none / wait decisions are not sends"),
        "sends") if sends else _empty(title, "no sends"),
        {"columns": ["day", "channel", "executed", "day covered"],
         "rows": [[r["day"], r["channel"], r["sent"], r["covered"]] for r in sends if r["sent"]]},
        "send, create_task and route_case decisions per UTC day. " + _PARTIAL_DAYS, "sends_per_day", sends))
    conv = rd.daily(con, "conversions_per_day", span)
    title = "Goal conversions (customers) per day, by journey"
    out.append(Chart("conversions_per_day", title, ch.to_svg(ch.daily_panels(
        conv, "journey_id", "conversions", title, "customers converted",
        "one panel per journey, each with its own symlog scale"),
        "conv-day") if conv else _empty(title, "no goal reached"),
        {"columns": ["day", "journey", "conversions", "day covered"],
         "rows": [[r["day"], r["journey_id"], r["conversions"], r["covered"]] for r in conv if r["conversions"]]},
        "Customers who reached the goal, on the UTC day of their first goal (both arms, after identity merges): "
        "the days of a journey add up to its 'reached goal' customers of the conversion-by-arm table. "
        + _PARTIAL_DAYS, "conversions_per_day", conv))
    sup = rd.suppressions(con)
    title = "Suppressed candidates by reason"
    out.append(Chart("suppressions_by_reason", title, ch.to_svg(ch.bar_chart(
        sup, "reason", "candidates", title, "candidates not executed", "reason", color="class",
        subtitle="avoided: an arbiter rule; compliance: consent / no address; holdout: control group; other: "
                 "invalid candidates"),
        "sup") if sup else _empty(title, "nothing suppressed"),
        {"columns": ["reason", "class", "candidates", "customers"],
         "rows": [[r["reason"], r["class"], r["candidates"], r["customers"]] for r in sup]},
        "Quiet-hours deferrals are not suppressions (they are decided again later).", "suppressions_by_reason_per_week",
        sup))
    con_rows = rd.conflicts(con)
    title = "Conflicts resolved by the arbiter, by the beaten candidate's reason"
    out.append(Chart("conflicts_resolved", title, ch.to_svg(ch.bar_chart(
        con_rows, "reason", "decisions", title, "decisions", "reason"), "conflicts") if con_rows else
        _empty(title, "no conflicts"),
        {"columns": ["reason", "decisions", "beaten candidates"],
         "rows": [[r["reason"], r["decisions"], r["beaten_candidates"]] for r in con_rows]},
        "A decision that beat candidates for several reasons counts once per reason.", "conflicts_resolved",
        con_rows))
    dead = rd.dead_letters(con)
    title = "Dead letters by reason and stream"
    out.append(Chart("dead_letters", title, ch.to_svg(ch.bar_chart(
        dead, "reason", "records", title, "records", "reason", color="stream"), "dead") if dead else
        _empty(title, "no dead letters"),
        {"columns": ["reason", "stream", "records"], "rows": [[r["reason"], r["stream"], r["records"]] for r in dead]},
        "Input records that could not be used, with their reason (nothing is dropped silently; the headline "
        "gives them out of the records read).", "", dead))
    warn = rd.field_warnings(con)
    title = "Field warnings by reason, stream and field"
    out.append(Chart("field_warnings", title, ch.to_svg(ch.bar_chart(
        warn, "reason", "records", title, "records kept", "reason", color="stream"), "warn") if warn else
        _empty(title, "no field warnings"),
        {"columns": ["reason", "stream", "field", "records"],
         "rows": [[r["reason"], r["stream"], r["field"], r["records"]] for r in warn]},
        "Records kept with an optional field dropped (or a Windows time zone name replaced): decided on without "
        "it. Table field_warnings, less the warnings of records dead-lettered after they were read (dated after "
        "the replay horizon, late, failed, a duplicate's second copy: not kept; the headline counts them).", "", warn))
    hist = rd.messages_histogram(con)
    title = "Messages per customer"
    out.append(Chart("messages_per_customer", title, ch.to_svg(ch.histogram(
        hist, title, "messages sent over the run", "customers"), "hist") if hist else _empty(title, "no customers"),
        {"columns": ["messages sent", "customers"], "rows": [[r["bin"], r["customers"]] for r in hist]},
        "Every customer of customer_snapshots, as identity resolution sees them: an anonymous visitor never linked "
        "to a known customer, or a profile known only by an email or a phone, is one (so there are more than the "
        "people behind them, and many with 0 messages); send decisions under an id later merged count for the "
        "merged customer; over the whole input (the run's event-time range). Per week: the query "
        "messages_per_customer_per_week.", "messages_per_customer_per_week", hist))
    return out


def build_report(out_dir: str | os.PathLike[str], tables: Mapping[str, pa.Table] | None = None) -> Report:
    """The :class:`Report` of the replay output ``out_dir`` (its tables, or ``tables`` when given, and its
    ``run.json``)."""
    from journeyflow.pipelines.output import read_manifest
    tables = load_tables(out_dir) if tables is None else tables
    manifest = read_manifest(out_dir)
    journeys = journey_definitions(out_dir)
    con = connect(tables=tables, journeys=journeys)
    try:
        outcomes = conversion_by_arm(con, journeys)
        steps = rd.step_outcomes(con)
        names = {j["id"]: j.get("name") or j["id"] for j in journeys}
        charts = [*_outcome_charts(outcomes), *_step_charts(steps, names), *_other_charts(con, rd.coverage(manifest))]
        return Report(str(out_dir), {t: tables[t].num_rows for t in TABLES if t in tables}, rd.headline(con),
                      manifest, outcomes, steps, charts)
    finally:
        con.close()


def write_report(out_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> str:
    """Write the report of ``out_dir`` (default ``OUT/report.html``); returns the path written."""
    from journeyflow.analytics.report_page import render_html
    report = build_report(out_dir)
    target = Path(path) if path is not None else Path(out_dir) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report), encoding="utf-8")
    return str(target)


#: The marker of a page :func:`write_report` wrote (a ``<meta name="generator">`` in its head).
GENERATOR = '<meta name="generator" content="journeyflow report">'


def is_journeyflow_report(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a file :func:`write_report` wrote: its head holds :data:`GENERATOR`, or (reports
    written before the marker) it ends with the report's ``report-data`` JSON.  False for anything else."""
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as f:
        if GENERATOR.encode() in f.read(4096):
            return True
        f.seek(max(0, p.stat().st_size - (1 << 22)))
        return b'<script type="application/json" id="report-data">' in f.read()


def render_html(report: Report) -> str:
    """The page of ``report`` (:func:`journeyflow.analytics.report_page.render_html`)."""
    from journeyflow.analytics.report_page import render_html as page
    return page(report)


def escape(v: Any) -> str:
    """HTML-escaped ``str(v)``."""
    return html.escape(str(v), quote=True)


def data_json(report: Report) -> str:
    """The report's figures as JSON for the page's ``report-data`` block (``</`` escaped)."""
    data = {"source": report.source, "tables": report.row_counts, "headline": report.headline,
            "manifest": report.manifest, "journeys": [o.to_dict() for o in report.outcomes], "steps": report.steps,
            "charts": [c.to_dict() for c in report.charts]}
    return json.dumps(data, sort_keys=True, default=str).replace("</", "<\\/")
