"""The report's charts: Vega-Altair specifications, rendered offline to static SVG with ``vl-convert-python``.

Each function takes plain rows (lists of dicts, as the report's DuckDB queries return them) and returns an Altair
chart; :func:`to_svg` renders one to an SVG string (no JavaScript, no network: vl-convert bundles Vega and
Vega-Lite).  Rates are fractions, shown as percentages; days are ISO dates (UTC).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

import altair as alt
import vl_convert as vlc

__all__ = ["ARM_COLORS", "READING_COLORS", "REASON_COLORS", "conversion_chart", "bar_chart", "daily_panels",
           "histogram", "step_outcomes_chart", "symlog_ticks", "to_svg", "uplift_chart"]

WIDTH = 620
ARM_COLORS = {"control": "#9498a0", "treatment": "#4269d0", "unknown": "#efb118"}
#: Outcome colours: sent green, deferred amber, suppressions by reason in a categorical scheme.
SENT, DEFERRED = "#3ca951", "#efb118"
#: One colour per suppression reason, the same in every chart (other reasons: grey).
REASON_COLORS = {"control_group": "#9498a0", "consent": "#4269d0", "no_address": "#97bbf5",
                 "exclusion_group": "#a463f2", "open_ticket": "#ff725c", "recent_purchase": "#9c6b4e",
                 "duplicate_content": "#6cc5b0", "frequency_cap": "#ff8ab7", "lower_priority": "#d62728",
                 "journey_exited": "#17becf", "duplicate_candidate": "#bcbd22", "invalid_candidate": "#7f7f7f"}


#: The uplift chart's colour of each reading (:func:`journeyflow.analytics.outcomes.verdict`, before its colon).
READING_COLORS = {"effect shown": "#4269d0", "inconclusive": "#efb118", "no effect shown": "#9498a0"}

#: Line colours of the daily panels (Observable 10), one per panel in order.
PANEL_COLORS = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e",
                "#9498a0")


def _data(rows: Sequence[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=[dict(r) for r in rows])


def _title(text: str, subtitle: str | list[str] | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or "", anchor="start", fontSize=14)


def conversion_chart(rows: Sequence[dict[str, Any]], title: str) -> alt.Chart:
    """Goal conversion per journey and arm: a point at the rate and a rule over its 95% interval.  ``rows``:
    ``{"journey", "arm", "rate", "low", "high", "label"}`` (fractions)."""
    base = alt.Chart(_data(rows))
    y = alt.Y("journey:N", title="journey", sort=None)
    arms = [a for a in ARM_COLORS if any(r["arm"] == a for r in rows)]
    color = alt.Color("arm:N", title="arm", scale=alt.Scale(domain=arms, range=[ARM_COLORS[a] for a in arms]))
    x = alt.X("rate:Q", title="reached the goal (% of customers entered, 95% CI)", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1]))
    rule = base.mark_rule(strokeWidth=2).encode(y=y, yOffset="arm:N", x=alt.X("low:Q", scale=alt.Scale(domain=[0, 1])),
                                                x2="high:Q", color=color)
    point = base.mark_point(filled=True, size=70).encode(y=y, yOffset="arm:N", x=x, color=color,
                                                          tooltip=["journey:N", "arm:N", "label:N"])
    return (rule + point).properties(title=_title(title, "randomized arms: control = held out, never messaged"),
                                     width=WIDTH, height=alt.Step(22))


def uplift_chart(rows: Sequence[dict[str, Any]], title: str) -> alt.Chart:
    """Uplift (treatment − control rate) per journey with its 95% interval and a rule at 0.  ``rows``:
    ``{"journey", "uplift", "low", "high"}`` (fractions), optionally ``"small": True`` (an arm with few goals or
    non-goals): that journey's label says "small sample, approximate" and its point is hollow, so an interval
    that excludes 0 on three customers per arm does not read as a measured effect.  Each journey's reading
    (:func:`journeyflow.analytics.outcomes.verdict`: ``"verdict"`` of the row, else from its interval and its
    ``"p"`` / ``"p_holm"``) is written beside its interval and colours its point, so the chart never reads
    otherwise than the table and the headline (an interval that excludes 0 with Fisher's p 0.056 is
    "inconclusive", not an effect)."""
    from journeyflow.analytics.outcomes import verdict
    tested = sum(1 for r in rows if r.get("p") is not None)
    rows = [{**r, "journey": f"{r['journey']} (small sample, approximate)" if r.get("small") else r["journey"],
             "precise": not r.get("small"),
             "reading": (r.get("verdict") or verdict(r["low"] > 0 or r["high"] < 0, r.get("p"), r.get("p_holm"),
                                                     tested)).split(":", 1)[0]} for r in rows]
    base = alt.Chart(_data(rows))
    lo = min([r["low"] for r in rows] + [-0.05])
    hi = max([r["high"] for r in rows] + [0.05])
    scale = alt.Scale(domain=[lo, hi], nice=True)
    y = alt.Y("journey:N", title=None, sort=None, axis=alt.Axis(labelLimit=360))
    readings = [v for v in READING_COLORS if any(r["reading"] == v for r in rows)]
    palette = alt.Scale(domain=readings, range=[READING_COLORS[v] for v in readings])
    color = alt.Color("reading:N", title="reading", scale=palette)
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color="#c53030", strokeDash=[4, 3]).encode(
        x=alt.X("zero:Q", scale=scale))
    rule = base.mark_rule(strokeWidth=2).encode(y=y, x=alt.X("low:Q", scale=scale), x2="high:Q", color=color)
    point = base.mark_point(size=80, strokeWidth=2).encode(
        y=y, x=alt.X("uplift:Q", scale=scale, title="uplift: treatment − control (percentage points, 95% CI)",
                     # ticks in percentage points (+20 pp), as the title and the table: "+20%" reads as relative
                     axis=alt.Axis(labelExpr="abs(datum.value) < 1e-12 ? '0 pp' : "
                                             "format(datum.value * 100, '+~g') + ' pp'")),
        color=color, fill=alt.Fill("reading:N", scale=palette, legend=None),
        fillOpacity=alt.condition("datum.precise", alt.value(1), alt.value(0)))
    # the reading written after the interval's right end, in the reading's colour
    text = base.mark_text(align="left", dx=8, fontSize=11).encode(y=y, x=alt.X("high:Q", scale=scale),
                                                                  text="reading:N", color=color)
    return (zero + rule + point + text).properties(
        title=_title(title, ["an effect is shown only when the interval excludes 0 (the dashed line) and Fisher's "
                            "test gives p < 0.05 (Holm-adjusted with several journeys);",
                            "else inconclusive or no effect shown: each journey's reading is written beside its "
                            "interval; a hollow point: a small sample, the interval is approximate"]),
        width=WIDTH, height=alt.Step(30))


def step_outcomes_chart(rows: Sequence[dict[str, Any]], steps: Sequence[str], outcomes: Sequence[str],
                        title: str) -> alt.LayerChart:
    """Horizontal bars per action step (``steps``, in journey order): its proposals stacked by final outcome (``sent``,
    ``suppressed:<reason>``), and below them a thinner bar of the proposals ``deferred`` first by quiet hours (each
    of them is decided again, and then is in the stacked bar too: stacking it there counted it twice).
    ``rows``: ``{"step", "outcome", "n"}`` (``outcomes``: every outcome, ``deferred`` included, for the legend)."""
    colors = [SENT if o == "sent" else DEFERRED if o == "deferred" else
              REASON_COLORS.get(o.split(":", 1)[-1], "#c7c7c7") for o in outcomes]
    y = alt.Y("step:N", title="step (journey order)", sort=list(steps))
    color = alt.Color("outcome:N", title="outcome", sort=list(outcomes),
                      scale=alt.Scale(domain=list(outcomes), range=colors))
    final = alt.Chart(_data([r for r in rows if r["outcome"] != "deferred"])).mark_bar(size=14, yOffset=-3).encode(
        y=y, x=alt.X("n:Q", title="proposals (candidates): sent or suppressed; below, deferred first", stack="zero",
                     axis=alt.Axis(format="d", tickMinStep=1)),
        color=color, order=alt.Order("order:Q"), tooltip=["step:N", "outcome:N", "n:Q"])
    deferred = alt.Chart(_data([r for r in rows if r["outcome"] == "deferred"])).mark_bar(size=5, yOffset=9).encode(
        y=y, x=alt.X("n:Q", stack=None), color=color, tooltip=["step:N", "outcome:N", "n:Q"])
    return alt.layer(final, deferred).properties(
        title=_title(title, "sent vs suppressed (by reason); the thin bar: deferred to after quiet hours first, then "
                            "decided again (and counted in the bar above)"),
        width=WIDTH, height=alt.Step(26))


def bar_chart(rows: Sequence[dict[str, Any]], category: str, value: str, title: str, x_title: str, y_title: str,
              color: str | None = None, subtitle: str | None = None) -> alt.Chart:
    """Horizontal bars of ``value`` per ``category`` (largest first), stacked by ``color`` when given."""
    enc: dict[str, Any] = {"y": alt.Y(f"{category}:N", title=y_title, sort="-x"),
                           "x": alt.X(f"sum({value}):Q", title=x_title, axis=alt.Axis(format="d", tickMinStep=1)),
                           "tooltip": [f"{category}:N", f"{value}:Q"]}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=color)
    return alt.Chart(_data(rows)).mark_bar(color="#4269d0").encode(**enc).properties(
        title=_title(title, subtitle), width=WIDTH, height=alt.Step(22))


def symlog_ticks(top: float) -> list[int]:
    """Whole-number tick values of a symmetric-log axis from 0 to ``top``: every whole number up to 5; else the 1-2-5
    values (0, 1, 2, 5, 10, 20 ...) when there are at most six of them, or 0 and the powers of ten; the axis ends
    at the first of these ≥ ``top``.  Vega's own ticks of a symlog scale are linear ones: fractions, printed as
    whole numbers they repeated a label at several heights (1, 1, 1, 0, 0 on a panel whose busiest day had one
    call)."""
    if top <= 5:
        return list(range(0, max(1, int(-(-top // 1))) + 1))
    steps = [0]
    for v in (m * 10 ** k for k in range(20) for m in (1, 2, 5)):
        steps.append(v)
        if v >= top:
            break
    if len(steps) <= 6:
        return steps
    powers = [0, 1] + [10 ** k for k in range(1, 20) if 10 ** k < top]
    return powers if powers[-1] == steps[-1] else powers + [steps[-1]]


def daily_panels(rows: Sequence[dict[str, Any]], series: str, value: str, title: str, y_title: str,
                 subtitle: str) -> alt.VConcatChart:
    """One line panel per ``series`` value (channel, journey) over UTC days, each with its own y scale, so that a
    busy series does not flatten the others; the scale is symmetric-log (linear near 0, logarithmic above), so that
    one busy day (the welcome wave of a replay's first days) does not flatten the rest of its series either.  Axis
    ticks are whole numbers (:func:`symlog_ticks`) and one per day (a short run's axis repeated each day's label at
    every few hours); the y axis title ends in "(log scale)" (an unlabelled log axis reads as a linear one: QA
    round 17).  ``rows``: ``{"day", series, value}``, optionally ``"covered"``: a day whose value is neither
    ``whole day`` nor ``unknown`` (one the run covers in part: :func:`journeyflow.analytics.report_data.day_covered`)
    is drawn as a hollow point, and the subtitle says so."""
    from datetime import date, timedelta
    days = sorted({r["day"] for r in rows})
    ends = [days[0], days[-1]] if len(days) > 1 else \
        [(date.fromisoformat(days[0]) + timedelta(days=d)).isoformat() for d in (-1, 1)]  # (one day: centred)
    names = sorted({r[series] for r in rows})
    panels = []
    for name in names:
        mine = [r for r in rows if r[series] == name]
        ticks = symlog_ticks(max([r[value] for r in mine] + [1]))
        colour = PANEL_COLORS[len(panels) % len(PANEL_COLORS)]
        mine = [{**r, "partial": _partial(r)} for r in mine]
        base = alt.Chart(_data(mine), title=alt.TitleParams(str(name), anchor="start", fontSize=11)).encode(
            x=alt.X("day:T", title="day (UTC)" if name == names[-1] else None,
                    scale=alt.Scale(type="utc", domain=ends),  # UTC days labelled as such in any zone
                    axis=alt.Axis(format="%b %d", values=days if len(days) <= 16 else days[::-(-len(days) // 16)])),
            y=alt.Y(f"{value}:Q", title=f"{y_title} (log scale)", scale=alt.Scale(type="symlog", domain=[0, ticks[-1]]),
                    axis=alt.Axis(format=",d", values=ticks)),
            tooltip=["day:T", f"{series}:N", f"{value}:Q"] + (["covered:N"] if "covered" in mine[0] else []))
        points = base.mark_point(size=30, strokeWidth=1.5, color=colour, opacity=1).encode(
            fill=alt.condition("datum.partial", alt.value("white"), alt.value(colour)))
        panels.append((base.mark_line(color=colour) + points).properties(width=WIDTH - 60, height=90))
    if any(_partial(r) for r in rows):
        subtitle += "; a hollow point: a day the run covers only in part (not a drop)"
    return alt.vconcat(*panels, spacing=12).properties(title=_title(title, subtitle))


def _partial(row: dict[str, Any]) -> bool:
    """Whether a daily row's day is one the run covers only in part (its ``covered`` says which part)."""
    return row.get("covered", "whole day") not in ("whole day", "unknown")


def histogram(rows: Sequence[dict[str, Any]], title: str, x_title: str, y_title: str) -> alt.Chart:
    """Vertical bars of ``customers`` per ``bin`` label (bins in the given order)."""
    return alt.Chart(_data(rows)).mark_bar(color="#4269d0").encode(
        x=alt.X("bin:N", title=x_title, sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("customers:Q", title=y_title, axis=alt.Axis(format=",d", tickMinStep=1)),
        tooltip=["bin:N", "customers:Q"],
    ).properties(title=_title(title), width=WIDTH, height=220)


def to_svg(chart: alt.TopLevelMixin, key: str) -> str:
    """``chart`` rendered to a static SVG string (vl-convert, offline), without the XML prolog; element ids (if the
    renderer emits any) are prefixed with ``key`` so that several charts can share one page."""
    svg = vlc.vegalite_to_svg(chart.to_dict())
    svg = re.sub(r"^<\?xml[^>]*>\s*", "", svg)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for i in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{i}"', f'id="{key}-{i}"').replace(f"url(#{i})", f"url(#{key}-{i})")
        svg = svg.replace(f'href="#{i}"', f'href="#{key}-{i}"')
    return svg
