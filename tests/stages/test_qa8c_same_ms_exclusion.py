"""Two journeys of one exclusion group entered by two events of one millisecond (qa8c): the handling order of the
events (``Event.sort_key``: stream, then uid) is not the order they happened, so it must not pick the journey.
Before, the journey whose trigger's messageId sorted first got in and the other was refused
(``exclusion_group``): a priority-300 article promo beat the priority-400 coupon journey.  Now the higher priority
wins either way, as it does for candidates of one moment: a lower-priority membership entered earlier in the same
millisecond is ended (``exited``, its candidates dropped as ``journey_exited``) and the higher one enters."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from tests.stages.test_lifecycle import at, fold, profile

JOURNEYS = textwrap.dedent("""\
    version: 1
    journeys:
      - id: coupon
        category: marketing
        priority: 400
        exclusion_group: promo
        entry: {event: Coupon Viewed, stream: track}
        steps:
          - {id: s, send: {channel: email, content_id: coupon}}
          - {id: w, wait: 1d}
      - id: article
        category: marketing
        priority: 300
        exclusion_group: promo
        entry: {event: Article Read, stream: track}
        steps:
          - {id: s, send: {channel: email, content_id: article}}
          - {id: w, wait: 1d}
    """)
CONFIG = EngineConfig(JOURNEYS, "<j>", default_text("policy.yaml"), "<p>")


def _track(uid: str, name: str, ts: int) -> Event:
    return Event(uid, "track", name, ts, ("crm:C1",), {"properties": {}}, {})


@pytest.mark.parametrize("coupon_uid, article_uid", [("track/a", "track/b"), ("track/b", "track/a")])
def test_the_higher_priority_journey_of_the_group_wins_whatever_the_uids(coupon_uid, article_uid):
    evs = profile() + [_track(coupon_uid, "Coupon Viewed", at(0, "12:00")),
                       _track(article_uid, "Article Read", at(0, "12:00"))]
    out = fold(evs, config=CONFIG)
    sent = [d.content_id for d in out.decisions if d.action == "send" and d.decided_at == at(0, "12:00")]
    assert sent == ["coupon"]
    assert not any(d.journey_id == "article" and d.action == "send" for d in out.decisions)


def test_an_earlier_lower_priority_membership_still_excludes():
    evs = profile() + [_track("track/b", "Article Read", at(0, "12:00") - 1),
                       _track("track/a", "Coupon Viewed", at(0, "12:00"))]
    out = fold(evs, config=CONFIG)
    assert [d.content_id for d in out.decisions if d.action == "send"][-1:] == ["article"]
    assert any(s.kind == "entry_refused" and s.journey_id == "coupon" for s in out.steps)
