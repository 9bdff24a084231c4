"""qa11d: ``journey_conversion_by_arm`` gives each rate with its 95% interval, not a bare percentage.

Before: the example query gave ``conversion_pct`` 36.36 for 4 of 11 control customers and 36.94 for 58 of 157
treated, two figures that read alike though the first is compatible with anything from 15% to 65%; the intervals
were only in the report.  Now the query has ``ci95_low_pct`` / ``ci95_high_pct``, the report's Wilson interval
(statsmodels), and NULL for a journey without a goal, like the rate."""
from __future__ import annotations

import json

import pytest

from journeyflow.analytics.outcomes import wilson_interval
from journeyflow.analytics.query import run_example
from journeyflow.analytics.tables import write_table
from journeyflow.model.tables import TABLES
from journeyflow.pipelines.output import MANIFEST

T0 = 1_790_848_800_000
CA, WE = "cart_abandonment", "welcome"
JOURNEYS = [{"id": CA, "name": CA, "has_goal": True, "control_group_pct": 10.0,
             "steps": [{"id": "wait_1h", "kind": "wait", "channel": None}]},
            {"id": WE, "name": WE, "has_goal": False, "control_group_pct": 0.0,
             "steps": [{"id": "settle", "kind": "wait", "channel": None}]}]


def _step(cid, jid, kind, at, detail):
    return {"customer_id": cid, "journey_id": jid, "step_id": None, "kind": kind, "at": at, "trigger_id": f"t/{cid}",
            "detail": detail}


@pytest.mark.parametrize("converted,entered", [(4, 11), (0, 3), (3, 3), (58, 157)])
def test_each_rate_has_the_reports_wilson_interval(tmp_path, converted, entered):
    rows = {t: [] for t in TABLES}
    for i in range(entered):
        rows["journey_steps"].append(_step(f"crm:C{i}", CA, "entered", T0 + i, "control"))
        if i < converted:
            rows["journey_steps"].append(_step(f"crm:C{i}", CA, "goal", T0 + 1000 + i, "order_placed"))
        rows["journey_steps"].append(_step(f"crm:C{i}", WE, "entered", T0 + i, "treatment"))
    for t in TABLES:
        write_table(tmp_path, t, rows[t])
    (tmp_path / MANIFEST).write_text(json.dumps({"manifest_version": 1, "journeys": JOURNEYS}))
    got = {r["journey_id"]: r for r in run_example(tmp_path, "journey_conversion_by_arm").to_pylist()}
    lo, hi = wilson_interval(converted, entered)
    assert (got[CA]["ci95_low_pct"], got[CA]["ci95_high_pct"]) == pytest.approx((100 * lo, 100 * hi), abs=0.006)
    assert got[WE]["conversion_pct"] is None and got[WE]["ci95_low_pct"] is None and got[WE]["ci95_high_pct"] is None
