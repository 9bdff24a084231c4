"""What the default journeys decide on further practitioner cases, kept as rules (qa13a; README "Journey
lifecycle", "What the default journeys decide"): a holdout member stays in the holdout when the cart journey is
entered again after its cooldown; an order cancelled after it ended a cart reminder leaves the reminder ended (its
goal counted) while the cross-sell of that order ends; a welcome member who left by the audience re-check does not
enter again.
Replayed through the public replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.analytics.query import query
from tests.scenarios import Scenario, decisions_of, event_id_in_arm, replay_scenario

M, H, D = td(minutes=1), td(hours=1), td(days=1)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    s = Scenario()

    def order(at, cid, oid, t="order_placed", p="MUG"):
        s.add("orders", at, crm_id=cid, order_id=oid, type=t, product_ids=[p], amount=12, currency="USD")

    s.contact(-60 * D, "ARM", email="arm@example.com", phone="+14155550134", consent=("email", "sms"))
    s.add("web", td(0), anonymous_id="d-arm", user_id="ARM", type="add_to_cart", product_id="SOFA",
          event_id=event_id_in_arm("cart_abandonment", "arm-a", control=True))
    s.add("web", 9 * D, anonymous_id="d-arm", user_id="ARM", type="add_to_cart", product_id="SOFA",  # after 7d
          event_id=event_id_in_arm("cart_abandonment", "arm-b", control=False))     # (a fresh draw: treatment)
    s.contact(-60 * D, "CANC", email="canc@example.com", phone="+14155550136", consent=("email", "sms"))
    s.add("web", td(0), anonymous_id="d-canc", user_id="CANC", type="add_to_cart", product_id="SOFA",
          event_id=event_id_in_arm("cart_abandonment", "canc", control=False))
    order(20 * M, "CANC", "C-1", p="SOFA")
    order(40 * M, "CANC", "C-1", "order_cancelled", p="SOFA")
    s.add("crm", td(0), crm_id="BACK", email="back@example.com", type="contact_created", lifecycle_stage="lead")
    s.add("consent", td(seconds=1), crm_id="BACK", channel="email", status="granted")
    s.add("crm", 5 * M, crm_id="BACK", type="lifecycle_changed", lifecycle_stage="customer")
    s.add("crm", 2 * H, crm_id="BACK", type="lifecycle_changed", lifecycle_stage="lead")  # a CRM correction
    s.add("web", 3 * H, anonymous_id="d-back", user_id="BACK", type="signup", email="back@example.com")
    _, audit, out = replay_scenario(s, tmp_path_factory.mktemp("qa13a_rules"))
    return audit, out


def _steps(out, cid, journey):
    return [(r["kind"], r["detail"]) for r in query(
        out, f"SELECT kind, detail FROM journey_steps WHERE customer_id = 'crm:{cid}' AND journey_id = '{journey}' "
             "ORDER BY \"at\"").to_pylist()]


def test_a_holdout_member_stays_in_the_holdout_on_reentry(replayed):
    _, out = replayed
    assert [d for k, d in _steps(out, "ARM", "cart_abandonment") if k == "entered"] == ["control", "control"]


def test_an_order_cancelled_after_ending_a_cart_reminder_leaves_it_ended(replayed):
    audit, out = replayed
    cart = _steps(out, "CANC", "cart_abandonment")
    assert ("goal", "order_placed") in cart and ("exited", "goal") in cart
    assert ("exited", "exit_event:order_cancelled") in _steps(out, "CANC", "cross_sell")
    assert [d["content_id"] for d in decisions_of(audit, "crm:CANC")
            if d["action"] == "send" and d["journey_id"] in ("cart_abandonment", "cross_sell")] == []


def test_a_welcome_member_who_left_by_the_audience_check_does_not_enter_again(replayed):
    _, out = replayed
    assert _steps(out, "BACK", "welcome")[-2:] == [("exited", "audience"), ("entry_refused", "reentry:never")]

