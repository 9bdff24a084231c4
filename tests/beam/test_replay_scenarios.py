"""Default policy rules and identity, shown end to end through the bounded replay pipeline.

One replay runs every scenario (one customer per story); each test asserts on its customer's decisions.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from journeyflow.stages.parse import parse_ts
from tests.scenarios import Scenario, T0, decisions_of, read_topic, replay_with_test_journeys

H = td(hours=1)
D = td(days=1)


def build() -> Scenario:
    s = Scenario()
    # --- identity: cart on an anonymous device, login, order by email within the hour -> no cart reminder
    s.contact(-10 * D, "CID1", email="ida@example.com")
    s.add("web", td(0), anonymous_id="dev-id1", type="add_to_cart", product_id="SKU-1")
    s.add("web", 10 * td(minutes=1), anonymous_id="dev-id1", type="login", user_id="CID1")
    s.add("orders", 40 * td(minutes=1), email="IDA@example.com ", order_id="O-ID1", type="order_placed",
          product_ids=["SKU-1"], amount=20.0, currency="EUR")
    # --- the same story without the order -> the reminder is decided (the test above could fail)
    s.contact(-10 * D, "CID2", email="ivo@example.com")
    s.add("web", td(0), anonymous_id="dev-id2", type="add_to_cart", product_id="SKU-2")
    s.add("web", 10 * td(minutes=1), anonymous_id="dev-id2", type="login", user_id="CID2")
    # --- ticket opened by phone -> promo to the same person's email suppressed; resumes after resolution + grace
    s.contact(-10 * D, "CTK", email="tara@example.com", phone="+1 415-555-0101")
    s.add("web", -9 * D, anonymous_id="dev-tk", type="login", user_id="CTK")
    s.add("support", td(0), phone="(415) 555-0101", ticket_id="T-1", type="ticket_opened", severity="high")
    for i in range(3):
        s.add("web", (i + 1) * H, anonymous_id="dev-tk", type="product_view", product_id="SKU-9")
    s.add("support", 1 * D, phone="+14155550101", ticket_id="T-1", type="ticket_resolved", csat=4)
    for i in range(3):
        s.add("web", 16 * D + i * H, anonymous_id="dev-tk", type="product_view", product_id="SKU-8")
    # --- 5 marketing triggers in a day -> 1 marketing send
    s.contact(-10 * D, "CCAP", email="cap@example.com")
    s.add("web", -9 * D, anonymous_id="dev-cap", type="login", user_id="CCAP")
    for i in range(5):
        s.add("web", i * 2 * H, anonymous_id="dev-cap", type="page_view", product_id="FLASH")
    # --- 22:30 local in Tokyo -> deferred to 08:00 local
    s.contact(-10 * D, "CQH", email="kenji@example.jp", tz="Asia/Tokyo")
    s.add("web", -9 * D, anonymous_id="dev-qh", type="login", user_id="CQH")
    s.add("web", td(hours=3, minutes=30), anonymous_id="dev-qh", type="page_view", product_id="FLASH")  # 22:30 JST
    # --- promo vs cross-sell at the same moment -> one wins, the other lower_priority
    s.contact(-10 * D, "CXS", email="xs@example.com")
    s.add("orders", td(0), crm_id="CXS", order_id="O-XS", type="order_placed", product_ids=["SKU-5"], amount=5.0,
          currency="EUR")
    # --- unsubscribe through engagement feedback stops the next email
    s.contact(-10 * D, "CUN", email="uma@example.com")
    s.add("web", -9 * D, anonymous_id="dev-un", type="login", user_id="CUN")
    s.add("engagement", td(0), email="uma@example.com", channel="email", type="unsubscribed")
    s.add("web", 2 * H, anonymous_id="dev-un", type="page_view", product_id="FLASH")
    return s


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return replay_with_test_journeys(build(), tmp_path_factory.mktemp("scenarios"))


of = decisions_of


def candidates(decisions):
    for d in decisions:
        if d["journey_id"]:
            yield {**d, "reason": None}
        yield from ({**c, "decided_at": d["decided_at"]} for c in d["candidates"])


def test_accounting_reconciles(replay):
    summary, _audit, _out = replay
    assert summary.reconciles and summary.records_read == build().n == summary.events_decided
    assert sum(summary.dead_letters.values()) == 0


def test_anonymous_cart_then_login_then_order_by_email_gives_no_reminder(replay):
    _s, audit, _out = replay
    mine = of(audit, "crm:CID1") + of(audit, "anon:dev-id1")
    assert not [c for c in candidates(mine) if c["journey_id"] == "cart_abandonment"]
    other = of(audit, "crm:CID2")
    reminders = [c for c in candidates(other) if c.get("step_id") == "reminder_email"]
    assert reminders, "without the order the same story must produce a reminder decision"
    assert reminders[0]["decided_at"] == parse_ts(T0.isoformat()) + 3_600_000


def test_ticket_by_phone_suppresses_promo_to_email_until_resolved(replay):
    _s, audit, _out = replay
    promos = [c for c in candidates(of(audit, "crm:CTK")) if c["journey_id"] == "browse_offer"]
    assert promos[0]["reason"] == "open_ticket"
    assert promos[0]["decided_at"] < parse_ts(T0.isoformat()) + 86_400_000
    sent = [d for d in of(audit, "crm:CTK") if d["journey_id"] == "browse_offer" and d["action"] == "send"]
    assert sent and sent[0]["decided_at"] >= parse_ts(T0.isoformat()) + 16 * 86_400_000


def test_five_marketing_triggers_in_a_day_give_one_send(replay):
    _s, audit, _out = replay
    flash = [c for c in candidates(of(audit, "crm:CCAP")) if c["journey_id"] == "flash_promo"]
    assert len(flash) == 5
    assert sum(1 for c in flash if c["reason"] is None and c["action"] == "send") == 1
    assert sorted(c["reason"] for c in flash if c["reason"]) == ["frequency_cap"] * 4


def test_quiet_hours_defer_2230_tokyo_to_0800_local(replay):
    _s, audit, _out = replay
    mine = [d for d in of(audit, "crm:CQH") if d["journey_id"] == "flash_promo"]
    assert [d["action"] for d in mine] == ["wait", "send"]
    assert mine[0]["reason_codes"] == ["quiet_hours_deferred"]
    assert mine[1]["decided_at"] == parse_ts("2026-10-06T08:00:00+09:00")


def test_promo_vs_cross_sell_collision_one_wins_with_lower_priority(replay):
    _s, audit, _out = replay
    at = parse_ts(T0.isoformat()) + 3 * 86_400_000
    moment = [d for d in of(audit, "crm:CXS") if d["decided_at"] == at]
    sends = [d for d in moment if d["action"] == "send"]
    assert [d["journey_id"] for d in sends] == ["cross_sell"]
    assert [(c["journey_id"], c["reason"]) for c in sends[0]["candidates"]] == [("bundle_promo", "lower_priority")]


def test_unsubscribe_feedback_stops_the_next_email(replay):
    _s, audit, _out = replay
    flash = [c for c in candidates(of(audit, "crm:CUN")) if c["journey_id"] == "flash_promo"]
    assert [c["reason"] for c in flash] == ["consent"]


def test_channel_topic_carries_the_address_and_audit_does_not(replay):
    _s, audit, out = replay
    emails = read_topic(out, "decisions-email")
    assert emails and all(m["address"] and "@" in m["address"] for m in emails)
    assert all("address" not in d for d in audit)
    assert {m["decision_id"] for m in emails} <= {d["decision_id"] for d in audit}
