"""A second order's failed payment during an active dunning is not lost (qa13a, a lifecycle practitioner's
scenarios, round 4).

``dunning`` has one membership per customer: another order's ``payment_failed`` while it ran started nothing and was
forgotten, so a customer with two unpaid orders was reminded about one only -- and when that one was cancelled, about
none.  Now an entry into a ``reentry: always`` journey whose ends are about the entry's object (``same_as_entry``)
that comes for another object while the journey is active is held (at most a few, in the membership record) and
starts when the active membership ends, unless the journey's exits or goals ended it meanwhile (any order placed,
or the cancellation of that order) or it is older than the journey's ``max_duration``.  Replayed through the public
replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.analytics.query import query
from tests.scenarios import T0, Scenario, read_topic, replay_scenario

H, D = td(hours=1), td(days=1)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s = Scenario()

    def order(at, cid, oid, t):
        s.add("orders", at, crm_id=cid, order_id=oid, type=t, product_ids=["PLAN"], amount=20, currency="USD")

    for cid in ("CANCELS", "WAITS", "PAYS", "DROPS", "SAME"):
        s.contact(-30 * D, cid, email=f"{cid.lower()}@example.com", phone="+14155550134", consent=("email", "sms"))
        order(td(0), cid, f"{cid}-1", "payment_failed")
    order(2 * H, "CANCELS", "CANCELS-2", "payment_failed")  # the first order is cancelled: the second is reminded
    order(3 * H, "CANCELS", "CANCELS-1", "order_cancelled")
    order(2 * H, "WAITS", "WAITS-2", "payment_failed")      # the first order's dunning runs to its end first
    order(2 * H, "PAYS", "PAYS-2", "payment_failed")        # a new order: paid after all (any order ends dunning)
    s.add("orders", 5 * H, crm_id="PAYS", order_id="PAYS-3", type="order_placed", product_ids=["PLAN"], amount=20,
          currency="USD")
    order(2 * H, "DROPS", "DROPS-2", "payment_failed")      # the second order is cancelled while it is held
    order(4 * H, "DROPS", "DROPS-2", "order_cancelled")
    order(2 * H, "SAME", "SAME-1", "payment_failed")        # the same order failing again: nothing new
    _, _, out = replay_scenario(s, tmp_path_factory.mktemp("qa13a_dunning"))
    return out


def _retry_emails(out, cid):
    """(hours after T0, order) of the payment_retry emails sent to ``cid``."""
    t0 = int(T0.timestamp() * 1000)
    return [((m["decided_at"] - t0) // 3_600_000, m["context"]["order_id"]) for m in read_topic(out, "decisions-email")
            if m["customer_id"] == f"crm:{cid}" and m["content_id"] == "payment_retry"]


def test_the_second_order_is_reminded_when_the_first_is_cancelled(replayed):
    assert _retry_emails(replayed, "CANCELS") == [(0, "CANCELS-1"), (3, "CANCELS-2")]


def test_the_second_order_is_reminded_after_the_first_orders_dunning_ended(replayed):
    emails = _retry_emails(replayed, "WAITS")
    assert [o for _, o in emails] == ["WAITS-1", "WAITS-2"]
    assert emails[1][0] >= 72  # the first membership: email, SMS 24 h later, 48 h for the payment to fail again


@pytest.mark.parametrize("cid", ["PAYS", "DROPS", "SAME"])
def test_a_held_entry_ended_meanwhile_or_about_the_same_order_starts_nothing(replayed, cid):
    assert [o for _, o in _retry_emails(replayed, cid)] == [f"{cid}-1"]


def test_the_held_entry_is_visible_in_journey_steps(replayed):
    rows = query(replayed, "SELECT kind, detail FROM journey_steps WHERE customer_id = 'crm:CANCELS' "
                           "AND journey_id = 'dunning' ORDER BY \"at\"").to_pylist()
    kinds = [(r["kind"], r["detail"]) for r in rows]
    assert ("entry_refused", "held") in kinds
    assert [k for k, _ in kinds].count("entered") == 2


def test_an_entry_after_max_duration_still_ends_the_overdue_membership_and_enters():
    """The entry path that ends an active membership past its ``max_duration`` (one the overrun check does not
    cover: a record from before its journey's ``max_duration`` was shortened) then enters anew, held entries or not."""
    from journeyflow.model.events import Event
    from journeyflow.stages.journeys import JourneyEngine, load_journeys_text
    from journeyflow.stages.state import CustomerState

    (j,) = load_journeys_text("""
version: 1
journeys:
  - id: pay
    category: transactional
    priority: 800
    entry: {event: payment_failed, stream: orders}
    exit: [{event: order_cancelled, same_as_entry: order_id}]
    reentry: {mode: always}
    max_duration: 1h
    steps: [{id: w, wait: 1h}, {id: s, send: {channel: email, content_id: c}}]
""", "<t>")
    engine, state = JourneyEngine([j]), CustomerState(customer_id="crm:C1")
    state.journeys["pay"] = {"step": "w", "entered": 0, "since": 0, "trigger": "orders/old", "entries": [0],
                             "group": None, "goal": None, "r": {"order_id": "A"}}
    ev = Event("orders/new", "orders", "payment_failed", 3 * 3_600_000, ("crm:C1",), {"order_id": "B"}, {})
    out = engine.on_event(state, ev, "crm:C1")
    assert [(s.kind, s.detail) for s in out.steps][:2] == [("exited", "max_duration"), ("entered", "treatment")]
    assert state.journeys["pay"]["r"] == {"order_id": "B"}
