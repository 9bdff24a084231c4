"""One order, reported twice: an ``order_placed`` naming an order the customer already placed is that order again.

Order systems re-send an order with a new event id (a webhook retried after a timeout, a nightly re-export of the
orders changed that day), and a shop that sends its orders both from its order system and through Segment
(``Order Completed``) reports each order once per input form.  The event ids differ, so the de-duplication by
event id does not see them.  A practitioner expects one order: one cross-sell, one "thank you", ``orders_90d`` of 1
and no effect on a cart the customer filled after that order (before: the re-export of last week's order
cross-sold it a second time, exited the new cart's reminder and counted as its conversion, and one order counted as
two in ``customer.orders_90d``).  Scenarios replayed through the public replay API (``run_replay``), default policy.
"""
from __future__ import annotations

import json
from datetime import timedelta as td
from pathlib import Path

import pytest

from journeyflow.analytics.query import query
from journeyflow.config.engine import default_text
from tests.scenarios import Scenario, T0, decisions_of, replay_scenario

D, H = td(days=1), td(hours=1)


def _default_journeys_without_holdout() -> str:
    """The shipped journeys with cart_abandonment's holdout set to 0 (every member gets the reminder: the test
    is about which members there are, not about their arm)."""
    text = default_text("journeys.yaml")
    assert text.count("control_group_pct: 10") == 1
    return text.replace("control_group_pct: 10", "control_group_pct: 0")


#: Two practitioner journeys: a thank-you for every order of 100 or more (re-entry always), and a loyalty email
#: on the second order within 90 days.
ORDER_JOURNEYS = """
  - id: big_order_thanks
    name: Thank you for a large order
    category: transactional
    priority: 700
    entry: {event: order_placed, stream: orders, when: "event.amount >= 100.0"}
    reentry: {mode: always}
    steps:
      - {id: thanks, send: {channel: email, content_id: big_order_thanks}}
  - id: second_order
    name: Loyalty email on the second order
    category: marketing
    priority: 150
    entry: {event: order_placed, stream: orders, when: "customer.orders_90d == 2"}
    reentry: {mode: never}
    steps:
      - {id: loyalty, send: {channel: email, content_id: loyalty_welcome}}
"""


def _order(s: Scenario, at, crm: str, order_id: str, event_id: str, amount: float = 50.0, pids=("SKU-1",)):
    s.add("orders", at, crm_id=crm, order_id=order_id, type="order_placed", product_ids=list(pids), amount=amount,
          currency="USD", event_id=event_id)


def build() -> Scenario:
    s = Scenario()
    # re-exported a week later: one cross-sell only, and the cart filled meanwhile keeps its reminder
    s.contact(-30 * D, "RESYNC", email="resync@example.com")
    _order(s, td(0), "RESYNC", "ORD-R1", "o-r1")
    s.add("web", 8 * D - td(minutes=30), anonymous_id="dev-resync", user_id="RESYNC", type="add_to_cart",
          product_id="SKU-2")
    _order(s, 8 * D, "RESYNC", "ORD-R1", "o-r1-export")
    # a webhook retried 5 minutes later with a new delivery id: one thank-you, no "second order" email
    s.contact(-30 * D, "RETRY", email="retry@example.com")
    _order(s, td(0), "RETRY", "ORD-T1", "o-t1", amount=150.0)
    _order(s, td(minutes=5), "RETRY", "ORD-T1", "o-t1-retry", amount=150.0)
    # the same order from the order system and from Segment 2 s later
    s.contact(-30 * D, "FORMS", email="forms@example.com")
    _order(s, td(0), "FORMS", "ORD-F1", "o-f1")
    s.records["track"].append({
        "type": "track", "messageId": "seg-f1", "event": "Order Completed", "userId": "FORMS",
        "timestamp": (T0 + td(seconds=2)).isoformat(),
        "properties": {"order_id": "ORD-F1", "total": 50.0, "products": [{"product_id": "SKU-1"}]}})
    # the same order twice in one millisecond (two event ids): still one order
    s.contact(-30 * D, "SAMEMS", email="samems@example.com")
    _order(s, td(0), "SAMEMS", "ORD-S1", "o-s1-a")
    _order(s, td(0), "SAMEMS", "ORD-S1", "o-s1-b")
    # the order system's record under the CRM id, Segment's under the email, linked an hour later by the CRM
    # contact: the merged profile holds one ORD-M1, so the next order is the second
    _order(s, td(0), "MERGED", "ORD-M1", "o-m1")
    s.add("orders", td(seconds=2), email="merged@example.com", order_id="ORD-M1", type="order_placed",
          product_ids=["SKU-1"], amount=50.0, currency="USD", event_id="o-m1-by-email")
    s.contact(H, "MERGED", email="merged@example.com")
    _order(s, 2 * H, "MERGED", "ORD-M2", "o-m2")
    # control: an order placed, its payment failing (dunning), then placed again when the payment goes through is
    # news: the dunning ends (no SMS a day later), and it is still one order
    s.contact(-30 * D, "PAID", email="paid@example.com", phone="+1 415 555 0188", consent=("email", "sms"))
    _order(s, td(0), "PAID", "ORD-P1", "o-p1")
    s.add("orders", H, crm_id="PAID", order_id="ORD-P1", type="payment_failed", amount=50.0, currency="USD",
          event_id="o-p1-failed")
    _order(s, 3 * H, "PAID", "ORD-P1", "o-p1-paid")
    # controls: two different orders are two orders; an order placed again after its cancellation is placed again
    s.contact(-30 * D, "TWO", email="two@example.com")
    _order(s, td(0), "TWO", "ORD-2A", "o-2a", amount=150.0)
    _order(s, td(minutes=5), "TWO", "ORD-2B", "o-2b")
    s.contact(-30 * D, "REINSTATED", email="reinstated@example.com")
    _order(s, td(0), "REINSTATED", "ORD-I1", "o-i1")
    s.add("orders", H, crm_id="REINSTATED", order_id="ORD-I1", type="order_cancelled", event_id="o-i1-cancel")
    _order(s, 2 * H, "REINSTATED", "ORD-I1", "o-i1-again")
    _order(s, 3 * H, "REINSTATED", "ORD-I2", "o-i2")
    return s


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    _summary, audit, out = replay_scenario(build(), tmp_path_factory.mktemp("qa10e_resent"),
                                           _default_journeys_without_holdout().rstrip() + "\n" + ORDER_JOURNEYS)
    return audit, out


