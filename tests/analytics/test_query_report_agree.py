"""The example query a report chart names gives the chart's figures (same rows counted, same units)."""
from __future__ import annotations

from journeyflow.analytics import report_data as rd
from journeyflow.analytics.query import connect, run_example
from test_quality import build_output, good_rows


def test_suppressions_query_leaves_out_quiet_hours_deferrals_as_the_report_does(tmp_path):
    """A quiet-hours deferral is a ``wait``, decided again when the quiet hours end: the report's
    'Suppressed candidates by reason' chart leaves it out and names ``suppressions_by_reason_per_week`` as its
    query, which counted it as a suppression."""
    rows = good_rows()
    first = rows["suppressed_candidates"][0]
    rows["suppressed_candidates"].append({**first, "reason": "quiet_hours_deferred"})
    build_output(tmp_path, rows)
    week = run_example(tmp_path, "suppressions_by_reason_per_week").to_pylist()
    assert "quiet_hours_deferred" not in {r["reason"] for r in week}
    chart = rd.suppressions(connect(tmp_path))
    assert sum(r["suppressed"] for r in week) == sum(r["candidates"] for r in chart) == len(rows[
        "suppressed_candidates"]) - 1
