"""The HTML of the report (:mod:`journeyflow.analytics.report`): headline, inputs, charts with their data tables and
the example queries that reproduce them.  Inline CSS and SVG only; the one ``<script>`` is a JSON data block."""
from __future__ import annotations

from typing import Any

from journeyflow.analytics import report_data as rd
from journeyflow.analytics.outcomes import SMALL_SAMPLE, verdict
from journeyflow.analytics.report import Chart, Report, data_json, escape as _e

__all__ = ["render_html"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

_CSS = f"""
body {{ font-family: {FONT}; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; color: #1d1d1f; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.2rem; margin: 2.2rem 0 .4rem; border-top: 1px solid #e2e8f0; padding-top: 1rem; }}
h3 {{ font-size: 1.05rem; margin: 1.6rem 0 .3rem; }}
.muted, .note {{ color: #555; }}
.note {{ font-size: .9rem; margin: .3rem 0; }}
.cards {{ display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }}
.card {{ border: 1px solid #dde; border-radius: 6px; padding: .6rem .9rem; min-width: 10rem; background: #fafbff; }}
.card .n {{ font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }}
.card .l {{ font-size: .85rem; color: #444; }}
table {{ border-collapse: collapse; font-size: .88rem; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
summary {{ cursor: pointer; color: #34495e; }}
figure {{ margin: .5rem 0; }}
figure svg {{ max-width: 100%; height: auto; }}
code {{ font-size: .85em; }}
pre {{ background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .8rem; }}
"""


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return _e("–" if v is None else v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return _e(v)


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f'<td class="num">{_num(v)}</td>' if isinstance(v, (int, float))
                                    and not isinstance(v, bool) else f"<td>{_e(v)}</td>" for v in r) + "</tr>"
                   for r in rows) or f'<tr><td colspan="{max(len(columns), 1)}">no data</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s).strip("-").lower()


def _chart(c: Chart, level: str = "h3") -> str:
    query = (f' Reproduce: <code>journeyflow query OUT --example {_e(c.query)}</code>.' if c.query else "")
    note = f'<p class="note">{_e(c.note)}{query}</p>'
    return (f'<section id="{_slug(c.id)}" class="chart" data-chart="{_e(c.id)}"><{level}>{_e(c.title)}</{level}>'
            f"<figure>{c.svg}<figcaption>{note}</figcaption></figure>"
            f"<details><summary>Data: {_e(c.title)}</summary>{_table(c.table.get('columns', []), c.table.get('rows', []))}"
            f"</details></section>")


def _headline(r: Report) -> str:
    h = r.headline
    cls = h["suppressed_by_class"]
    cards = [
        (h["suppressed"], "messages not sent (suppressed candidates" + (
            f", {h['suppressed_tasks_and_cases']:,} of them tasks or cases)" if h.get("suppressed_tasks_and_cases")
            else ")")),
        (cls["avoided"], "unnecessary messages avoided by the arbiter's rules"),
        (cls["compliance"], "blocked for compliance: no consent / no deliverable address"),
        (cls["holdout"], "held out (control groups)"),
        (cls["other"], "suppressed for other reasons: " + (", ".join(
            r for r in h["suppressed_by_reason"] if rd.reason_class(r) == "other") or "invalid candidates")),
        (h["conflicts_resolved"], "conflicts resolved: decisions that chose one action over others"),
        (h["executed"], "actions executed (messages, tasks, cases)"),
        (h["dead_letters"], "dead letters (input records not usable)"),
    ]
    html = '<div class="cards">' + "".join(f'<div class="card"><div class="n">{n:,}</div><div class="l">{_e(label)}'
                                           f"</div></div>" for n, label in cards) + "</div>"
    html += f'<p class="note">{_e(_accounting(r))}</p>'
    reasons = ", ".join(f"{k} {v:,}" for k, v in h["suppressed_by_reason"].items()) or "none"
    html += f'<p class="note">Suppressions by reason: {_e(reasons)}.</p>'
    effects = []
    for o in r.outcomes:
        if o.status.startswith("empty arm"):  # a journey with a control group and no uplift yet: said, not omitted
            effects.append(f"{o.journey_id}: no uplift ({o.status.split(': ', 1)[1]} yet; {o.entered:,} in the "
                           "other arm)")
        if o.status == "ok":
            tested = sum(1 for x in r.outcomes if x.p_value is not None)
            sig = verdict((o.uplift_low or 0) > 0 or (o.uplift_high or 0) < 0, o.p_value, o.p_holm, tested)
            if o.p_value is not None:
                sig += f"; Fisher p {_p(o.p_value)}"
                if tested > 1 and o.p_holm is not None:
                    sig += f", Holm-adjusted over {tested} journeys {_p(o.p_holm)}"
            if o.small_sample:
                sig += (f"; small sample: an arm has fewer than {SMALL_SAMPLE} goals or non-goals, the interval is "
                        "approximate")
            if o.switched:
                sig += (f"; {o.switched:,} customer{'s' if o.switched != 1 else ''} in both arms, counted in the "
                        "first: diluted")
            effects.append(f"{o.journey_id}: uplift {100 * o.uplift:+.1f} pp, 95% CI [{100 * o.uplift_low:+.1f}, "
                           f"{100 * o.uplift_high:+.1f}] pp ({sig})")
    if effects:
        html += '<p class="note">Measured effect of the journeys with a control group: ' + _e("; ".join(effects)) + ".</p>"
    return html


