"""qa16a: other tools' event names on the web, orders and crm streams (in-process bounded path; the Beam replay:
tests/beam/test_qa16a_other_tools_event_names_beam.py).

Before, those streams' ``type`` took journeyflow's own words only: Shopify's webhook topic ``orders/create``, GA4's
``purchase``, Segment's ``Order Completed`` (snake_cased), Stripe's ``invoice.payment_failed``, the US spelling
``order_canceled``, GA4's ``view_item`` / ``sign_up``, HubSpot's ``contact.creation`` were ``unknown_type`` dead
letters, and the decisions went wrong: the cart reminder went out after the purchase, the cross-sell on top of a
cancelled order, no dunning after a failed payment, no welcome for a new CRM contact.  Now they fold to the stream's
symbols (``stages.event_words``, through ``spellings.ENUM_SYNONYMS``).  A refund is no cancellation (a partial
refund keeps the order): it stays an ``unknown_type`` dead letter."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.timeparse import parse_ts

PARSER = Parser(Hasher.from_env())
FULL = Parser(Hasher.from_env())
FULL._fast_streams, FULL._fast_direct = frozenset(), {}  # the full parser alone
CONFIG = EngineConfig.from_files()
DAY = 86_400_000
T = "2026-10-05T10:00:00Z"

#: (stream, word as another tool writes it, the stream's symbol)
WORDS = [
    # Shopify webhook topics, Shopify Web Pixels standard events, Segment Spec ecommerce names, GA4, BigCommerce
    ("orders", "orders/create", "order_placed"), ("orders", "orders/paid", "order_placed"),
    ("orders", "order_created", "order_placed"), ("orders", "Order Completed", "order_placed"),
    ("orders", "order_completed", "order_placed"), ("orders", "checkout_completed", "order_placed"),
    ("orders", "purchase", "order_placed"), ("orders", "store/order/created", "order_placed"),
    ("orders", "order_canceled", "order_cancelled"), ("orders", "orders/cancelled", "order_cancelled"),
    ("orders", "Order Canceled", "order_cancelled"), ("orders", "cancelled", "order_cancelled"),
    # Stripe event types
    ("orders", "invoice.payment_failed", "payment_failed"), ("orders", "charge.failed", "payment_failed"),
    ("orders", "payment_intent.payment_failed", "payment_failed"), ("orders", "invoice.paid", "order_placed"),
    ("orders", "invoice.payment_succeeded", "order_placed"),
    # GA4 recommended events, Segment Spec (snake_cased), Shopify Web Pixels, Meta Pixel standard events
    ("web", "view_item", "product_view"), ("web", "product_viewed", "product_view"),
    ("web", "Product Viewed", "product_view"), ("web", "product_added", "add_to_cart"),
    ("web", "product_added_to_cart", "add_to_cart"), ("web", "AddToCart", "add_to_cart"),
    ("web", "begin_checkout", "checkout_started"), ("web", "InitiateCheckout", "checkout_started"),
    ("web", "sign_up", "signup"), ("web", "signed_up", "signup"), ("web", "CompleteRegistration", "signup"),
    ("web", "signed_in", "login"), ("web", "logged_in", "login"), ("web", "page_viewed", "page_view"),
    ("web", "pageview", "page_view"), ("web", "PageView", "page_view"),
    # HubSpot webhook subscription types, Pipedrive webhooks, Salesforce/CRM words
    ("crm", "contact.creation", "contact_created"), ("crm", "contact.propertyChange", "contact_updated"),
    ("crm", "deal.creation", "opportunity_opened"), ("crm", "opportunity_created", "opportunity_opened"),
    ("crm", "deal_won", "opportunity_closed"), ("crm", "closed_lost", "opportunity_closed"),
    ("crm", "lifecycle_stage_changed", "lifecycle_changed"),
]
#: Refunds (a partial refund keeps the order: no cancellation) and other names that mean no symbol
STILL_DEAD = [("orders", "order_refunded"), ("orders", "refunds/create"), ("orders", "charge.refunded"),
              # a payment intent's or a charge's success: the same purchase as its invoice's (counted three times)
              ("orders", "payment_intent.succeeded"), ("orders", "charge.succeeded"),
              ("orders", "Order Refunded"), ("orders", "refund"), ("orders", "orders/updated"), ("web", "view_item_list"),
              ("web", "remove_from_cart"), ("crm", "deal.deletion"), ("crm", "contact.merge")]


def _record(stream: str, word: str, crm: str = "A", at: str = T, eid: str = "e1", **more) -> dict:
    base = {"event_id": eid, "ts": at, "type": word}
    if stream == "web":
        return {**base, "anonymous_id": f"d-{crm}", "user_id": crm, "product_id": "P1", **more}
    if stream == "orders":
        return {**base, "crm_id": crm, "order_id": f"{crm}-1", "product_ids": ["P1"], "amount": 40, "currency": "USD",
                **more}
    return {**base, "crm_id": crm, **more}


@pytest.mark.parametrize("stream, word, symbol", WORDS)
def test_another_tools_word_is_the_streams_symbol(stream, word, symbol):
    raw = json.dumps(_record(stream, word)).encode()
    ev = PARSER.parse(stream, raw)
    assert isinstance(ev, Event) and ev.type == symbol, ev  # before: an unknown_type dead letter
    assert repr(ev) == repr(FULL.parse(stream, raw))  # the fast parser defers the word to the full parser
    assert PARSER._fast_direct[stream](raw, None) is None


@pytest.mark.parametrize("stream, word", STILL_DEAD)
def test_a_refund_and_words_of_no_symbol_stay_dead_letters(stream, word):
    got = PARSER.parse(stream, json.dumps(_record(stream, word)).encode())
    assert isinstance(got, DeadLetter) and got.reason == "unknown_type", got
    assert repr(word)[:30].strip("'") in got.detail or word.lower() in got.detail.lower()


def test_a_ga4_purchase_names_its_order_transaction_id_a_clear_dead_letter():
    """There is no field-alias mechanism on the built-in streams (only the Segment mapping's paths): a GA4 purchase
    must carry ``order_id``; without it the record is a schema_violation naming the field, not an unknown type."""
    rec = _record("orders", "purchase")
    rec["transaction_id"] = rec.pop("order_id")
    got = PARSER.parse("orders", json.dumps(rec).encode())
    assert isinstance(got, DeadLetter) and got.reason == "schema_violation" and "order_id" in got.detail, got


# --------------------------------------------------------------------------------------------- the decisions
def contact(crm: str = "A", stage: str = "customer") -> list[tuple[str, dict]]:
    return [("crm", {"event_id": f"c-{crm}", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": crm,
                     "email": f"{crm.lower()}@example.com", "phone": "+14155550101", "timezone": "UTC",
                     "lifecycle_stage": stage}),
            *[("consent", {"event_id": f"g-{crm}-{ch}", "ts": "2026-09-01T00:00:01Z", "crm_id": crm, "channel": ch,
                           "status": "granted"}) for ch in ("email", "sms", "call")]]


def fold(records: list[tuple[str, dict]], until_days: int = 40):
    """(decisions, dead letters) of ``records`` on the in-process bounded path; decided + dead = records read."""
    parsed = [PARSER.parse(st, json.dumps(r).encode()) for st, r in records]
    evs = sorted((e for e in parsed if isinstance(e, Event)), key=lambda e: e.sort_key)
    dead = [d for d in parsed if isinstance(d, DeadLetter)]
    decisions, decided = [], 0
    for _c, o in fold_clusters(resolve_clusters(evs, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in evs) + until_days * DAY):
        decisions += o.decisions
        decided += o.events + len(o.dead)
    assert decided + len(dead) == len(records)
    return decisions, dead


def sends(decisions, journey: str, crm: str = "A") -> list[str]:
    return [d.channel for d in decisions if d.customer_id == f"crm:{crm}" and d.journey_id == journey
            and d.action == "send"]


def at(minutes: int) -> str:
    return f"2026-10-05T{10 + minutes // 60:02d}:{minutes % 60:02d}:00Z"


PLACED = [w for s, w, sym in WORDS if s == "orders" and sym == "order_placed"]
CANCELLED = [w for s, w, sym in WORDS if s == "orders" and sym == "order_cancelled"]
FAILED = [w for s, w, sym in WORDS if s == "orders" and sym == "payment_failed"]


def test_the_baselines_in_journeyflows_own_words():
    cart = contact() + [("web", _record("web", "add_to_cart", eid="a1"))]
    assert sends(fold(cart)[0], "cart_abandonment") == ["email", "sms"]
    order = contact() + [("orders", _record("orders", "order_placed", eid="o1"))]
    assert sends(fold(order)[0], "cross_sell") == ["email"]


@pytest.mark.parametrize("word", PLACED)
def test_no_cart_reminder_after_a_purchase_in_another_tools_words(word):
    recs = contact() + [("web", _record("web", "add_to_cart", eid="a1")),
                        ("orders", _record("orders", word, at=at(20), eid="o1"))]
    decisions, dead = fold(recs)
    assert dead == []
    assert sends(decisions, "cart_abandonment") == []  # before: the reminder email and SMS for what was bought


@pytest.mark.parametrize("word", CANCELLED)
def test_no_cross_sell_on_top_of_an_order_cancelled_in_another_tools_words(word):
    recs = contact() + [("orders", _record("orders", "order_placed", eid="o1")),
                        ("orders", _record("orders", word, at=at(60), eid="o2"))]
    decisions, dead = fold(recs)
    assert dead == []
    assert sends(decisions, "cross_sell") == []  # before: the cross-sell for what was cancelled


def test_shopifys_created_and_paid_webhooks_of_one_order_are_one_order():
    recs = contact() + [("orders", _record("orders", "orders/create", eid="o1")),
                        ("orders", _record("orders", "orders/paid", at=at(2), eid="o2"))]
    decisions, dead = fold(recs)
    assert dead == [] and sends(decisions, "cross_sell") == ["email"]


@pytest.mark.parametrize("word", ["order_refunded", "refunds/create", "charge.refunded"])
def test_a_refund_stays_a_dead_letter_and_the_order_is_kept(word):
    recs = contact() + [("orders", _record("orders", "order_placed", eid="o1")),
                        ("orders", _record("orders", word, at=at(60), eid="o2"))]
    decisions, dead = fold(recs)
    assert [d.reason for d in dead] == ["unknown_type"]
    assert sends(decisions, "cross_sell") == ["email"]


@pytest.mark.parametrize("word", FAILED)
def test_a_payment_failed_in_stripes_words_starts_dunning(word):
    recs = contact() + [("orders", _record("orders", word, eid="f1", **{"order_id": "in_1"}))]
    decisions, dead = fold(recs)
    assert dead == []
    assert sends(decisions, "dunning")[:2] == ["email", "sms"]  # before: no dunning at all


def test_stripe_recovering_the_payment_ends_dunning():
    """A failed invoice paid later (Stripe's retries): the payment went through, no SMS or call after it."""
    recs = contact() + [("orders", _record("orders", "invoice.payment_failed", eid="f1", order_id="in_1")),
                        ("orders", _record("orders", "invoice.paid", at=at(120), eid="p1", order_id="in_1"))]
    decisions, dead = fold(recs)
    assert dead == [] and sends(decisions, "dunning") == ["email"]


def test_the_browse_offer_is_not_sent_for_a_product_just_bought_under_ga4s_name():
    views = [("web", _record("web", "product_view", at=at(30 + k), eid=f"v{k}")) for k in range(3)]
    bought = contact() + [("orders", _record("orders", "purchase", eid="o1"))] + views
    assert sends(fold(bought)[0], "browse_offer") == []  # before: the offer for what was just bought
    ga4_views = [("web", _record("web", "view_item", at=at(30 + k), eid=f"v{k}")) for k in range(3)]
    assert sends(fold(contact() + ga4_views)[0], "browse_offer") == ["email"]  # before: no view counted


@pytest.mark.parametrize("stream, word", [("crm", "contact.creation"), ("web", "sign_up"), ("web", "Signed Up")])
def test_a_new_lead_in_another_tools_words_is_welcomed(stream, word):
    lead = contact("L", stage="lead")
    recs = [(s, {**r, "ts": "2026-10-05T09:00:00Z"}) for s, r in lead]
    if stream == "crm":
        recs[0] = ("crm", {**recs[0][1], "type": word})
    else:
        recs.append(("web", _record("web", word, crm="L", eid="s1")))
    decisions, dead = fold(recs)
    assert dead == [] and sends(decisions, "welcome", "L")[:1] == ["email"]  # before: no welcome


def test_hubspots_property_change_updates_the_contact():
    """``contact.propertyChange`` is the contact updated: a new lead who became a customer before the welcome's
    settle is not welcomed (the welcome's audience is re-checked before it sends)."""
    lead = [(s, {**r, "ts": "2026-10-05T09:00:00Z"}) for s, r in contact("L", stage="lead")]
    update = ("crm", {"event_id": "u1", "ts": "2026-10-05T09:05:00Z", "crm_id": "L", "type": "contact.propertyChange",
                      "lifecycle_stage": "customer"})
    assert sends(fold(lead)[0], "welcome", "L")[:1] == ["email"]
    decisions, dead = fold([*lead, update])
    assert dead == [] and sends(decisions, "welcome", "L") == []  # before: welcomed as the lead it no longer is
