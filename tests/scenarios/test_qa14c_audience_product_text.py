"""A journey's audience is re-checked unless it reads a product fact, whatever its text says (qa14c, lead 3).

The engine skips the audience re-check of a condition that reads the entry's product facts when the entry had no
product (``JourneyEngine._in_audience``).  It decided so from the condition's *text*: any condition holding
``product`` -- a lifecycle stage ``product_qualified_lead``, a trait ``preferred_product`` -- was never re-checked,
and a lead who became a customer during the wait still got the lead nurture.  Now it is decided from the parsed
condition's field references (``journeys.model.reads_product``: ``customer.product_views_7d`` /
``customer.bought_product_30d``).
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.stages.conditions import compile_condition
from tests.scenarios import Scenario, decisions_of, replay_scenario

JOURNEYS = """version: 1
journeys:
  - id: pql_nurture
    category: marketing
    priority: 100
    entry:
      event: contact_created
      stream: crm
      when: "customer.lifecycle_stage == 'product_qualified_lead'"
    steps:
      - {id: wait_1d, wait: 1d}
      - {id: nurture, send: {channel: email, content_id: pql_nurture}}
"""


def test_a_lead_who_became_a_customer_meanwhile_gets_no_lead_nurture(tmp_path):
    s = Scenario()
    for cid in ("STAYS", "BUYS"):
        s.contact(td(0), cid, email=f"{cid.lower()}@example.com", stage="product_qualified_lead")
    s.add("crm", td(hours=5), crm_id="BUYS", type="contact_updated", lifecycle_stage="customer")
    _, audit, _ = replay_scenario(s, tmp_path, JOURNEYS)
    assert [d["content_id"] for d in decisions_of(audit, "crm:STAYS")] == ["pql_nurture"]
    assert [d["content_id"] for d in decisions_of(audit, "crm:BUYS") if d["action"] == "send"] == []


@pytest.mark.parametrize("text, reads", [
    ("customer.product_views_7d >= 3 && !customer.bought_product_30d", True),
    ("customer['bought_product_30d']", True),
    ("customer.lifecycle_stage == 'product_qualified_lead'", False),
    ("customer.traits.preferred_product == 'x'", False),
])
def test_reads_product_looks_at_field_references_not_text(text, reads):
    from journeyflow.stages.journeys.model import reads_product
    assert reads_product(compile_condition(text, "t")) is reads
