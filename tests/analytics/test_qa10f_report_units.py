"""qa10f: the report's figures count the same unit where they are compared, and the headline shows every class.

Before: "Goal conversions per day" counted journey_steps goal rows (a customer reaching the goal twice, or under an
anonymous id and again after its merge, counted two) while the conversion-by-arm table counts customers (after
identity merges): 65 against 62 on the demo.  Now the days count customers on the day of their first goal, and add
up to the by-arm "reached goal" of both arms.  The headline cards showed avoided / compliance / holdout but not the
``other`` class (``invalid_candidate``), so the cards did not add up to "messages not sent"."""
from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from pathlib import Path

from journeyflow.analytics.query import run_example
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import write_table
from journeyflow.pipelines.output import MANIFEST
from test_quality import DAY, HOUR, T0
from test_report import CA, JOURNEYS, TABLES, _step, _sup, rows


def _out(tmp_path):
    data = rows()
    data["journey_steps"] += [
        _step("crm:B", CA, "goal", T0 + 3 * DAY),  # B reaches the goal again, another day
        _step("anon:d", CA, "goal", T0 + 2 * DAY),  # D converts as an anonymous id (merged into crm:D later)...
        _step("crm:D", CA, "goal", T0 + 9 * DAY),  # ...and again after the merge
    ]
    data["suppressed_candidates"].append(_sup("d3", "crm:C", T0 + HOUR, CA, "reminder_email", "email",
                                              "invalid_candidate"))
    for name in TABLES:
        write_table(tmp_path, name, data[name])
    (tmp_path / "topics").mkdir(exist_ok=True)
    (tmp_path / MANIFEST).write_text(json.dumps({"manifest_version": 1, "journeys": JOURNEYS}))
    return tmp_path, data


def test_conversions_per_day_count_the_customers_of_the_by_arm_table(tmp_path):
    out, data = _out(tmp_path)
    by_arm = defaultdict(int)
    for r in run_example(out, "journey_conversion_by_arm").to_pylist():
        by_arm[r["journey_id"]] += r["converted"]
    per_day = defaultdict(int)
    for r in run_example(out, "conversions_per_day").to_pylist():
        per_day[r["journey_id"]] += r["conversions"]
    assert dict(per_day) == {j: n for j, n in by_arm.items() if n}
    # independently: customers (anon:d is crm:D) with a goal in the cart journey: A, B, D
    final = {k: s["customer_id"] for s in data["customer_snapshots"] for k in s["identifiers"]}
    goals = {final.get(r["customer_id"], r["customer_id"]) for r in data["journey_steps"]
             if r["kind"] == "goal" and r["journey_id"] == CA}
    assert per_day[CA] == len(goals) == 3
    # each on the day of the first goal
    days = {r["day"].isoformat(): r["conversions"] for r in run_example(out, "conversions_per_day").to_pylist()}
    assert sum(days.values()) == 3 and len(days) == 3  # A day 0, B day 1, D day 2

    page = _page(write_report(out))
    chart = next(c for c in _data(page)["charts"] if c["id"] == "conversions_per_day")
    assert sum(r["conversions"] for r in chart["data"]) == sum(by_arm.values())


def test_the_headline_cards_add_up_to_the_messages_not_sent(tmp_path):
    out, _data_rows = _out(tmp_path)
    page = _page(write_report(out))
    h = _data(page)["headline"]
    assert h["suppressed_by_class"]["other"] == 1
    headline = page[page.index('id="headline"'):page.index('id="inputs"')]
    cards = [(int(n.replace(",", "")), html.unescape(label)) for n, label in
             re.findall(r'<div class="n">([0-9,]+)</div><div class="l">(.*?)</div>', headline)]
    labels = dict((label, n) for n, label in cards)
    not_sent = next(n for label, n in labels.items() if label.startswith("messages not sent"))
    classes = [n for label, n in labels.items() if label.startswith(("unnecessary", "blocked", "held out",
                                                                     "suppressed for other"))]
    assert len(classes) == 4 and sum(classes) == not_sent == h["suppressed"]
    assert any("invalid_candidate" in label for label in labels)


def _page(path) -> str:
    return Path(path).read_text(encoding="utf-8")


def _data(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                                re.S).group(1))
