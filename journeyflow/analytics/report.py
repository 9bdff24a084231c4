"""``OUT/report.html``: a self-contained page of charts over a replay's analyst tables.

Everything is in the one file: inline SVG drawn here in Python, inline CSS, system fonts; no JavaScript library, no
CDN, no external font or image, so the page works offline and can be attached to a ticket.  Each chart has a title,
axis labels and, below it, a ``<details>`` table with its numbers (the accessible fallback).  The data of every chart
is also embedded as JSON (``<script type="application/json" id="chart-data">``) for tests and other tools.

Charts (aggregated with DuckDB over the views of :mod:`journeyflow.analytics.query`):

* one funnel per journey: customers who entered, reached each step, reached the goal;
* decisions per day by channel (``(no channel)`` for suppress/none decisions);
* suppressed candidates by reason;
* conflicts resolved: decisions that chose an action over ≥1 other candidate, by the beaten candidates' reason;
* messages (``send`` decisions) per customer, as a histogram over every customer known to the run;
* control group vs treated: per journey, the goal rate of entered customers held out as control (a candidate of the
  journey suppressed with ``control_group``) and of entered customers who were sent a message by the journey.

Decisions and journey steps carry the customer id that was canonical when they happened; the last two charts map
ids to the customer they were merged into (``customer_snapshots.identifiers``) before counting per customer.
"""
from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa

from journeyflow.analytics.query import EXAMPLE_QUERIES, connect
from journeyflow.analytics.tables import TABLES, load_tables

__all__ = ["Chart", "build_charts", "render_html", "write_report"]

PALETTE = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e",
           "#9498a0")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
WIDTH = 720


@dataclass
class Chart:
    """One chart of the report: bars per category for each series, the data table behind it and a note."""

    id: str
    title: str
    kind: str  # "hbar" | "vbar": one bar per series in each category's band (grouped), or stacked (vbar)
    x_label: str
    y_label: str
    categories: list[str]  # bar labels / x values (days, bins, journeys)
    series: list[dict[str, Any]]  # [{"name": str, "values": [number, ...]}], aligned with categories
    table: dict[str, Any] = field(default_factory=dict)  # {"columns": [...], "rows": [[...], ...]}
    note: str = ""
    percent: bool = False
    stacked: bool = False  # vbar: series stacked in one bar per category

    def to_dict(self) -> dict[str, Any]:
        """The chart as JSON (embedded in the page as ``chart-data`` for tests and other tools)."""
        return {"id": self.id, "title": self.title, "kind": self.kind, "x_label": self.x_label,
                "y_label": self.y_label, "categories": self.categories, "series": self.series, "table": self.table,
                "note": self.note, "stacked": self.stacked}


# ================================================================================================ data
def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    return con.sql(sql).to_arrow_table().to_pylist()


def _funnels(con: Any) -> list[Chart]:
    rows = _rows(con, EXAMPLE_QUERIES["journey_funnel"])
    charts = []
    for journey in sorted({r["journey_id"] for r in rows}):
        rs = [r for r in rows if r["journey_id"] == journey]
        charts.append(Chart(
            id=f"funnel:{journey}", title=f"Funnel: {journey}", kind="hbar", x_label="customers",
            y_label="stage", categories=[r["stage"] for r in rs],
            series=[{"name": "customers", "values": [r["customers"] for r in rs]}],
            table={"columns": ["stage", "customers", "% of entered"],
                   "rows": [[r["stage"], r["customers"], r["pct_of_entered"]] for r in rs]},
            note="Distinct customers per stage; steps in their usual order within the journey."))
    return charts


