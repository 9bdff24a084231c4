"""QA (issue 17, input 6's sibling): an exit or goal about *another* object than the one the membership entered on.

The default ``cross_sell`` (entered by order A) exited on any ``order_cancelled`` -- also the cancellation of an
older order B -- so the customer who kept A never got its cross-sell; ``dunning`` for a failed payment of A stopped
when another order was cancelled.  Now a trigger may name fields whose value must equal the entry event's
(``same_as_entry: order_id``); both default journeys use it for ``order_cancelled``.
"""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.engine import JourneyEngine
from journeyflow.stages.journeys.loader import load_journeys_text
from journeyflow.stages.state import CustomerState
from tests.stages.test_lifecycle import at, e, fold, outcomes, profile, steps_of


def order(cid: str, kind: str, ts: int, oid: str, **attrs) -> Event:
    return e(f"orders/{cid}-{kind}-{oid}", "orders", kind, ts, cid, order_id=oid, **attrs)


def test_cancelling_another_order_leaves_the_cross_sell_of_this_order_alone():
    cid = "crm:X1"
    evs = profile(cid) + [
        order(cid, "order_placed", at(-20, "12:00"), "B", product_ids=["SKU-B"], amount=9.0),
        order(cid, "order_placed", at(0, "12:00"), "A", product_ids=["SKU-A"], amount=30.0),
        order(cid, "order_cancelled", at(1, "12:00"), "B")]
    out = fold(evs, until=at(5, "00:00"))
    assert [r for r in outcomes(out.decisions, "cross_sell") if r[0] > at(0, "00:00")] == [
        (at(3, "12:00"), "cross_sell_email", "send", ("chosen",))]
    assert [s for s in steps_of(out.steps, "cross_sell", ("exited",)) if s[0] > at(0, "00:00")] == [
        (at(3, "12:00"), "exited", "cross_sell_email", "completed")]


def test_cancelling_the_entry_order_still_ends_the_cross_sell():
    cid = "crm:X2"
    evs = profile(cid) + [order(cid, "order_placed", at(0, "12:00"), "A", product_ids=["SKU-A"]),
                          order(cid, "order_cancelled", at(1, "12:00"), "A")]
    out = fold(evs, until=at(5, "00:00"))
    assert outcomes(out.decisions, "cross_sell") == []
    assert steps_of(out.steps, "cross_sell", ("exited",)) == [
        (at(1, "12:00"), "exited", "wait_3d", "exit_event:order_cancelled")]


def test_a_deferred_cross_sell_is_cancelled_by_its_own_order_only():
    """The send ran the journey to its end, deferred by quiet hours: the finished membership keeps the order id."""
    cid = "crm:X3"
    base = profile(cid) + [order(cid, "order_placed", at(-20, "12:00"), "B", product_ids=["SKU-B"]),
                           order(cid, "order_placed", at(0, "23:00"), "A", product_ids=["SKU-A"])]
    other = fold(base + [order(cid, "order_cancelled", at(4, "02:00"), "B")], until=at(5, "00:00"))
    assert [r for r in outcomes(other.decisions, "cross_sell") if r[0] > at(0, "00:00")] == [
        (at(3, "23:00"), "cross_sell_email", "wait", ("quiet_hours_deferred",)),
        (at(4, "08:00"), "cross_sell_email", "send", ("chosen",))]
    own = fold(base + [order(cid, "order_cancelled", at(4, "02:00"), "A")], until=at(5, "00:00"))
    assert [r for r in outcomes(own.decisions, "cross_sell") if r[0] > at(0, "00:00")] == [
        (at(3, "23:00"), "cross_sell_email", "wait", ("quiet_hours_deferred",)),
        (at(4, "02:00"), "cross_sell_email", "suppress", ("journey_exited",))]


def test_dunning_goes_on_when_another_order_is_cancelled():
    cid = "crm:X4"
    base = profile(cid) + [order(cid, "order_placed", at(-2, "12:00"), "B", product_ids=["SKU-B"]),
                           order(cid, "payment_failed", at(0, "12:00"), "A", amount=50.0)]
    other = fold(base + [order(cid, "order_cancelled", at(0, "14:00"), "B")], until=at(2, "00:00"))
    assert [(r[0], r[1], r[2]) for r in outcomes(other.decisions, "dunning")] == [
        (at(0, "12:00"), "retry_email", "send"), (at(1, "12:00"), "retry_sms", "send")]
    own = fold(base + [order(cid, "order_cancelled", at(0, "14:00"), "A")], until=at(2, "00:00"))
    assert [(r[0], r[1], r[2]) for r in outcomes(own.decisions, "dunning")] == [
        (at(0, "12:00"), "retry_email", "send")]


JOURNEY = textwrap.dedent("""\
    journeys:
      - id: subscription_upsell
        category: marketing
        priority: 100
        entry: {event: Subscription Started, stream: track}
        exit: {event: Subscription Cancelled, stream: track, same_as_entry: [properties.subscriptionId]}
        goal: {event: Plan Upgraded, stream: track, same_as_entry: properties.subscriptionId}
        reentry: {mode: always}
        steps:
          - {id: w, wait: 2d}
          - {id: s, send: {channel: email, content_id: upsell}}
    """)


def _track(name: str, ts: int, sub: str | None) -> Event:
    return Event(f"track/{name}-{ts}", "track", name, ts, ("crm:u",), {"properties": {"subscriptionId": sub}
                                                                         if sub else {}})


def test_a_custom_journey_names_a_property_of_its_events():
    engine = JourneyEngine(load_journeys_text(JOURNEY, "j.yaml"))

    def run(*events: Event) -> list[tuple[str, str]]:
        s = CustomerState(customer_id="crm:u")
        steps = []
        for ev in events:
            steps += engine.on_event(s, ev, "crm:u").steps
        return [(st.kind, st.detail) for st in steps if st.kind in ("exited", "goal")]

    start = _track("Subscription Started", 1000, "S1")
    assert run(start, _track("Subscription Cancelled", 2000, "S2"), _track("Plan Upgraded", 3000, "S3")) == []
    assert run(start, _track("Subscription Cancelled", 2000, "S1")) == [
        ("exited", "exit_event:Subscription Cancelled")]
    assert run(start, _track("Plan Upgraded", 2000, "S1")) == [("goal", "Plan Upgraded"), ("exited", "goal")]
    # an entry event without the field leaves the exit open (fail safe: the journey ends)
    assert run(_track("Subscription Started", 1000, None), _track("Subscription Cancelled", 2000, "S2")) == [
        ("exited", "exit_event:Subscription Cancelled")]


@pytest.mark.parametrize("bad", [
    "entry: {event: Subscription Started, stream: track, same_as_entry: order_id}",
    "exit: {event: Subscription Cancelled, stream: track, same_as_entry: 'a.b.c'}",
    "exit: {event: Subscription Cancelled, stream: track, same_as_entry: []}",
])
def test_same_as_entry_is_for_exits_and_goals_with_a_field_path(bad):
    key = bad.split(":")[0]
    lines = [ln for ln in JOURNEY.splitlines() if not ln.strip().startswith(key + ":")]
    text = "\n".join(lines[:5] + ["    " + bad] + lines[5:]) + "\n"
    with pytest.raises(JourneyError, match=r"j.yaml:6: "):
        load_journeys_text(text, "j.yaml")
