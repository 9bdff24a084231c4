"""The report's "Inputs of this run" counts customers after identity merges (QA round 9): it printed run.json's
``customers``, the distinct customer ids of the decisions, where an anonymous visitor decided on before a login and
the CRM customer it was merged into are two ids of one customer (314 "customers" for 281 in a 300-person sample);
every other customer figure of the report counts after merges.  So do the replay's summary line and run.json's
``summary.customers`` (``pipelines.replay.summarize``).  The oracle maps ids through the snapshots in
Python, independently of the SQL's ``id_map``."""
from __future__ import annotations

import json

from journeyflow.analytics.report import build_report
from journeyflow.analytics.report_page import render_html
from journeyflow.analytics.tables import read_table


def test_customers_with_a_decision_count_a_merged_customer_once(tmp_path):
    from journeyflow.pipelines.replay import run_replay
    from journeyflow.tools.generator import generate
    generate(150, 6, 5, str(tmp_path / "in"))
    out = tmp_path / "out"
    assert run_replay(["--input", str(tmp_path / "in"), "--output", str(out)]).reconciles
    final = {}
    for s in read_table(out, "customer_snapshots").to_pylist():
        for k in [s["customer_id"], *(s["identifiers"] or [])]:
            final[k] = s["customer_id"]
    ids = {d["customer_id"] for d in read_table(out, "decisions").to_pylist()}
    customers = {final.get(i, i) for i in ids}
    assert len(ids) > len(customers)  # the sample has customers decided on under two ids
    # the replay's summary line and run.json count them after merges too (they counted the decisions' ids)
    assert json.loads((out / "run.json").read_text())["summary"]["customers"] == len(customers)
    report = build_report(out)
    assert report.headline["customers_decided"] == len(customers)
    page = render_html(report)
    assert f"{len(customers):,} customers with a decision, after identity merges" in page
    # qa17g: the bracket gave run.json's customers (after merges too since QA round 9) as "customer ids at the time
    # of their decisions" (1,984 for the demo's 2,410 distinct decision ids): it gives the decisions' distinct ids
    assert report.headline["customer_ids_decided"] == len(ids)
    assert f"({len(ids):,} distinct customer ids at the time of their decisions)" in page
