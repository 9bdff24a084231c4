"""qa17c: the conversion by arm says how many customers were still in the journey when the run ended.

A goal counts while the customer is in the journey (cart_abandonment: about 25 hours from the cart).  A customer
who entered an hour before the end of the replay (or of the streaming job's last flush) has had an hour to convert,
not 25: the arm's rate counts them as not converted although their window is still open.  On a 1,500-customer,
14-day replay 51 of the 858 cart entrants (6%) were still in the journey at the end; on 200 customers x 10 days,
9 of 93 (10%): "34.5% reached the goal" read as final.  Now ``journey_conversion_by_arm`` has
``in_journey_at_end`` (customers of the arm without a goal yet whose latest snapshot lists the journey in
``active_journeys``) and the report's table shows it beside each arm: their goal may still come, so the rate is a
floor (both arms alike: the randomized comparison stands)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from journeyflow.analytics.query import run_example
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import TABLES, write_table
from journeyflow.pipelines.output import MANIFEST
from test_quality import DAY, HOUR, T0

CA = "cart_abandonment"
JOURNEYS = [{"id": CA, "name": "Cart abandonment", "category": "sales", "has_goal": True, "control_group_pct": 10,
             "steps": [{"id": "wait_1h", "kind": "wait", "channel": None},
                       {"id": "reminder_email", "kind": "send", "channel": "email"}]}]


def _out(tmp: Path) -> Path:
    """Treatment: T1 converted, T2 done without a goal, T3 entered an hour before the end (still in), T4 converted
    and back in a new membership (converted: not open); control: C1 still in (under the anonymous id it entered
    with, merged since), C2 done."""
    r = {t: [] for t in TABLES}
    end = T0 + 3 * DAY

    def entered(cid, arm, at):
        r["journey_steps"].append({"customer_id": cid, "journey_id": CA, "step_id": "wait_1h", "kind": "entered",
                                   "at": at, "trigger_id": f"web/{cid}{at}", "detail": arm})

    for cid, arm, at in (("crm:T1", "treatment", T0), ("crm:T2", "treatment", T0), ("crm:T3", "treatment", end - HOUR),
                         ("crm:T4", "treatment", T0), ("crm:T4", "treatment", end - HOUR),
                         ("anon:c1", "control", end - 2 * HOUR), ("crm:C2", "control", T0)):
        entered(cid, arm, at)
    for cid in ("crm:T1", "crm:T4"):
        r["journey_steps"].append({"customer_id": cid, "journey_id": CA, "step_id": "wait_1h", "kind": "goal",
                                   "at": T0 + 2 * HOUR, "trigger_id": f"orders/{cid}", "detail": "order_placed"})
    active = {"crm:T3": [CA], "crm:T4": [CA], "crm:C1": [CA]}
    r["customer_snapshots"] = [{"customer_id": c, "snapshot_at": end, "active_journeys": active.get(c, []),
                                "identifiers": [c] + (["anon:c1"] if c == "crm:C1" else [])}
                               for c in ("crm:T1", "crm:T2", "crm:T3", "crm:T4", "crm:C1", "crm:C2")]
    for name in TABLES:
        write_table(tmp, name, r[name])
    (tmp / MANIFEST).write_text(json.dumps({"manifest_version": 1, "journeys": JOURNEYS, "options": {"until": None},
                                            "input": {"dir": "in", "files": []}, "config": {}, "summary": {}}))
    return tmp


def test_the_example_query_counts_the_customers_still_in_the_journey(tmp_path):
    out = _out(tmp_path)
    rows = {r["arm"]: r for r in run_example(out, "journey_conversion_by_arm").to_pylist()}
    assert (rows["treatment"]["entered"], rows["treatment"]["converted"]) == (4, 2)
    assert rows["treatment"]["in_journey_at_end"] == 1  # T3 (T4 converted already)
    assert (rows["control"]["entered"], rows["control"]["in_journey_at_end"]) == (2, 1)  # C1, found by its anon id


def test_the_report_shows_them_beside_each_arm(tmp_path):
    text = Path(write_report(_out(tmp_path))).read_text(encoding="utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text,
                                re.S).group(1))
    chart = next(c for c in data["charts"] if c["id"] == "conversion_by_arm")
    col = chart["table"]["columns"].index("still in the journey at the end")
    assert {row[1]: row[col] for row in chart["table"]["rows"]} == {"control": 1, "treatment": 1}
    assert "still in the journey" in chart["note"]
    arms = {a["arm"]: a for a in next(j for j in data["journeys"] if j["journey_id"] == CA)["arms"]}
    assert arms["treatment"]["in_journey_at_end"] == 1 and arms["control"]["in_journey_at_end"] == 1
