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


MISSPELT = """\
journeys:
  - id: j
    category: marketing
    priority: 100
    entry: {event: order_placed}
    exit: {event: order_cancelled, same_as_entry: %s}
    steps:
      - {id: s, send: {channel: email, content_id: x}}
"""


@pytest.mark.parametrize("field, message", [
    ("order_idd", r"j.yaml:6: journeys\[0\].exit.same_as_entry: unknown field 'order_idd' of event "
                  r"'order_cancelled' \(did you mean 'order_id'\?\)"),
    ("amount.value", r"j.yaml:6: .*'amount' of event 'order_cancelled' is a double, not an object"),
    ("ticket_id", r"j.yaml:6: .*unknown field 'ticket_id' of event 'order_cancelled'"),
])
def test_a_same_as_entry_field_the_events_do_not_have_is_refused_at_load_time(field, message):
    """A misspelt field would leave the exit open for good (the journey never ends on it), silently."""
    with pytest.raises(JourneyError, match=message):
        load_journeys_text(MISSPELT % field, "j.yaml")


def test_a_same_as_entry_field_must_also_be_one_of_the_entry_event():
    text = MISSPELT.replace("entry: {event: order_placed}", "entry: {event: ticket_opened}") % "order_id"
    with pytest.raises(JourneyError, match=r"j.yaml:6: .*unknown field 'order_id' of event 'ticket_opened'.*"
                                           r"\(the entry event\)"):
        load_journeys_text(text, "j.yaml")


def test_same_as_entry_into_open_properties_and_wait_until_fields_are_accepted():
    ok = MISSPELT % "properties.plan"
    assert load_journeys_text(ok, "j.yaml")[0].exit[0].same == ("properties.plan",)
    wait = ok.replace("      - {id: s,", "      - {id: w, wait: {until: payment_failed, same_as_entry: order_idd, "
                                        "timeout: 2d, on_event: s, on_timeout: s}}\n      - {id: s,")
    with pytest.raises(JourneyError, match=r"steps\[0\].wait.same_as_entry: unknown field 'order_idd'"):
        load_journeys_text(wait, "j.yaml")