def _decisions_daily(con: Any) -> Chart:
    rows = _rows(con, """
        SELECT date_trunc('day', decided_at)::DATE AS day, coalesce(channel, '(no channel)') AS channel,
               count(*) AS n
        FROM decisions GROUP BY ALL ORDER BY day, channel""")
    days: list[date] = []
    if rows:
        first, last = min(r["day"] for r in rows), max(r["day"] for r in rows)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    channels = sorted({r["channel"] for r in rows}, key=lambda c: (c == "(no channel)", c))
    counts = {(r["day"], r["channel"]): r["n"] for r in rows}
    series = [{"name": ch, "values": [counts.get((d, ch), 0) for d in days]} for ch in channels]
    return Chart(
        id="decisions_by_channel_daily", title="Decisions per day by channel", kind="vbar", stacked=True,
        x_label="day (UTC)", y_label="decisions", categories=[d.isoformat() for d in days], series=series,
        table={"columns": ["day", *channels, "total"],
               "rows": [[d.isoformat(), *(counts.get((d, ch), 0) for ch in channels),
                         sum(counts.get((d, ch), 0) for ch in channels)] for d in days]},
        note="Every decision, including suppress / none / wait; '(no channel)' are decisions without a target.")


def _suppressions(con: Any) -> Chart:
    rows = _rows(con, """SELECT reason, count(*) AS n, count(DISTINCT customer_id) AS customers
                         FROM suppressed_candidates GROUP BY ALL ORDER BY n DESC, reason""")
    return Chart(
        id="suppressions_by_reason", title="Suppressed candidates by reason", kind="hbar", x_label="candidates",
        y_label="reason", categories=[r["reason"] for r in rows],
        series=[{"name": "candidates", "values": [r["n"] for r in rows]}],
        table={"columns": ["reason", "candidates", "customers"],
               "rows": [[r["reason"], r["n"], r["customers"]] for r in rows]})


def _conflicts(con: Any) -> Chart:
    rows = _rows(con, EXAMPLE_QUERIES["conflicts_resolved"])
    total = _rows(con, """SELECT count(*) AS n FROM decisions
                          WHERE action NOT IN ('suppress', 'none') AND len(candidates) > 0""")[0]["n"]
    return Chart(
        id="conflicts_resolved", title="Conflicts resolved, by the beaten candidate's reason", kind="hbar",
        x_label="decisions", y_label="reason", categories=[r["reason"] for r in rows],
        series=[{"name": "decisions", "values": [r["decisions"] for r in rows]}],
        table={"columns": ["reason", "decisions", "beaten candidates"],
               "rows": [[r["reason"], r["decisions"], r["beaten_candidates"]] for r in rows]},
        note=f"{total} decisions chose an action over at least one other candidate; a decision that beat "
             "candidates for several reasons counts once per reason.")


#: Decisions and journey steps carry the customer id that was canonical *at the time*; after an identity merge
#: the customer is the snapshot whose ``identifiers`` contain that id.  ``final_id`` maps any id to it (ids
#: without a snapshot map to themselves).
_ID_MAP = """
    id_map AS (SELECT k AS id, min(customer_id) AS final_id
               FROM (SELECT customer_id, unnest(identifiers) AS k FROM customer_snapshots
                     UNION ALL SELECT customer_id, customer_id FROM customer_snapshots)
               GROUP BY k)"""


def _final(col: str) -> str:
    return f"coalesce((SELECT final_id FROM id_map WHERE id = {col}), {col})"


def _messages_histogram(con: Any) -> Chart:
    rows = _rows(con, f"""
        WITH {_ID_MAP},
             people AS (SELECT customer_id FROM customer_snapshots
                        UNION SELECT {_final('customer_id')} FROM decisions),
             sent AS (SELECT {_final('customer_id')} AS customer_id, count(*) AS n
                      FROM decisions WHERE action = 'send' GROUP BY ALL)
        SELECT coalesce(s.n, 0) AS messages, count(*) AS customers
        FROM people p LEFT JOIN sent s USING (customer_id) GROUP BY ALL ORDER BY messages""")
    hist = {r["messages"]: r["customers"] for r in rows}
    top = max(hist, default=0)
    width = max(1, math.ceil((top + 1) / 25))  # at most 25 bins
    bins: list[tuple[int, int]] = [(lo, lo + width - 1) for lo in range(0, top + 1, width)]
    labels = [str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in bins]
    counts = [sum(c for m, c in hist.items() if lo <= m <= hi) for lo, hi in bins]
    return Chart(
        id="messages_per_customer", title="Messages per customer", kind="vbar", x_label="messages sent",
        y_label="customers", categories=labels, series=[{"name": "customers", "values": counts}],
        table={"columns": ["messages sent", "customers"], "rows": [[lab, c] for lab, c in zip(labels, counts)]},
        note="Every customer of customer_snapshots (decisions made under an id that was later merged count for the "
             "merged customer); messages are 'send' decisions over the whole run.")


