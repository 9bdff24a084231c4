"""A contact who becomes a customer while ``welcome`` waits is not welcomed any more (qa13a, a lifecycle
practitioner's scenarios, round 4).

``welcome``'s entry condition (a contact without an order whom the CRM does not call a customer) was checked only
at entry: a lead whose CRM stage switched to ``customer``, or who placed an order, during the 15-minute settle still
got the welcome email, and one who bought after the welcome email still got the onboarding tips two days later.
Braze and Iterable re-check a journey's audience at send time (Klaviyo's flow filters at every step).  Now a journey
whose entries all have conditions about the customer only (its audience) re-checks them before each later send and
before a send deferred by quiet hours goes out: a customer who no longer matches leaves the journey (``exited``,
``audience``) and the pending send is cancelled.  A contact who still matches is welcomed as before.  Replayed through
the public replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.analytics.query import query
from tests.scenarios import Scenario, decisions_of, replay_scenario

M, H, D = td(minutes=1), td(hours=1), td(days=1)


def _lead(s: Scenario, at, cid: str) -> None:
    s.add("crm", at, crm_id=cid, email=f"{cid.lower()}@example.com", type="contact_created", lifecycle_stage="lead")
    s.add("consent", at + td(seconds=1), crm_id=cid, channel="email", status="granted")


def _stage(s: Scenario, at, cid: str, stage: str) -> None:
    s.add("crm", at, crm_id=cid, type="lifecycle_changed", lifecycle_stage=stage)


def _order(s: Scenario, at, cid: str) -> None:
    s.add("orders", at, crm_id=cid, order_id=f"O-{cid}", type="order_placed", product_ids=["MUG"], amount=12,
          currency="USD")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s = Scenario()
    _lead(s, td(0), "CONVERTED")            # the CRM calls the lead a customer 5 minutes later
    _stage(s, 5 * M, "CONVERTED", "customer")
    _lead(s, td(0), "BOUGHT")               # the lead orders 5 minutes later
    _order(s, 5 * M, "BOUGHT")
    _lead(s, td(0), "LATER")                # welcomed, then a customer a day later: no onboarding tips
    _stage(s, D, "LATER", "Customer")
    _lead(s, 10 * H + 55 * M, "NIGHT")      # 20:55 UTC: the email falls in quiet hours (deferred to 08:00) ...
    _order(s, 12 * H, "NIGHT")              # ... and the contact orders at 22:00 meanwhile
    _lead(s, td(0), "STILL")                # still a lead: welcomed as before
    _stage(s, 5 * M, "STILL", "marketingqualifiedlead")
    _lead(s, 10 * H + 55 * M, "STILLNIGHT")  # deferred to 08:00, still a lead then: welcomed at 08:00
    # browse_offer (audience: 3 views in 7 days, the product not bought): its promo falls in quiet hours at 22:00
    # and is deferred to 08:00; one customer buys the product at 23:00, the other does not
    for cid in ("VIEWBUY", "VIEWONLY"):
        s.contact(-30 * D, cid, email=f"{cid.lower()}@example.com")
        for k in range(3):
            s.add("web", 12 * H + k * M, anonymous_id=f"d-{cid}", user_id=cid, type="product_view", product_id="LAMP")
    s.add("orders", 13 * H, crm_id="VIEWBUY", order_id="O-LAMP", type="order_placed", product_ids=["LAMP"],
          amount=40, currency="USD")
    base = tmp_path_factory.mktemp("qa13a_welcome")
    _, audit, out = replay_scenario(s, base)
    return audit, out


def _welcome(audit, cid):
    return [(d["content_id"], d["action"]) for d in decisions_of(audit, f"crm:{cid}")
            if d["journey_id"] == "welcome" and d["action"] in ("send", "wait")]


def _steps(out, cid):
    rows = query(out, f"SELECT kind, detail FROM journey_steps WHERE customer_id = 'crm:{cid}' "
                      "AND journey_id = 'welcome' ORDER BY \"at\"").to_pylist()
    return [(r["kind"], r["detail"]) for r in rows]


@pytest.mark.parametrize("cid", ["CONVERTED", "BOUGHT"])
def test_a_lead_who_becomes_a_customer_during_the_settle_is_not_welcomed(replayed, cid):
    audit, out = replayed
    assert _welcome(audit, cid) == []
    assert ("exited", "audience") in _steps(out, cid)


def test_a_contact_who_becomes_a_customer_after_the_welcome_gets_no_onboarding(replayed):
    audit, _ = replayed
    assert _welcome(audit, "LATER") == [("welcome", "send")]


def test_a_welcome_deferred_by_quiet_hours_is_cancelled_when_the_contact_orders_meanwhile(replayed):
    audit, out = replayed
    assert [a for _, a in _welcome(audit, "NIGHT")] == ["wait"]  # deferred, then never sent
    cancelled = [(c["content_id"], c["reason"]) for d in decisions_of(audit, "crm:NIGHT") if d["action"] == "suppress"
                 for c in d["candidates"] if c["journey_id"] == "welcome"]
    assert cancelled == [("welcome", "journey_exited")]
    assert ("cancelled", "audience") in _steps(out, "NIGHT")


@pytest.mark.parametrize("cid", ["STILL", "STILLNIGHT"])
def test_a_contact_who_still_matches_is_welcomed(replayed, cid):
    audit, _ = replayed
    sends = [c for c, a in _welcome(audit, cid) if a == "send"]
    assert sends == ["welcome", "onboarding_tips"]


def _promo(audience, cid):
    return [(d["action"], d["content_id"]) for d in decisions_of(audience, f"crm:{cid}")
            if d["journey_id"] == "browse_offer" and d["action"] in ("send", "wait")]


def test_a_browse_promo_deferred_overnight_is_cancelled_when_the_product_is_bought_meanwhile(replayed):
    audit, out = replayed
    assert _promo(audit, "VIEWBUY") == [("wait", "browse_promo")]
    assert ("cancelled", "audience") in [(k, d) for k, d in _steps_of(out, "VIEWBUY", "browse_offer")]
    assert _promo(audit, "VIEWONLY") == [("wait", "browse_promo"), ("send", "browse_promo")]


def _steps_of(out, cid, journey):
    rows = query(out, f"SELECT kind, detail FROM journey_steps WHERE customer_id = 'crm:{cid}' "
                      f"AND journey_id = '{journey}'").to_pylist()
    return [(r["kind"], r["detail"]) for r in rows]


_SHAPES = """
version: 1
journeys:
  - id: about_customer
    category: marketing
    priority: 10
    entry:
      - {event: signup, when: "customer.lifecycle_stage == 'lead'"}
      - {event: contact_created, when: "customer.lifecycle_stage == 'lead'"}
    steps: [{id: s, send: {channel: email, content_id: a}}]
  - id: about_event
    category: service
    priority: 910
    entry: {event: ticket_resolved, when: "has(event.csat) && event.csat <= 2 && customer.open_tickets == 0"}
    steps: [{id: w, wait: 1h}, {id: s, send: {channel: email, content_id: b}}]
  - id: one_entry_open
    category: marketing
    priority: 20
    entry:
      - {event: signup}
      - {event: contact_created, when: "customer.lifecycle_stage == 'lead'"}
    steps: [{id: s, send: {channel: email, content_id: c}}]
  - id: event_in_a_string
    category: marketing
    priority: 30
    entry: {event: signup, when: "customer.lifecycle_stage != 'event.x'"}
    steps: [{id: s, send: {channel: email, content_id: d}}]
"""


def test_the_audience_is_the_entry_conditions_about_the_customer_only():
    from journeyflow.stages.journeys import load_journeys_text

    js = {j.id: j for j in load_journeys_text(_SHAPES)}
    assert [c.text for c in js["about_customer"].audience] == ["customer.lifecycle_stage == 'lead'"]  # once
    assert js["about_event"].audience == ()  # about the entry event, which later steps no longer have
    assert js["one_entry_open"].audience == ()  # one entry admits everyone
    assert len(js["event_in_a_string"].audience) == 1