def _sent(audit, customer: str, content: str) -> list[dict]:
    return [d for d in decisions_of(audit, customer) if d["action"] == "send" and d["content_id"] == content]


def _proposed(audit, customer: str, content: str) -> list[dict]:
    """``customer``'s decisions that chose or turned down a candidate of ``content``."""
    return [d for d in decisions_of(audit, customer)
            if d["content_id"] == content or any(c["content_id"] == content for c in d["candidates"])]


def test_an_order_re_exported_a_week_later_is_not_cross_sold_again(replay):
    audit, _ = replay
    assert len(_sent(audit, "crm:RESYNC", "cross_sell")) == 1


def test_an_old_order_sent_again_neither_ends_nor_converts_a_newer_cart(replay):
    audit, out = replay
    assert len(_sent(audit, "crm:RESYNC", "cart_reminder_1")) == 1
    rows = query(out, "SELECT kind, detail FROM journey_steps WHERE customer_id = 'crm:RESYNC' "
                      "AND journey_id = 'cart_abandonment' AND kind = 'goal'").to_pylist()
    assert rows == []


def test_a_retried_order_webhook_thanks_once_and_is_not_a_second_order(replay):
    audit, _ = replay
    assert len(_sent(audit, "crm:RETRY", "big_order_thanks")) == 1
    assert _proposed(audit, "crm:RETRY", "loyalty_welcome") == []


def test_one_order_from_both_input_forms_is_one_order(replay):
    audit, out = replay
    assert _proposed(audit, "crm:FORMS", "loyalty_welcome") == []
    assert _latest_snapshot(out, "crm:FORMS")["orders_90d"] == 1


def test_one_order_twice_in_one_millisecond_is_one_order(replay):
    audit, out = replay
    assert _proposed(audit, "crm:SAMEMS", "loyalty_welcome") == []
    assert _latest_snapshot(out, "crm:SAMEMS")["orders_90d"] == 1


def test_one_order_held_by_two_profiles_is_one_order_after_their_merge(replay):
    audit, out = replay
    assert len(_proposed(audit, "crm:MERGED", "loyalty_welcome")) == 1  # (capped: the welcome email went out)
    assert _latest_snapshot(out, "crm:MERGED")["orders_90d"] == 2


def test_an_order_placed_again_once_its_failed_payment_goes_through_ends_the_dunning(replay):
    audit, out = replay
    assert len(_sent(audit, "crm:PAID", "payment_retry")) == 1
    assert _proposed(audit, "crm:PAID", "payment_retry_sms") == []
    assert _latest_snapshot(out, "crm:PAID")["orders_90d"] == 1


def test_different_orders_and_a_reinstated_order_still_count(replay):
    audit, out = replay
    assert len(_sent(audit, "crm:TWO", "big_order_thanks")) == 1  # (the second order is under 100)
    assert len(_sent(audit, "crm:TWO", "loyalty_welcome")) == 1
    assert len(_sent(audit, "crm:REINSTATED", "loyalty_welcome")) == 1  # ORD-I1 again after its cancellation, ORD-I2