def _control_vs_treated(con: Any) -> Chart:
    cid = _final("customer_id") + " AS customer_id"
    rows = _rows(con, f"""
        WITH {_ID_MAP},
             entered AS (SELECT DISTINCT journey_id, {cid} FROM journey_steps WHERE kind = 'entered'),
             goal AS (SELECT DISTINCT journey_id, {cid} FROM journey_steps WHERE kind = 'goal'),
             control AS (SELECT DISTINCT journey_id, {cid} FROM suppressed_candidates
                         WHERE reason = 'control_group'),
             treated AS (SELECT DISTINCT journey_id, {cid} FROM decisions
                         WHERE action = 'send' AND journey_id IS NOT NULL),
             grouped AS (
                SELECT e.journey_id, e.customer_id,
                       CASE WHEN c.customer_id IS NOT NULL THEN 'control'
                            WHEN t.customer_id IS NOT NULL THEN 'treated' ELSE 'other' END AS grp,
                       g.customer_id IS NOT NULL AS reached_goal
                FROM entered e
                LEFT JOIN control c USING (journey_id, customer_id)
                LEFT JOIN treated t USING (journey_id, customer_id)
                LEFT JOIN goal g USING (journey_id, customer_id))
        SELECT journey_id, grp, count(*) AS customers, count(*) FILTER (WHERE reached_goal) AS goals
        FROM grouped GROUP BY ALL ORDER BY journey_id, grp""")
    by = {(r["journey_id"], r["grp"]): r for r in rows}
    # the chart compares groups: journeys without a control group or a treated customer are in the table only
    journeys = sorted({r["journey_id"] for r in rows if r["grp"] in ("control", "treated")})
    all_journeys = sorted({r["journey_id"] for r in rows})

    def rate(j: str, g: str) -> float | None:
        r = by.get((j, g))
        return round(100.0 * r["goals"] / r["customers"], 1) if r and r["customers"] else None

    table_rows = []
    for j in all_journeys:
        for g in ("control", "treated", "other"):
            r = by.get((j, g), {"customers": 0, "goals": 0})
            table_rows.append([j, g, r["customers"], r["goals"], rate(j, g)])
    return Chart(
        id="control_vs_treated", title="Goal rate: control group vs treated, per journey", kind="hbar",
        x_label="reached the goal (% of group)", y_label="journey", categories=journeys,
        series=[{"name": g, "values": [rate(j, g) for j in journeys],
                 "labels": [f"{_fmt(rate(j, g), True)} of {by[(j, g)]['customers']}" if (j, g) in by
                            else "no customers" for j in journeys]} for g in ("control", "treated")],
        table={"columns": ["journey", "group", "customers entered", "reached goal", "goal rate %"],
               "rows": table_rows},
        note="control: entered customers held out (a candidate suppressed with control_group); treated: entered "
             "customers the journey sent a message; other: entered, neither (e.g. every message suppressed).",
        percent=True)


def build_charts(tables: Mapping[str, pa.Table]) -> list[Chart]:
    """Every chart of the report, aggregated with DuckDB over ``tables`` (``{name: pyarrow.Table}``)."""
    con = connect(tables=tables)
    try:
        return [*_funnels(con), _decisions_daily(con), _suppressions(con), _conflicts(con),
                _messages_histogram(con), _control_vs_treated(con)]
    finally:
        con.close()


