"""Report figures an analyst recomputes from the tables (QA round 2 of issue 20).

The report's headline "conflicts resolved" is the number of decisions the example query ``conflicts_resolved``
counts (QA round 2 of issue 20): a moment whose winner was deferred by quiet hours (a ``wait`` decision) beat the
other candidates of that moment just as a ``send`` does, and the example query counts it; the headline left ``wait``
decisions out, so the page's figure and the query an analyst runs to reproduce it disagreed.

The decisions are built by the arbiter's own record builder (:func:`decisions_of`) and written with the pipeline's
row builders."""
from __future__ import annotations

from datetime import datetime, timezone

from journeyflow.analytics import report_data as rd
from journeyflow.analytics.query import connect, run_example
from journeyflow.analytics.tables import write_table
from journeyflow.model.decisions import Candidate
from journeyflow.model.tables import TABLES, decision_row, suppressed_rows
from journeyflow.stages.arbitration.records import decisions_of

T0 = int(datetime(2026, 10, 5, 23, tzinfo=timezone.utc).timestamp() * 1000)  # 23:00 UTC: quiet hours


def _cand(journey: str, step: str, channel: str, priority: int, at: int) -> Candidate:
    return Candidate(journey, step, "marketing", priority, "send", channel, f"{step}_content", f"web/{journey}-{at}",
                     at)


def test_a_deferred_winner_counts_as_a_conflict_resolved_in_the_headline_as_in_the_example(tmp_path):
    decisions = []
    # customer 1 at 23:00: the cart reminder wins and is deferred to the morning (wait); the browse push loses
    decisions += decisions_of([(_cand("cart_abandonment", "reminder_email", "email", 500, T0), T0 + 9 * 3_600_000)],
                              [(_cand("browse_abandonment", "browse_push", "push", 300, T0), "lower_priority")],
                              T0, "crm:C1", f"web/cart-{T0}")
    # customer 2 in the afternoon: the cart reminder is sent, the browse email loses
    t1 = T0 - 8 * 3_600_000
    decisions += decisions_of([(_cand("cart_abandonment", "reminder_email", "email", 500, t1), 0)],
                              [(_cand("browse_abandonment", "browse_email", "email", 300, t1), "exclusion_group")],
                              t1, "crm:C2", f"web/cart-{t1}")
    # customer 3: nothing chosen, both suppressed (not a conflict resolved: no action was chosen)
    decisions += decisions_of([], [(_cand("cart_abandonment", "reminder_email", "email", 500, t1), "consent"),
                                   (_cand("browse_abandonment", "browse_email", "email", 300, t1), "consent")],
                              t1, "crm:C3", f"web/cart3-{t1}")
    assert sorted(d.action for d in decisions) == ["send", "suppress", "wait"]
    rows = {name: [] for name in TABLES}
    rows["decisions"] = [decision_row(d) for d in decisions]
    rows["suppressed_candidates"] = [r for d in decisions for r in suppressed_rows(d)]
    for name in TABLES:
        write_table(tmp_path, name, rows[name])

    example = run_example(tmp_path, "conflicts_resolved").to_pylist()
    assert {r["reason"]: r["decisions"] for r in example} == {"lower_priority": 1, "exclusion_group": 1}
    con = connect(tmp_path)
    try:
        head = rd.headline(con)
        distinct = con.sql("SELECT count(DISTINCT d.decision_id) FROM decisions d, UNNEST(d.candidates) AS u(c) "
                           "WHERE d.action NOT IN ('suppress', 'none')").fetchall()[0][0]
    finally:
        con.close()
    assert head["conflicts_resolved"] == distinct == 2


def test_an_entry_row_without_an_arm_counts_in_the_unknown_arm(tmp_path):
    """The conversion query documents ``unknown`` for entry rows written before arms were recorded; such rows carry
    a null or a free-text detail (``cart SKU-001``), which became an arm of its own named after the text."""
    from journeyflow.analytics.outcomes import conversion_by_arm
    from journeyflow.analytics.query import journey_definitions
    rows = {name: [] for name in TABLES}
    cart = "cart_abandonment"
    rows["journey_steps"] = [
        {"customer_id": f"crm:C{i}", "journey_id": cart, "step_id": "wait_1h", "kind": "entered", "at": T0 + i,
         "trigger_id": f"web/e{i}", "detail": detail}
        for i, detail in enumerate(["treatment", "control", None, "cart SKU-001", "cart SKU-002"])]
    rows["journey_steps"].append({"customer_id": "crm:C3", "journey_id": cart, "step_id": None, "kind": "goal",
                                  "at": T0 + 100, "trigger_id": "orders/o3", "detail": "order_placed"})
    for name in TABLES:
        write_table(tmp_path, name, rows[name])
    got = {(r["arm"], r["entered"], r["converted"]) for r in run_example(tmp_path, "journey_conversion_by_arm")
           .to_pylist() if r["journey_id"] == cart}
    assert got == {("treatment", 1, 0), ("control", 1, 0), ("unknown", 3, 1)}
    con = connect(tmp_path)
    try:
        [o] = [o for o in conversion_by_arm(con, journey_definitions(None)) if o.journey_id == cart]
    finally:
        con.close()
    assert [a.arm for a in o.arms] == ["control", "treatment", "unknown"]