def _accounting(r: Report) -> str:
    """Where the input records went: ``records read R = decided D + dead letters L`` from ``run.json`` (the
    replay's own check), the dead-letter table's count when it differs (a copy that lost partitions), and the field
    warnings (records kept without an optional field)."""
    h = r.headline
    run = (r.manifest or {}).get("summary") or {}
    kept = h.get("field_warning_records_kept", h.get("field_warnings", 0))
    dead_w = h.get("field_warnings_of_dead_letters", 0)
    warned = (f"; {kept:,} kept record{'s' if kept != 1 else ''} had an optional field dropped or replaced "
              "(field warnings)" if kept else "")
    if dead_w:  # (parsing warned before the record was dead-lettered: after the horizon, late, failed)
        warned += (f"; {dead_w:,} field warning of a record dead-lettered after it was read" if dead_w == 1 else
                   f"; {dead_w:,} field warnings of records dead-lettered after they were read") + \
            " (not kept: counted among the dead letters)"
    if not {"records_read", "events_decided", "dead_letters"} <= run.keys():
        return (f"Input records: no run.json summary in this output, so the records read are unknown; the "
                f"dead_letter table holds {h['dead_letters']:,}{warned}.")
    read, decided, dead = run["records_read"], run["events_decided"], run["dead_letters"]
    share = f" ({100 * dead / read:.1f}% of those read)" if read else ""
    check = "reconciles" if read == decided + dead else "does NOT reconcile"
    table = "" if h["dead_letters"] == dead else \
        f"; the dead_letter table holds {h['dead_letters']:,}, not {dead:,}: rows are missing from it or were added"
    until = ((r.manifest or {}).get("options") or {}).get("until")
    horizon = (f"; replayed up to --until {until}: an event after it is a timestamp_out_of_range dead letter"
               if until and until != "end" else "")
    return (f"Input records: records read {read:,} = decided {decided:,} + dead letters {dead:,}{share}: "
            f"{check}{table}{horizon}{warned}.")