# ================================================================================================ SVG
def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _fmt(v: float | None, percent: bool = False) -> str:
    if v is None:
        return "–"
    s = f"{v:,.1f}" if isinstance(v, float) and not float(v).is_integer() else f"{int(v):,}"
    return s + ("%" if percent else "")


def _nice_max(v: float) -> tuple[float, float]:
    """(axis maximum, tick step) with 4–6 round ticks."""
    if v <= 0:
        return 1.0, 1.0 if v == 0 else 0.2
    raw = v / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if step < 1 and float(v).is_integer():
        step = 1.0
    return step * math.ceil(v / step), step


def _ticks(top: float, step: float) -> list[float]:
    n = int(round(top / step))
    return [round(i * step, 10) for i in range(n + 1)]


def _text(x: float, y: float, s: Any, anchor: str = "start", cls: str = "", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{extra}>{_e(s)}</text>'


def _frame(chart: Chart, height: int, body: list[str]) -> str:
    tid = f"t-{_slug(chart.id)}"
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
            f'aria-labelledby="{tid}" data-chart="{_e(chart.id)}">'
            f'<title id="{tid}">{_e(chart.title)}</title>'
            + _text(WIDTH / 2, 22, chart.title, "middle", "title") + "".join(body) + "</svg>")


def _no_data(chart: Chart) -> str:
    return _frame(chart, 120, [_text(WIDTH / 2, 70, "no data", "middle", "muted"),
                               _text(WIDTH / 2, 110, f"{chart.y_label} / {chart.x_label}", "middle", "axis-label")])


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out, cx = [], x
    for i, n in enumerate(names):
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(_text(cx + 16, y + 1, n, cls="legend"))
        cx += 28 + 7 * len(n)
    return out


def _hbar_svg(chart: Chart) -> str:
    """Horizontal bars, one band per category, one bar per series in the band (grouped when several)."""
    cats = chart.categories
    if not cats or not chart.series:
        return _no_data(chart)
    n = len(chart.series)
    label_w = min(260, 20 + 7 * max(len(c) for c in cats))
    left, right = label_w + 10, 90
    top_y = 56 if n > 1 else 44
    bar_h = 22 if n == 1 else 15
    band = n * bar_h + 8
    plot_w = WIDTH - left - right
    axis_y = top_y + len(cats) * band
    height = axis_y + 56
    if chart.percent:
        vmax, step = 100.0, 20.0
    else:
        vmax, step = _nice_max(max((v or 0) for s in chart.series for v in s["values"]))
    body = []
    for t in _ticks(vmax, step):
        x = left + plot_w * t / vmax
        body.append(f'<line x1="{x:.1f}" y1="{top_y - 4}" x2="{x:.1f}" y2="{axis_y}" class="grid"/>')
        body.append(_text(x, axis_y + 16, _fmt(t, chart.percent), "middle", "tick"))
    for i, cat in enumerate(cats):
        y0 = top_y + i * band
        body.append(_text(left - 8, y0 + (band - 8) / 2 + 4, cat, "end", "tick"))
        for k, s in enumerate(chart.series):
            v = s["values"][i]
            y = y0 + k * bar_h
            w = plot_w * (v or 0) / vmax
            label = (s.get("labels") or [None] * len(cats))[i] or _fmt(v, chart.percent)
            name = f"{s['name']} · " if n > 1 else ""
            body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{_e(cat)}: {_e(name)}{_e(label)}</title></rect>')
            body.append(_text(left + w + 4, y + bar_h / 2 + 3, label, cls="value"))
    body.append(f'<line x1="{left}" y1="{top_y - 4}" x2="{left}" y2="{axis_y}" class="axis"/>')
    body.append(_text(left + plot_w / 2, height - 10, chart.x_label, "middle", "axis-label"))
    cy = top_y + (axis_y - top_y) / 2
    body.append(_text(14, cy, chart.y_label, "middle", "axis-label", f' transform="rotate(-90 14 {cy:.1f})"'))
    if n > 1:
        body += _legend([s["name"] for s in chart.series], left, 42)
    return _frame(chart, height, body)


