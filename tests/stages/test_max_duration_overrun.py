"""A membership whose waits outlast its ``max_duration`` ends when the duration has passed, not at its next timer
(QA of issue 17's "max_duration" way out): until then it would still be active, and its exclusion group would refuse
other journeys' entries.

Input: a promo series (exclusion group ``promo``, ``max_duration: 7d``, two 4-day waits) entered by a signup; the
default ``browse_offer`` (same group) triggered by a third view of a product 7 days and 2 hours later.  Before the
fix the offer was refused (``exclusion_group:promo:promo_series``) by a series that had ended two hours earlier.
"""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.parse import parse_ts
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.state import DAY, HOUR

D0 = parse_ts("2026-10-05T00:00:00+00:00")
SERIES = """
  - id: promo_series
    category: marketing
    priority: 320
    exclusion_group: promo
    entry: {event: signup, stream: web}
    reentry: {mode: never}
    max_duration: 7d
    steps:
      - {id: w1, wait: 4d}
      - {id: tip1, send: {channel: email, content_id: tip1}}
      - {id: w2, wait: 4d}
      - {id: tip2, send: {channel: email, content_id: tip2}}
"""
CONFIG = EngineConfig(default_text("journeys.yaml").rstrip() + SERIES, "<j>", default_text("policy.yaml"), "<p>")


def e(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:M1",), attrs, {"email": "m@example.com"})


def run(view_day_offset_ms: int):
    evs = [e("crm/c", "crm", "contact_created", D0 - 10 * DAY, timezone="UTC"),
           e("consent/e", "consent", "consent_granted", D0 - 10 * DAY + 1, channel="email", status="granted"),
           e("web/signup", "web", "signup", D0 + 10 * HOUR)]
    evs += [e(f"web/v{i}", "web", "product_view", D0 + 10 * HOUR + view_day_offset_ms + i * 60_000, product_id="P")
            for i in range(3)]
    return ClusterFold(CONFIG.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                     END_OF_TIME)


def test_an_exclusion_group_member_past_its_max_duration_no_longer_excludes():
    out = run(7 * DAY + 2 * HOUR)
    sent = sorted((d.decided_at - D0, d.content_id) for d in out.decisions if d.action == "send"
                  and d.journey_id in ("promo_series", "browse_offer"))
    assert sent == [(4 * DAY + 10 * HOUR, "tip1"), (7 * DAY + 12 * HOUR + 2 * 60_000, "browse_promo")]
    ends = [(s.at - D0, s.detail) for s in out.steps if s.journey_id == "promo_series" and s.kind == "exited"]
    assert ends == [(7 * DAY + 12 * HOUR, "max_duration")]  # at the first input after its 7 days, not at day 8
    assert not any(s.kind == "entry_refused" and s.journey_id == "browse_offer" for s in out.steps)


def test_within_its_max_duration_the_member_still_excludes():
    out = run(6 * DAY)
    assert [s.detail for s in out.steps if s.kind == "entry_refused" and s.journey_id == "browse_offer"] == [
        "exclusion_group:promo:promo_series"]
    assert [(s.at - D0, s.detail) for s in out.steps if s.journey_id == "promo_series" and s.kind == "exited"] == [
        (8 * DAY + 10 * HOUR, "max_duration")]  # its second wait's timer, past the 7 days: tip2 is never proposed


LOOP = """
  - id: nudge_loop
    category: marketing
    priority: 320
    exclusion_group: promo
    entry: {event: signup, stream: web}
    reentry: {mode: never}
    max_duration: 5d
    steps:
      - {id: w, wait: 2d}
      - {id: nudge, send: {channel: push, content_id: nudge}, next: w}
"""


def test_a_loop_through_a_wait_ends_at_its_max_duration_too():
    """Its waits add up to 2 days only, but the loop repeats them: at 5 days and 2 hours the membership is over."""
    config = EngineConfig(default_text("journeys.yaml").rstrip() + LOOP, "<j>", default_text("policy.yaml"), "<p>")
    evs = [e("crm/c", "crm", "contact_created", D0 - 10 * DAY, timezone="UTC"),
           e("consent/e", "consent", "consent_granted", D0 - 10 * DAY + 1, channel="email", status="granted"),
           e("web/signup", "web", "signup", D0 + 10 * HOUR)]
    evs += [e(f"web/v{i}", "web", "product_view", D0 + 5 * DAY + 12 * HOUR + i * 60_000, product_id="P")
            for i in range(3)]
    out = ClusterFold(config.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                    END_OF_TIME)
    assert [(s.at - D0, s.detail) for s in out.steps if s.journey_id == "nudge_loop" and s.kind == "exited"] == [
        (5 * DAY + 12 * HOUR, "max_duration")]
    assert [s.kind for s in out.steps if s.journey_id == "browse_offer"][:1] == ["entered"]
