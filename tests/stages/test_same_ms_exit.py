"""QA (issue 17): an exit or goal event in the same millisecond as an entry.

Events of one millisecond are handled in a fixed order (status records, then by stream, then uid:
``Event.sort_key``), not in the order they happened, which is unknown.  A "buy now" click gives an ``add_to_cart``
(web) and an ``order_placed`` (orders) at one millisecond; orders sort first, so the cart journey was entered after
its own goal and the customer got a reminder about a cart just ordered (for another product than the order's the
policy's ``recent_purchase`` rule does not hide it).  An order and its cancellation at one millisecond (cancel
first by uid) started a cross-sell of a cancelled order.  Now an exit or goal of the journey among the events of the
entry's millisecond handled before it ends the new membership at once (fail safe), bounded and streaming; events of
one of the journey's own entry types do not (``winback``: every order ends one membership and starts the next).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.model.events import Event
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.beam.test_streaming_state import run_stream
from tests.stages.test_lifecycle import CONFIG, at, e, fold, outcomes, profile, steps_of, uid_in_arm


def buy_now(cid: str, order_delta_ms: int = 0) -> list[Event]:
    return profile(cid) + [
        e(uid_in_arm("cart_abandonment", f"web/{cid}-cart", False), "web", "add_to_cart", at(0, "12:00"), cid,
          product_id="SKU-1"),
        e(f"orders/{cid}-o", "orders", "order_placed", at(0, "12:00") + order_delta_ms, cid, order_id="O1",
          product_ids=["SKU-2"], amount=5.0)]


def test_an_order_in_the_millisecond_of_the_cart_add_is_the_carts_goal():
    out = fold(buy_now("crm:B1"), until=at(3, "00:00"))
    assert outcomes(out.decisions, "cart_abandonment") == []
    assert steps_of(out.steps, "cart_abandonment") == [
        (at(0, "12:00"), "entered", "wait_1h", "treatment"), (at(0, "12:00"), "exited", "wait_1h", "goal"),
        (at(0, "12:00"), "goal", "wait_1h", "order_placed")]
    # one millisecond earlier it came first (a known order): the cart journey runs, as before
    before = fold(buy_now("crm:B2", order_delta_ms=-1), until=at(3, "00:00"))
    assert [r[:3] for r in outcomes(before.decisions, "cart_abandonment")][0] == (
        at(0, "13:00"), "reminder_email", "send")


def test_the_same_in_streaming():
    events = buy_now("crm:B3")
    expected = [(d.journey_id, d.action) for d in fold(events, until=at(3, "00:00")).decisions
                if d.journey_id == "cart_abandonment"]
    assert expected == []
    ts, opts = run_stream(events, seed=2, jitter_ms=0)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        got = out[ss.DECISIONS] | beam.Filter(lambda d: d.journey_id == "cart_abandonment") | beam.Map(
            lambda d: (d.journey_id, d.action))
        assert_that(got, equal_to(expected))


def test_an_order_cancelled_in_its_own_millisecond_gets_no_cross_sell():
    cid = "crm:B4"
    evs = profile(cid) + [
        e(f"orders/{cid}-b-placed", "orders", "order_placed", at(0, "12:00"), cid, order_id="O9", product_ids=["P"]),
        e(f"orders/{cid}-a-cancel", "orders", "order_cancelled", at(0, "12:00"), cid, order_id="O9")]
    out = fold(evs, until=at(5, "00:00"))
    assert outcomes(out.decisions, "cross_sell") == []
    assert steps_of(out.steps, "cross_sell", ("exited",)) == [
        (at(0, "12:00"), "exited", "wait_3d", "exit_event:order_cancelled")]


def test_two_orders_in_one_millisecond_still_start_a_winback():
    cid = "crm:B5"
    evs = profile(cid) + [
        e(f"orders/{cid}-{o}", "orders", "order_placed", at(0, "12:00"), cid, order_id=o, product_ids=["P"])
        for o in ("O1", "O2")]
    out = fold(evs, until=at(32, "00:00"))
    assert [r[:3] for r in outcomes(out.decisions, "winback")] == [(at(30, "12:00"), "winback_email", "send")]