def _xy_axes(chart: Chart, left: float, top_y: float, plot_w: float, plot_h: float, vmax: float,
             step: float) -> list[str]:
    body = []
    for t in _ticks(vmax, step):
        y = top_y + plot_h - plot_h * t / vmax
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        body.append(_text(left - 6, y + 4, _fmt(t, chart.percent), "end", "tick"))
    body.append(f'<line x1="{left}" y1="{top_y}" x2="{left}" y2="{top_y + plot_h}" class="axis"/>')
    body.append(f'<line x1="{left}" y1="{top_y + plot_h}" x2="{left + plot_w}" y2="{top_y + plot_h}" class="axis"/>')
    body.append(_text(left + plot_w / 2, top_y + plot_h + 48, chart.x_label, "middle", "axis-label"))
    cy = top_y + plot_h / 2
    body.append(_text(16, cy, chart.y_label, "middle", "axis-label", f' transform="rotate(-90 16 {cy:.1f})"'))
    return body


def _category_labels(cats: Sequence[str], xs: Sequence[float], y: float, max_labels: int = 12) -> list[str]:
    """Labels under the x axis, thinned out so that they do not overlap (about 6.5 px per character)."""
    room = (xs[1] - xs[0]) if len(xs) > 1 else WIDTH
    need = 6.5 * max(len(c) for c in cats) + 10
    every = max(1, math.ceil(len(cats) / max_labels), math.ceil(need / room))
    return [_text(x, y, c, "middle", "tick") for i, (c, x) in enumerate(zip(cats, xs)) if i % every == 0]


def _vbar_svg(chart: Chart) -> str:
    cats = chart.categories
    if not cats or not chart.series:
        return _no_data(chart)
    n = len(chart.series)
    left, right, top_y, plot_h = 64, 20, 60 if n > 1 else 44, 240
    plot_w = WIDTH - left - right
    height = top_y + plot_h + 60
    totals = [sum((s["values"][i] or 0) for s in chart.series) for i in range(len(cats))]
    if chart.percent:  # rates: the whole 0–100 % scale, so groups compare honestly
        vmax, step = 100.0, 20.0
    else:
        vmax, step = _nice_max(max(totals) if chart.stacked else
                               max((v or 0) for s in chart.series for v in s["values"]))
    body = _xy_axes(chart, left, top_y, plot_w, plot_h, vmax, step)
    slot = plot_w / len(cats)
    per_slot = 1 if chart.stacked else n
    bar_w = min(60.0, slot * 0.8 / per_slot)
    show_values = len(cats) * per_slot <= 16
    centers = []
    base = top_y + plot_h
    for i, cat in enumerate(cats):
        x0 = left + i * slot + (slot - bar_w * per_slot) / 2
        centers.append(left + i * slot + slot / 2)
        stack = 0.0
        for k, s in enumerate(chart.series):
            v = s["values"][i]
            h = plot_h * (v or 0) / vmax
            x = x0 if chart.stacked else x0 + k * bar_w
            y = base - h - (plot_h * stack / vmax if chart.stacked else 0)
            name = f"{s['name']} · " if n > 1 else ""
            if h > 0 or not chart.stacked:
                body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                            f'fill="{PALETTE[k % len(PALETTE)]}"><title>{_e(cat)}: {_e(name)}'
                            f'{_fmt(v, chart.percent)}</title></rect>')
            if show_values and not chart.stacked:
                label = s.get("labels", [None] * len(cats))[i] or _fmt(v, chart.percent)
                body.append(_text(x + bar_w / 2 - 1, y - 4, label, "middle", "value"))
            stack += v or 0
        if show_values and chart.stacked:
            body.append(_text(x0 + bar_w / 2 - 1, base - plot_h * stack / vmax - 4, _fmt(stack), "middle", "value"))
    body += _category_labels(cats, centers, top_y + plot_h + 18, max_labels=10)
    if n > 1:
        body += _legend([s["name"] for s in chart.series], left, 42)
    return _frame(chart, height, body)


