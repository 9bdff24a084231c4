"""qa11d: a customer seen in both arms of a journey is counted, and said to be, not hidden in one arm.

The arm is drawn at a customer's first entry and kept in the membership record while that record is kept; a
customer back after the journey history expired (180 days) is drawn again (a new entry event, a new hash), and two
profiles that each entered before an identity merge were drawn once each.  The analysis counts a customer in the
arm of their first entry (intention to treat), so a control customer later messaged in the treatment arm still
counts as control: the uplift is diluted.  Before, nothing showed it: the by-arm query and the report gave the same
figures whether 0 or half of the control arm had been treated later.  Now ``journey_conversion_by_arm`` has
``switched_arm`` (customers of the arm with an ``entered`` row in another arm too) and the report shows it beside
the arm and flags the uplift."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta as td

import pytest

from journeyflow.analytics.query import run_example
from journeyflow.analytics.report import write_report
from journeyflow.analytics.tables import read_table
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import Scenario, event_id_in_arm


def _event_id(prefix: str, control: bool) -> str:
    return event_id_in_arm("cart_abandonment", prefix, control)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    """crm:CS1 abandons a cart drawn into control, is silent for 200 days, then abandons another drawn into
    treatment (a reminder is sent to them); crm:CS2 is treatment once, crm:CS3 control once."""
    base = tmp_path_factory.mktemp("qa11d_arms")
    s = Scenario()
    for cid in ("CS1", "CS2", "CS3"):
        s.contact(-td(days=202), cid, email=f"{cid.lower()}@example.com", consent=("email",))
    s.add("web", -td(days=200), event_id=_event_id("s1a-", True), anonymous_id="dev-s1", user_id="CS1", type="add_to_cart",
          product_id="SKU-1")
    s.add("web", td(0), event_id=_event_id("s1b-", False), anonymous_id="dev-s1", user_id="CS1",
          type="add_to_cart", product_id="SKU-2")
    s.add("web", td(0), event_id=_event_id("s2-", False), anonymous_id="dev-s2", user_id="CS2", type="add_to_cart",
          product_id="SKU-1")
    s.add("web", td(0), event_id=_event_id("s3-", True), anonymous_id="dev-s3", user_id="CS3", type="add_to_cart",
          product_id="SKU-1")
    o = base / "out"
    assert run_replay(["--input", str(s.write(base / "in")), "--output", str(o), "--until", "end"]).reconciles
    return o


def test_the_customer_was_drawn_into_both_arms(out):
    arms = [r["detail"] for r in sorted(read_table(out, "journey_steps").to_pylist(), key=lambda r: r["at"])
            if r["journey_id"] == "cart_abandonment" and r["kind"] == "entered" and r["customer_id"] == "crm:CS1"]
    assert arms == ["control", "treatment"]


def test_the_query_counts_customers_seen_in_another_arm(out):
    rows = {r["arm"]: r for r in run_example(out, "journey_conversion_by_arm").to_pylist()
            if r["journey_id"] == "cart_abandonment"}
    assert (rows["control"]["entered"], rows["treatment"]["entered"]) == (2, 1)  # CS1 in its first arm only
    assert rows["control"]["switched_arm"] == 1 and rows["treatment"]["switched_arm"] == 0


def test_the_report_shows_the_switch_and_flags_the_uplift(out):
    page = html.unescape(open(write_report(out), encoding="utf-8").read())
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1).replace("<\\/", "</"))
    cart = next(j for j in data["journeys"] if j["journey_id"] == "cart_abandonment")
    assert {a["arm"]: a["switched"] for a in cart["arms"]} == {"control": 1, "treatment": 0}
    conv = next(c for c in data["charts"] if c["id"] == "conversion_by_arm")
    status = {r[1]: r[-1] for r in conv["table"]["rows"] if r[0] == "cart_abandonment"}
    assert "1 of them also in the other arm" in status["control"] and "other arm" not in status["treatment"]
    up = next(c for c in data["charts"] if c["id"] == "uplift")
    row = next(r for r in up["table"]["rows"] if r[0] == "cart_abandonment")
    assert any("1 customer" in str(v) and "both arms" in str(v) for v in row)
    headline = re.search(r"Measured effect of the journeys with a control group: (.*?)</p>", page).group(1)
    assert "1 customer in both arms" in headline
