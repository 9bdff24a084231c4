"""Two profiles, each reminded about its own order's failed payment, are found to be one person (qa14c).

``dunning`` has one membership per customer, and since qa13a a second order's ``payment_failed`` while it runs is
held and reminded when the first membership ends (``journeys.held``).  A merge kept the membership entered first
and dropped the other (``stages.state_merge.merge_membership``): the second order's failed payment was forgotten
-- no reminder, ever.  Now the membership given up is held the same way (``journeys.held.settle_merged``): it starts
when the kept one ends, unless an order was placed or that order cancelled meanwhile.  Replayed through the public
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
    for cid in ("TWO", "PAID", "SAMEORDER"):
        email = f"{cid.lower()}@example.com"
        s.add("crm", -30 * D, crm_id=cid, email=f"{cid.lower()}@work.example.com", type="contact_created",
              lifecycle_stage="customer", timezone="UTC")
        s.add("consent", -30 * D, crm_id=cid, channel="email", status="granted")
        # the CRM profile (work email) knows the first order; a guest checkout with the private email the second
        s.add("orders", td(0), crm_id=cid, order_id=f"{cid}-1", type="payment_failed", amount=20, currency="USD")
        second = f"{cid}-1" if cid == "SAMEORDER" else f"{cid}-2"
        s.add("orders", 1 * H, email=email, order_id=second, type="payment_failed", amount=30, currency="USD")
        s.add("crm", 2 * H, crm_id=cid, email=email, type="contact_updated")  # one person: the profiles merge
    s.add("orders", 30 * H, crm_id="PAID", order_id="PAID-3", type="order_placed", amount=50, currency="USD")
    _, _, out = replay_scenario(s, tmp_path_factory.mktemp("qa14c_merged_dunning"))
    return out


def _retry_emails(out, cid):
    """The orders of the payment_retry emails to the CRM profile (the merged customer), in decision order."""
    return [m["context"].get("order_id") for m in sorted(read_topic(out, "decisions-email"), key=lambda m: m["decided_at"])
            if m["customer_id"] == f"crm:{cid}" and m["content_id"] == "payment_retry"]


def test_the_second_orders_dunning_survives_the_merge_and_runs_after_the_first(replayed):
    assert _retry_emails(replayed, "TWO") == ["TWO-1", "TWO-2"]


def test_an_order_placed_meanwhile_ends_the_held_dunning_too(replayed):
    assert _retry_emails(replayed, "PAID") == ["PAID-1"]


def test_the_same_order_on_both_profiles_is_reminded_once(replayed):
    assert _retry_emails(replayed, "SAMEORDER") == ["SAMEORDER-1"]


def test_the_membership_given_up_is_reported(replayed):
    rows = query(replayed, "SELECT customer_id, kind, detail FROM journey_steps WHERE journey_id = 'dunning' "
                           "AND kind = 'exited' ORDER BY \"at\"").to_pylist()
    details = {(r["customer_id"], r["detail"]) for r in rows}
    assert ("crm:TWO", "merged:held") in details
    assert ("crm:SAMEORDER", "merged") in details


@pytest.fixture(scope="module")
def winback(tmp_path_factory):
    """A customer's order under the CRM profile, a later one as a guest (another email); the profiles merge."""
    s = Scenario()
    s.add("crm", -30 * D, crm_id="WB", email="wb@work.example.com", type="contact_created",
          lifecycle_stage="customer", timezone="UTC")
    s.add("consent", -30 * D, crm_id="WB", channel="email", status="granted")
    s.add("orders", td(0), crm_id="WB", order_id="WB-1", type="order_placed", amount=20, currency="USD")
    s.add("orders", 10 * D, email="wb@example.com", order_id="WB-2", type="order_placed", amount=20, currency="USD")
    s.add("crm", 11 * D, crm_id="WB", email="wb@example.com", type="contact_updated")
    _, audit, out = replay_scenario(s, tmp_path_factory.mktemp("qa14c_merged_winback"))
    return out


def test_winback_counts_30_days_from_the_later_order_of_either_profile(winback):
    """One profile with both orders: the later order ends the first win-back and starts one 30 days after it."""
    t0 = int(T0.timestamp() * 1000)
    sent = [(m["decided_at"] - t0) // 86_400_000 for m in read_topic(winback, "decisions-email")
            if m["content_id"] == "winback_offer"]
    assert sent == [40]
