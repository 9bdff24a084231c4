"""qa16a in the Beam replay: other tools' event names on the web, orders and crm streams decide as journeyflow's own
words do (the rules and every word: tests/stages/test_qa16a_other_tools_event_names.py).  Before, each was an
``unknown_type`` dead letter: the cart reminder went out after a Shopify ``orders/create`` purchase, the cross-sell on
top of an ``order_canceled`` order, no dunning followed Stripe's ``invoice.payment_failed`` and no welcome HubSpot's
``contact.creation``.  A refund stays a dead letter and the books balance."""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, read_topic, replay_scenario

M = td(minutes=1)


def _order(s: Scenario, at: td, crm: str, word: str, oid: str, **more) -> None:
    s.add("orders", at, crm_id=crm, order_id=oid, type=word, product_ids=["P1"], amount=40, currency="USD", **more)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s = Scenario()
    s.contact(-td(days=30), "CART", email="cart@example.com")  # added to the cart, bought 20 minutes later
    s.add("web", td(0), anonymous_id="d-cart", user_id="CART", type="Product Added", product_id="P1")
    _order(s, 20 * M, "CART", "orders/create", "O-1")
    s.contact(-td(days=30), "CANCEL", email="cancel@example.com")  # ordered, cancelled an hour later
    _order(s, td(0), "CANCEL", "order_placed", "O-2")
    _order(s, 60 * M, "CANCEL", "order_canceled", "O-2")
    s.contact(-td(days=30), "REFUND", email="refund@example.com")  # ordered, refunded: the order is kept
    _order(s, td(0), "REFUND", "order_placed", "O-3")
    _order(s, 60 * M, "REFUND", "order_refunded", "O-3", event_id="refund-1")
    s.contact(-td(days=30), "DUNNING", email="dunning@example.com", phone="+14155550123", consent=("email", "sms"))
    _order(s, td(0), "DUNNING", "invoice.payment_failed", "in_1")
    s.add("crm", td(0), crm_id="LEAD", email="lead@example.com", type="contact.creation", lifecycle_stage="lead")
    s.add("consent", td(seconds=1), crm_id="LEAD", channel="email", status="granted")
    summary, audit, out = replay_scenario(s, tmp_path_factory.mktemp("qa16a"))
    return summary, audit, out


def _sent(audit, crm: str, journey: str) -> list[str]:
    return [d["channel"] for d in decisions_of(audit, f"crm:{crm}") if d["journey_id"] == journey
            and d["action"] == "send"]


def test_other_tools_words_decide_as_the_streams_own(replayed):
    _summary, audit, _out = replayed
    assert _sent(audit, "CART", "cart_abandonment") == []  # before: the reminder email and SMS after the purchase
    assert _sent(audit, "CANCEL", "cross_sell") == []  # before: the cross-sell for the cancelled order
    assert _sent(audit, "REFUND", "cross_sell") == ["email"]  # a refund takes nothing back
    assert _sent(audit, "DUNNING", "dunning")[:2] == ["email", "sms"]  # before: no dunning
    assert _sent(audit, "LEAD", "welcome")[:1] == ["email"]  # before: no welcome


def test_a_refund_stays_a_dead_letter_and_the_books_balance(replayed):
    summary, _audit, out = replayed
    dead = read_topic(out, "dead-letter")
    assert [(d["reason"], "order_refunded" in d["detail"]) for d in dead] == [("unknown_type", True)]
    assert summary.reconciles