def _p(v: float) -> str:
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _inputs(r: Report) -> str:
    m = r.manifest
    if m is None:
        return ('<p class="note">No <code>run.json</code> in this output (written before run manifests, or by hand): '
                "inputs unknown; journeys assumed to be the shipped set.</p>")
    inp = m.get("input", {})
    et = inp.get("event_times", {})
    rows = [["input folder", inp.get("dir", "")], *_event_rows(et, m.get("summary", {}), m.get("options", {}))]
    for name, c in m.get("config", {}).items():
        rows.append([f"{name} file", f"{c.get('source')} sha256 {c.get('sha256') or '(built in)'}"])
    for k, v in sorted(m.get("options", {}).items()):
        rows.append([f"option {k}", "default" if v is None else v])
    for k, v in sorted(m.get("summary", {}).items()):
        if k == "customers" and "customers_decided" in r.headline:  # (the tables' count, and their ids' apart)
            ids = r.headline.get("customer_ids_decided")
            v = (f"{r.headline['customers_decided']:,} customers with a decision, after identity merges" + (
                f" ({ids:,} distinct customer ids at the time of their decisions)" if ids is not None else ""))
        rows.append([f"run {k}", v])
    files = [[f["stream"], f["name"], f["bytes"], f["sha256"]] for f in inp.get("files", [])]
    return (_table(["what", "value"], rows)
            + "<details><summary>Input files and their sha256</summary>"
            + _table(["stream", "file", "bytes", "sha256"], files) + "</details>")


def _event_rows(et: dict[str, Any], summary: dict[str, Any], options: dict[str, Any]) -> list[list[Any]]:
    """The input's events: ``run.json``'s ``event_times`` (events read with a valid time: their count and range)
    and, when the run decided fewer (``--until T``: a later event is a ``timestamp_out_of_range`` dead letter; a
    duplicate), the events decided beside them, so the table never calls events after the horizon accepted."""
    if not et.get("count"):
        return [["accepted events", "none (no record of the input was accepted)"]]
    span = f"{et['count']:,} from {et.get('min_iso')} to {et.get('max_iso')} (UTC)"
    decided = summary.get("events_decided")
    if decided is None or decided == et["count"]:
        return [["accepted events", span]]
    until = options.get("until")
    why = (f"those up to the replay horizon --until {until}: a later event is a timestamp_out_of_range dead letter"
           if until and until != "end" else "the others are dead letters (duplicates, events out of range)")
    return [["events read with a valid time", span], ["events decided", f"{decided:,}: {why}"]]


def _queries(r: Report) -> str:
    from journeyflow.analytics.query import EXAMPLE_QUERIES
    names = sorted({c.query for c in r.charts if c.query})
    return "".join(f"<details><summary><code>journeyflow query OUT --example {_e(n)}</code></summary>"
                   f"<pre>{_e(EXAMPLE_QUERIES[n].strip())}</pre></details>" for n in names)


def render_html(r: Report, title: str = "journeyflow report") -> str:
    """The self-contained HTML page of ``r``."""
    by_id = {c.id: c for c in r.charts}
    journey_charts = [c for c in r.charts if c.id.startswith("steps:")]
    other = [c for c in r.charts if c.id not in ("conversion_by_arm", "uplift") and not c.id.startswith("steps:")]
    toc = "".join(f'<li><a href="#{_slug(c.id)}">{_e(c.title)}</a></li>' for c in r.charts)
    counts = _table(["table", "rows"], [[t, n] for t, n in r.row_counts.items()])
    body = f"""
<header><h1>{_e(title)}</h1><p class="muted">Replay output <code>{_e(r.source)}</code></p></header>
<section id="headline"><h2>Headline</h2>{_headline(r)}</section>
<section id="inputs"><h2>Inputs of this run</h2>{_inputs(r)}
<details><summary>Table rows</summary>{counts}</details></section>
<nav><h2>Charts</h2><ul>{toc}</ul></nav>
<main>
<h2>Journeys: effect of the randomized assignment</h2>
{_chart(by_id["conversion_by_arm"])}{_chart(by_id["uplift"])}
<h2>Journeys: what became of each step</h2>
{''.join(_chart(c) for c in journey_charts)}
<h2>Over time and overall</h2>
{''.join(_chart(c) for c in other)}
<h2>Reproduce these figures</h2>
<p class="note">Every chart's numbers come from an example query over the analyst tables (and the <code>journeys</code>
view of run.json); the intervals are statsmodels' (Wilson per arm, Newcomb for the difference, 95%).</p>
{_queries(r)}
</main>"""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="journeyflow report">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>{body}
<script type="application/json" id="report-data">{data_json(r)}</script>
</body>
</html>
"""
