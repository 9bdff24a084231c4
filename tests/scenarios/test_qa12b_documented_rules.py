"""What the default journeys decide on cases a practitioner asks about, kept as rules (qa12b; README "Journey
lifecycle", "What the default journeys decide"): a ticket silent past ``open_tickets.stale_after`` and re-opened
while another high ticket is open is a repeat contact; a new cart two days after an order that was the previous
cart's goal gets no reminder (the 7-day cooldown counts entries); a payment reminder by SMS to a customer without
a phone number is suppressed with ``no_address``.  Replayed through the public replay API.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, event_id_in_arm, replay_scenario

H, D, M = td(hours=1), td(days=1), td(minutes=1)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    s.contact(-60 * D, "STALE", email="stale@example.com")
    s.add("support", -40 * D, crm_id="STALE", ticket_id="S-1", type="ticket_opened", severity="high")
    s.add("support", td(0), crm_id="STALE", ticket_id="S-2", type="ticket_opened", severity="high")
    s.add("support", H, crm_id="STALE", ticket_id="S-1", type="ticket_opened", severity="high")  # re-opened
    s.contact(-30 * D, "AGAIN", email="again@example.com")
    s.add("web", td(0), anonymous_id="d-again", user_id="AGAIN", type="add_to_cart", product_id="SOFA",
          event_id=event_id_in_arm("cart_abandonment", "again-1", control=False))
    s.add("orders", 30 * M, crm_id="AGAIN", order_id="A-1", type="order_placed", product_ids=["SOFA"], amount=900,
          currency="USD")
    s.add("web", 2 * D, anonymous_id="d-again", user_id="AGAIN", type="add_to_cart", product_id="TABLE",
          event_id=event_id_in_arm("cart_abandonment", "again-2", control=False))
    s.contact(-30 * D, "NOPHONE", email="nophone@example.com", consent=("email", "sms"))
    s.add("orders", 2 * H, crm_id="NOPHONE", order_id="N-1", type="payment_failed", product_ids=["PLAN"], amount=5,
          currency="USD")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa12b_rules"))
    return audit


def _fates(audit, cid, journey):
    out = []
    for d in decisions_of(audit, f"crm:{cid}"):
        if d["journey_id"] == journey and d["action"] != "suppress":
            out.append((d["channel"], d["action"]))
        out += [(c["channel"], c["reason"]) for c in d["candidates"] if c["journey_id"] == journey]
    return out


def test_a_stale_ticket_reopened_while_another_is_open_is_a_repeat_contact(audit):
    assert _fates(audit, "STALE", "repeat_contact") == [("service_case", "route_case")]


def test_a_new_cart_within_the_cooldown_after_a_converted_one_gets_no_reminder(audit):
    assert _fates(audit, "AGAIN", "cart_abandonment") == []


def test_an_sms_step_without_a_phone_number_is_suppressed_no_address(audit):
    assert _fates(audit, "NOPHONE", "dunning") == [("email", "send"), ("sms", "no_address")]