def chart_svg(chart: Chart) -> str:
    """The chart as an inline SVG element (``hbar`` or ``vbar``)."""
    return {"hbar": _hbar_svg, "vbar": _vbar_svg}[chart.kind](chart)


# ================================================================================================ HTML
def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s).strip("-").lower()


def _data_table(chart: Chart) -> str:
    cols = chart.table.get("columns", [])
    rows = chart.table.get("rows", [])
    head = "".join(f"<th scope=\"col\">{_e(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(_fmt(v) if isinstance(v, (int, float)) else v)}</td>" for v in r)
                   + "</tr>" for r in rows) or f'<tr><td colspan="{max(len(cols), 1)}">no data</td></tr>'
    return (f"<details><summary>Data: {_e(chart.title)}</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>")


_CSS = f"""
body {{ font-family: {FONT}; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #1d1d1f; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.15rem; margin: 2rem 0 .4rem; }}
.muted, .note {{ color: #666; }}
.note {{ font-size: .9rem; margin: .3rem 0; }}
table {{ border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }}
td:not(:first-child) {{ text-align: right; font-variant-numeric: tabular-nums; }}
summary {{ cursor: pointer; color: #34495e; }}
svg.chart {{ max-width: 100%; height: auto; font-family: {FONT}; }}
svg .title {{ font-size: 15px; font-weight: 600; fill: #1d1d1f; }}
svg .tick, svg .legend {{ font-size: 11px; fill: #444; }}
svg .value {{ font-size: 10px; fill: #222; }}
svg .axis-label {{ font-size: 12px; fill: #222; }}
svg .muted {{ font-size: 14px; fill: #888; }}
svg .grid {{ stroke: #e6e6e6; stroke-width: 1; }}
svg .axis {{ stroke: #333; stroke-width: 1; }}
"""


def render_html(charts: Sequence[Chart], row_counts: Mapping[str, int], title: str = "journeyflow report",
                source: str = "") -> str:
    """The self-contained HTML page: table row counts, a table of contents, one SVG and data table per chart, and
    the chart data as JSON."""
    data = {"source": source, "tables": dict(row_counts), "charts": [c.to_dict() for c in charts]}
    payload = json.dumps(data, sort_keys=True, default=str).replace("</", "<\\/")
    counts = "".join(f"<tr><td>{_e(t)}</td><td>{_fmt(n)}</td></tr>" for t, n in row_counts.items())
    toc = "".join(f'<li><a href="#{_slug(c.id)}">{_e(c.title)}</a></li>' for c in charts)
    sections = []
    for c in charts:
        note = f'<p class="note">{_e(c.note)}</p>' if c.note else ""
        sections.append(f'<section id="{_slug(c.id)}"><h2>{_e(c.title)}</h2><figure>{chart_svg(c)}'
                        f"<figcaption>{note}</figcaption></figure>{_data_table(c)}</section>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{_e(title)}</h1><p class="muted">Analyst tables of <code>{_e(source)}</code></p></header>
<details open><summary>Table rows</summary><table><thead><tr><th scope="col">table</th><th scope="col">rows</th>
</tr></thead><tbody>{counts}</tbody></table></details>
<nav><ul>{toc}</ul></nav>
<main>
{''.join(sections)}
</main>
<script type="application/json" id="chart-data">{payload}</script>
</body>
</html>
"""


def write_report(out_dir: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> str:
    """Write the report of ``out_dir`` (default ``OUT/report.html``); returns the path written."""
    tables = load_tables(out_dir)
    charts = build_charts(tables)
    target = Path(path) if path is not None else Path(out_dir) / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(charts, {t: tables[t].num_rows for t in TABLES}, source=str(out_dir)),
                      encoding="utf-8")
    return str(target)
