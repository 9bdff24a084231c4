"""Frequency caps over a long window for a customer who also gets many uncapped messages (QA of issue 17's "every
window a policy names is backed by state"): the send history's length cap (50) must not push the capped sends out
while the cap still counts them.

Input: a B2B buyer who places three orders a day and gets a transactional order-update email for each (exempt from
caps, not counted), under a policy capping marketing email at 4 per 30 days; a flash promo page view every 4 days.
Before the fix the 60 order updates of 20 days pushed the first promos out of the 50 kept sends, and a 5th and 6th
promo went out within 30 days.
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR, CustomerState, Retention
from journeyflow.stages.state_bounds import cap, trim_sends
from tests.scenarios import FLASH_PROMO

D0 = parse_ts("2026-10-05T00:00:00+00:00")
CONTACT = {"email": "buyer@example.com"}

JOURNEYS = default_text("journeys.yaml").rstrip() + """
  - id: order_update
    category: transactional
    priority: 850
    entry: {event: order_placed, stream: orders}
    reentry: {mode: always}
    steps:
      - {id: update_email, send: {channel: email, content_id: order_update}}
""" + FLASH_PROMO
POLICY = default_text("policy.yaml").replace(
    """      email:
        - {max: 2, per: 24h}
        - {max: 5, per: 7d}""",
    """      email:
        - {max: 2, per: 24h}
        - {max: 4, per: 30d}""")


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:B1",), attrs, CONTACT)


def busy_buyer(days: int = 28) -> list[Event]:
    evs = [e("crm/c", "crm", "contact_created", D0 - 10 * DAY, timezone="UTC"),
           e("consent/e", "consent", "consent_granted", D0 - 10 * DAY + 1, channel="email", status="granted")]
    for d in range(days):
        for k, hour in enumerate((9, 12, 15)):
            evs.append(e(f"orders/o{d}-{k}", "orders", "order_placed", D0 + d * DAY + hour * HOUR,
                         order_id=f"O{d}-{k}", product_ids=[f"SKU-{d}-{k}"], amount=20.0))
        if d % 4 == 0:
            evs.append(e(f"web/flash{d}", "web", "page_view", D0 + d * DAY + 10 * HOUR, product_id="FLASH"))
    return sorted(evs, key=lambda x: x.sort_key)


def test_policy_caps_decide_how_many_sends_each_kind_keeps():
    config = EngineConfig(JOURNEYS, "<j>", POLICY, "<p>")
    r = config.build_processor().retention
    assert r.sends_ms == 30 * DAY and r.sends_per_kind == 7  # the 30-day window; the largest max (push: 7 per 7d)
    assert EngineConfig.from_files().build_processor().retention.sends_per_kind == 7  # push: 7 per 7 days


def test_a_30_day_marketing_cap_holds_under_many_uncapped_transactional_sends():
    config = EngineConfig(JOURNEYS, "<j>", POLICY, "<p>")
    out = ClusterFold(config.build_processor()).run([(ev, ()) for ev in busy_buyer()], END_OF_TIME)
    updates = [d for d in out.decisions if d.content_id == "order_update" and d.action == "send"]
    promos = [d for d in out.decisions if d.content_id == "flash_deal" and d.action == "send"]
    capped = [d for d in out.decisions if d.reason_codes == ("frequency_cap",)]
    assert len(updates) == 28 * 3  # transactional: never capped
    assert len(promos) == 4  # days 0, 4, 8, 12; the views of days 16, 20, 24 are within 30 days of all four
    assert len(capped) == 3
    for p in promos:  # at no time more than 4 promos within 30 days
        assert sum(1 for q in promos if p.decided_at - 30 * DAY < q.decided_at <= p.decided_at) <= 4
    state = next(iter(out.final_states.values()))
    assert len(state.sends) <= 50 + 7  # bounded: the newest 50, plus the capped kind's newest (at most 7)


def test_trim_keeps_the_newest_of_each_kind_and_the_newest_overall():
    sends = [[1, "email", "marketing", "a"], [2, "sms", "marketing", "b"], [3, "email", "marketing", "c"],
             [4, "email", "service", "d"], [5, "email", "service", "e"], [6, "email", "service", "f"]]
    # the newest 2 overall (e, f), and the newest 1 of each (channel, category): c, b (f already kept)
    assert trim_sends(sends, Retention(max_sends=2, sends_per_kind=1)) == [sends[1], sends[2], sends[4], sends[5]]
    assert trim_sends(sends, Retention(max_sends=2)) == sends[4:]  # no caps: the newest max_sends, as before
    assert trim_sends(sends, Retention(max_sends=6, sends_per_kind=1)) is sends  # under the bound: untouched
    s = CustomerState(sends=[list(x) for x in sends])
    cap(s, Retention(max_sends=2, sends_per_kind=1))  # the write-time cap and expire agree
    t = CustomerState(sends=[list(x) for x in sends])
    t.expire(6, Retention(max_sends=2, sends_per_kind=1))
    assert s.sends == t.sends == [sends[1], sends[2], sends[4], sends[5]]
