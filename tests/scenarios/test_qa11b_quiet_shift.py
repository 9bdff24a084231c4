"""A send deferred by quiet hours moves the journey's next wait with it (qa11b, a practitioner's scenarios).

"Email, wait 23h, SMS" means the SMS 23 hours after the email.  When quiet hours deferred the email to 08:00, the
wait was still counted from the proposal: a cart reminder proposed at 21:30 went out at 08:00 and its SMS at 20:30
the same day, 12.5 hours later; and the dunning call's 48 hours for the payment to fail again ran from the night the SMS was due, not from the 08:00 it
went out, so a failure 40 hours after the SMS got no call.  Now the wait starts when the deferred send is due
(``journeys.deferral``).  Replayed through the public replay API with the default journeys and policy.
"""
from __future__ import annotations

from datetime import datetime, timedelta as td, timezone
from zoneinfo import ZoneInfo

import pytest

from journeyflow.stages.journeys import control_bucket
from tests.scenarios import Scenario, decisions_of, replay_scenario

H, D, M = td(hours=1), td(days=1), td(minutes=1)
LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")


def _local(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).astimezone(zone)


def _in_arm(prefix: str, control: bool) -> str:
    """An event id whose ``cart_abandonment`` draw (journey id and event uid ``web/<id>``) gives the wanted arm."""
    return next(f"{prefix}-{i}" for i in range(10_000)
                if (control_bucket("cart_abandonment", f"web/{prefix}-{i}") < 1000) == control)


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    s = Scenario()
    # cart added at 20:30 BST (19:30 UTC): the email (due 21:30) waits for 08:00
    s.contact(-30 * D, "CART", email="cart@example.com", phone="+447911123456", tz="Europe/London",
              consent=("email", "sms"))
    s.add("web", 9 * H + 30 * M, anonymous_id="dev-cart", user_id="CART", type="add_to_cart", product_id="SOFA",
          event_id=_in_arm("cart-t", control=False))
    # the same cart in the holdout (10 %): its reminders are recorded, never sent, on the same timeline
    s.contact(-30 * D, "HOLD", email="hold@example.com", phone="+447911123457", tz="Europe/London",
              consent=("email", "sms"))
    s.add("web", 9 * H + 30 * M, anonymous_id="dev-hold", user_id="HOLD", type="add_to_cart", product_id="SOFA",
          event_id=_in_arm("cart-c", control=True))
    # payment failed at 22:00 EDT (02:00 UTC next day): the email at once, the SMS due 22:00 the next evening waits
    # for 08:00; the payment fails again 40 h after the SMS went out, within the journey's 48 h: the call is made
    s.contact(-30 * D, "DUN", email="dun@example.com", phone="+12125550143", tz="America/New_York",
              consent=("email", "sms"))
    s.add("orders", 16 * H, crm_id="DUN", order_id="SUB-9", type="payment_failed", product_ids=["PLAN"],
          amount=20, currency="USD")
    sms_out = datetime(2026, 10, 7, 8, 0, tzinfo=NEW_YORK)  # 22:00 EDT on the 6th + 24 h -> deferred to 08:00
    s.add("orders", sms_out + 40 * H, crm_id="DUN", order_id="SUB-9", type="payment_failed", product_ids=["PLAN"],
          amount=20, currency="USD")
    _, audit, out = replay_scenario(s, tmp_path_factory.mktemp("qa11b_quiet_shift"))
    return audit, out


@pytest.fixture(scope="module")
def audit(replay):
    return replay[0]


def _sent(audit, cid, journey):
    return [d for d in decisions_of(audit, f"crm:{cid}") if d["action"] == "send" and d["journey_id"] == journey]


def test_the_cart_sms_comes_23_hours_after_the_deferred_email(audit):
    email, sms = _sent(audit, "CART", "cart_abandonment")
    assert (email["channel"], sms["channel"]) == ("email", "sms")
    assert _local(email["decided_at"], LONDON).hour == 8
    assert sms["decided_at"] - email["decided_at"] >= 23 * 3_600_000
    assert 8 <= _local(sms["decided_at"], LONDON).hour < 21


def test_the_payment_call_window_counts_from_the_deferred_sms(audit):
    sends = _sent(audit, "DUN", "dunning")
    assert [d["channel"] for d in sends] == ["email", "sms", "call"]
    assert _local(sends[1]["decided_at"], NEW_YORK).hour == 8


def test_the_holdout_keeps_the_treatment_timeline(replay):
    """The wait moves by quiet hours alone, not by what arbitration then decides (a holdout's send is recorded at
    once, never deferred): both arms reach the SMS step at the same time, so the arms stay comparable."""
    import pyarrow.dataset as ds

    _, out = replay
    rows = ds.dataset(str(out / "tables" / "journey_steps"), format="parquet", partitioning="hive").to_table()
    at = {r["customer_id"]: r["at"] for r in rows.to_pylist()
          if r["journey_id"] == "cart_abandonment" and r["step_id"] == "reminder_sms" and r["kind"] == "step"}
    assert set(at) == {"crm:CART", "crm:HOLD"} and at["crm:CART"] == at["crm:HOLD"]
    assert [d["reason_codes"] for d in decisions_of(replay[0], "crm:HOLD")
            if d["journey_id"] is None and d["candidates"]][-2:] == [["control_group"]] * 2


#: A promo whose 1-hour wait after a send fits its 2-hour ``max_duration``, until quiet hours move the wait past it
TIGHT_PROMO = """
  - id: tight_promo
    category: marketing
    priority: 350
    exclusion_group: promo
    entry: {event: page_view, stream: web, when: "has(event.product_id) && event.product_id == 'TIGHT'"}
    reentry: {mode: always}
    max_duration: 2h
    steps:
      - {id: promo, send: {channel: email, content_id: tight_promo}}
      - {id: pause, wait: 1h}
      - {id: follow_up, send: {channel: push, content_id: tight_follow_up}}
"""


def test_a_membership_whose_wait_quiet_hours_moved_still_ends_at_its_max_duration(tmp_path):
    """The promo entered at 22:00 (UTC profile) has its wait moved to 09:00 by the deferred email; past its 2 h
    ``max_duration`` (midnight) it no longer holds its exclusion group, so the browse offer at 03:00 enters (before:
    refused, ``exclusion_group:promo:tight_promo``, until the moved timer found the membership overdue at 09:00)."""
    from journeyflow.config.engine import default_text

    s = Scenario()
    s.contact(-30 * D, "TIGHT", email="tight@example.com")
    s.add("web", 12 * H, anonymous_id="dev-tight", user_id="TIGHT", type="page_view", product_id="TIGHT")
    for i in range(3):
        s.add("web", 17 * H + i * M, anonymous_id="dev-tight", user_id="TIGHT", type="product_view", product_id="LAMP")
    journeys = default_text("journeys.yaml").rstrip() + "\n" + TIGHT_PROMO
    _, audit, out = replay_scenario(s, tmp_path, journeys)
    import pyarrow.dataset as ds

    rows = ds.dataset(str(out / "tables" / "journey_steps"), format="parquet", partitioning="hive").to_table()
    browse = [(r["kind"], r["detail"]) for r in rows.to_pylist() if r["journey_id"] == "browse_offer"]
    assert ("entered", "treatment") in browse and not [d for k, d in browse if k == "entry_refused"]
    tight = [r["detail"] for r in rows.to_pylist() if r["journey_id"] == "tight_promo" and r["kind"] == "exited"]
    assert tight == ["max_duration"]