def _latest_snapshot(out: Path, customer: str) -> dict:
    return query(out, "SELECT orders_90d FROM customer_snapshots WHERE customer_id = getvariable('customer') "
                      "ORDER BY snapshot_at DESC LIMIT 1", {"customer": customer}).to_pylist()[0]


def test_a_merge_clears_a_failure_the_other_profiles_re_placement_of_the_order_paid():
    """Profile A placed ORD-X and saw its payment fail; profile B saw ORD-X placed again (paid) before the link.
    One profile that saw both would hold the failure cleared (the order placed again after it), and so does the
    merge (its one entry per order kept the first placement, which is before the failure)."""
    from journeyflow.model.events import Event
    from journeyflow.stages.state import CustomerState

    t0 = int(T0.timestamp() * 1000)
    hour = 3_600_000

    def fold(cid: str, *events: tuple[str, int]) -> CustomerState:
        s = CustomerState(customer_id=cid)
        for i, (kind, at) in enumerate(events):
            s.apply(Event(f"orders/{cid}-{i}", "orders", kind, at, (cid,),
                          {"order_id": "ORD-X", "amount": 5.0, "product_ids": ["SKU-1"]}, {}))
        return s

    a = fold("crm:A", ("order_placed", t0), ("payment_failed", t0 + hour))
    b = fold("email:b", ("order_placed", t0 + 2 * hour))
    one = fold("crm:A", ("order_placed", t0), ("payment_failed", t0 + hour), ("order_placed", t0 + 2 * hour))
    for merged in (a.merge(b), b.merge(a)):
        assert merged.payment_failed is None is one.payment_failed
        assert merged.facts(t0 + 3 * hour)["orders_90d"] == one.facts(t0 + 3 * hour)["orders_90d"] == 1


def test_a_computed_attribute_counts_a_re_sent_order_once(tmp_path):
    """The sibling in computed attributes: ``spend_90d`` (sum of order amounts) and ``orders_all`` (count) of a
    customer whose one order came from both input forms; the customer_snapshots' ``traits`` show them."""
    from journeyflow.pipelines.replay import run_replay

    s = Scenario()
    s.contact(-30 * D, "ATTR", email="attr@example.com")
    _order(s, td(0), "ATTR", "ORD-A1", "o-a1", amount=80.0)
    s.records["track"].append({
        "type": "track", "messageId": "seg-a1", "event": "Order Completed", "userId": "ATTR",
        "timestamp": (T0 + td(seconds=2)).isoformat(),
        "properties": {"order_id": "ORD-A1", "total": 80.0, "products": [{"product_id": "SKU-1"}]}})
    _order(s, H, "ATTR", "ORD-A1", "o-a1-retry", amount=80.0)
    attributes = tmp_path / "attributes.yaml"
    attributes.write_text("version: 1\nattributes:\n"
                          "  orders_all: {op: count, event: order_placed}\n"
                          "  spend_90d: {op: sum, event: order_placed, property: amount, window: 90d}\n")
    inp = s.write(tmp_path / "in")
    out = tmp_path / "out"
    run_replay(["--input", str(inp), "--output", str(out), "--attributes", str(attributes), "--until", "end"])
    row = query(out, "SELECT traits FROM customer_snapshots WHERE customer_id = 'crm:ATTR' "
                     "ORDER BY snapshot_at DESC LIMIT 1").to_pylist()[0]
    traits = json.loads(row["traits"])
    assert traits["orders_all"] == 1
    assert traits["spend_90d"] == 80.0


def test_a_re_sent_order_adds_the_items_its_malformed_first_report_lacked(tmp_path):
    """The generator's demo population (and real exports) hold an order reported twice in one millisecond: first
    with ``product_ids`` malformed (``"SKU-001,SKU-002"``, dropped with a field warning), then correctly.  The first
    report places the order; the second must still make its product bought, or the browse offer promotes the product
    just bought (found in the make-demo digest)."""
    s = Scenario()
    s.contact(-30 * D, "ITEMS", email="items@example.com")
    s.add("orders", td(0), crm_id="ITEMS", order_id="ORD-M1", type="order_placed", product_ids="SKU-001,SKU-002",
          amount=61.99, currency="USD", event_id="o-m1-a")
    _order(s, td(0), "ITEMS", "ORD-M1", "o-m1-b", amount=61.99, pids=("SKU-102",))
    for k in range(3):
        s.add("web", 5 * D + k * H, anonymous_id="dev-items", user_id="ITEMS", type="product_view",
              product_id="SKU-102")
    _summary, audit, _out = replay_scenario(s, tmp_path)
    assert _proposed(audit, "crm:ITEMS", "browse_promo") == []
    assert _latest_snapshot(tmp_path / "out", "crm:ITEMS")["orders_90d"] == 1
