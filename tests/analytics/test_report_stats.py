"""The report's uplift with small samples and several journeys (QA round 3).

Three customers per arm, all treatment customers convert and no control customer does: Newcomb's interval is
[+0.21, +1] and "excludes 0", yet Fisher's exact test gives p = 2 / C(6, 3) = 0.1 (of the 20 ways to pick which 3 of
the 6 customers convert, the observed split and its mirror are the two as extreme).  The report must not present it
as a measured effect without saying so; and with two journeys tested, the smaller p-value is Holm-adjusted (× 2).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from math import comb

import pytest

from journeyflow.analytics.outcomes import conversion_by_arm, uplift_p_value, verdict
from journeyflow.analytics.query import connect
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import write_table
from journeyflow.model.tables import TABLES

T0 = int(datetime(2026, 10, 5, 10, tzinfo=timezone.utc).timestamp() * 1000)
JOURNEYS = [{"id": j, "name": j, "category": "marketing", "has_goal": True, "control_group_pct": 50,
             "steps": [{"id": "mail", "kind": "send", "channel": "email"}]} for j in ("tiny", "big")]


def _population(arms: dict[str, dict[str, tuple[int, int]]]) -> list[dict]:
    """journey_steps rows: per journey and arm, ``(entered, converted)`` customers."""
    rows, n = [], 0
    for journey, by_arm in arms.items():
        for arm, (entered, converted) in by_arm.items():
            for i in range(entered):
                n += 1
                cust = f"crm:C{n:06d}"
                rows.append({"customer_id": cust, "journey_id": journey, "step_id": None, "kind": "entered",
                             "at": T0 + n, "trigger_id": f"web/e{n}", "detail": arm})
                if i < converted:
                    rows.append({"customer_id": cust, "journey_id": journey, "step_id": None, "kind": "goal",
                                 "at": T0 + 10_000_000 + n, "trigger_id": f"orders/o{n}", "detail": "order_placed"})
    return rows


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("stats")
    steps = _population({"tiny": {"treatment": (3, 3), "control": (3, 0)},
                         "big": {"treatment": (400, 140), "control": (400, 100)}})
    for name in TABLES:
        write_table(d, name, steps if name == "journey_steps" else [])
    (d / "run.json").write_text(json.dumps({"journeys": JOURNEYS}))
    return d


def test_a_tiny_sample_gets_an_exact_p_value_and_a_small_sample_flag(out):
    con = connect(out)
    by = {o.journey_id: o for o in conversion_by_arm(con, JOURNEYS)}
    tiny, big = by["tiny"], by["big"]
    assert tiny.uplift_low > 0  # Newcomb's interval alone would call it an effect
    assert tiny.p_value == pytest.approx(2 / comb(6, 3)) and tiny.small_sample
    assert not big.small_sample and big.p_value < 0.01
    # Holm over the two journeys: the smaller p-value doubled, the larger one not below it
    assert big.p_holm == pytest.approx(2 * big.p_value)
    assert tiny.p_holm == pytest.approx(max(2 * big.p_value, tiny.p_value))
    assert uplift_p_value(1, 1, 0, 0) is None


def test_the_report_says_small_sample_and_gives_p_values(out):
    html = open(write_report(out)).read()
    note = html[html.index("Measured effect"):].split("</p>")[0]
    tiny = note[note.index("tiny:"):]
    assert "small sample" in tiny.split("; big:")[0] and "Fisher p 0.100" in tiny
    assert "Holm-adjusted over 2 journeys" in note
    assert "small sample" not in note[note.index("big:"):].split("; tiny:")[0]
    assert "p (Fisher exact)" in html and "p (Holm, 2 journeys)" in html


def test_a_run_that_accepted_nothing_says_so(tmp_path):
    for name in TABLES:
        write_table(tmp_path, name, [])
    (tmp_path / "run.json").write_text(json.dumps({"journeys": JOURNEYS, "input": {
        "dir": "in", "files": [], "event_times": {"count": 0, "min": None, "max": None, "min_iso": None,
                                                  "max_iso": None}}}))
    html = open(write_report(tmp_path)).read()
    row = html[html.index("accepted events"):].split("</tr>")[0]
    assert "None" not in row and "none" in row


@pytest.mark.parametrize("excludes, p, p_holm, tested, reading", [
    (True, 0.056, None, 1, "inconclusive"),  # a newcomer's demo report: [-15.7, -0.1] pp, Fisher p 0.056
    (True, 0.1, 0.1, 2, "inconclusive"),  # 3/3 vs 0/3
    (True, 0.01, 0.08, 2, "inconclusive"),  # significant alone, not over the journeys tested
    (True, 0.01, 0.02, 2, "effect shown"),
    (True, 0.01, None, 1, "effect shown"),
    (False, 0.01, 0.01, 1, "no effect shown"),  # (the two methods disagree the other way: the interval rules)
    (False, 0.4, None, 1, "no effect shown"),
])
def test_one_reading_of_an_uplift_needs_the_interval_and_the_test(excludes, p, p_holm, tested, reading):
    assert verdict(excludes, p, p_holm, tested).startswith(reading)


def test_the_headline_and_the_table_read_an_uplift_the_interval_alone_would_call_an_effect_inconclusive(out):
    """The headline said "excludes 0; Fisher p 0.100" for 3/3 vs 0/3, which reads as an effect; now it says
    inconclusive, in the headline and in the uplift table's reading column, and "effect shown" for the big one."""
    html = open(write_report(out)).read()
    note = html[html.index("Measured effect"):].split("</p>")[0]
    assert note[note.index("tiny:"):].split("; big:")[0].split("(", 1)[1].startswith("inconclusive")
    assert note[note.index("big:"):].split("; tiny:")[0].split("(", 1)[1].startswith("effect shown")
    data = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    up = next(c for c in data["charts"] if c["id"] == "uplift")["table"]
    reading = up["columns"].index("reading")
    rows = {r[0]: r for r in up["rows"]}
    assert rows["tiny"][reading].startswith("inconclusive") and rows["big"][reading] == "effect shown"
    assert all(len(r) == len(up["columns"]) for r in up["rows"])
