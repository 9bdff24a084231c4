"""A wait-until event in the entry's millisecond (qa8c).  Events of one millisecond are handled in a fixed order
(``Event.sort_key``: by stream, then uid), not in the order they happened; an exit or goal handled before the entry
already ends the new membership (``matching._moment_ending``).  A wait-until event handled before the entry was
missed: "Quote Accepted" with the same timestamp as "Quote Requested" resumed the wait or not depending on the two
messageIds, and the customer who had accepted got the "you have not accepted yet" nudge a day later.  Now the
membership that reaches the wait in that millisecond resumes on it (``on_event``), whatever the uids."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.events import Event
from tests.stages.test_lifecycle import at, fold, profile

JOURNEYS = textwrap.dedent("""\
    version: 1
    journeys:
      - id: quote
        category: sales
        priority: 500
        entry: {event: Quote Requested, stream: track}
        steps:
          - id: w
            wait: {until: Quote Accepted, stream: track, timeout: 1d, on_event: thanks, on_timeout: nudge}
          - {id: nudge, send: {channel: email, content_id: quote_nudge}, next: done}
          - {id: thanks, send: {channel: email, content_id: quote_thanks}}
          - {id: done, exit: true}
    """)
CONFIG = EngineConfig(JOURNEYS, "<quote>", default_text("policy.yaml"), "<policy>")


def _track(uid: str, name: str, ts: int) -> Event:
    return Event(uid, "track", name, ts, ("crm:C1",), {"properties": {}}, {})


@pytest.mark.parametrize("requested_uid, accepted_uid", [("track/a", "track/b"), ("track/b", "track/a")])
def test_an_until_event_of_the_entry_millisecond_resumes_the_wait_whatever_the_uids(requested_uid, accepted_uid):
    evs = profile() + [_track(requested_uid, "Quote Requested", at(0, "10:00")),
                       _track(accepted_uid, "Quote Accepted", at(0, "10:00"))]
    out = fold(evs, config=CONFIG)
    sends = [(d.step_id, d.decided_at) for d in out.decisions if d.journey_id == "quote" and d.action == "send"]
    assert sends == [("thanks", at(0, "10:00"))]
    assert any(s.kind == "step" and s.detail == "resume:event:Quote Accepted" for s in out.steps)


def test_an_until_event_a_millisecond_before_the_entry_does_not_count():
    evs = profile() + [_track("track/b", "Quote Accepted", at(0, "10:00") - 1),
                       _track("track/a", "Quote Requested", at(0, "10:00"))]
    out = fold(evs, config=CONFIG)
    sends = [d.step_id for d in out.decisions if d.journey_id == "quote" and d.action == "send"]
    assert sends == ["nudge"]
