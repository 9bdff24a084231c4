"""A consent or deliverability record that reaches its customer later than the allowed lateness (streaming): the
record is still a ``late_event`` dead letter (no journey runs on it), but its opt-out must not be lost — the
customer's later decisions are the replay's, where the record was applied at its own event time (fail safe: never a
message to a channel the customer opted out of, at any arrival order)."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from journeyflow.model.events import Event
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered

from test_streaming_state import CONFIG, MIN, T, bounded, e, history, settle


def _history() -> list[Event]:
    """``history`` (cart at T, no order: the cart journey's email reminder at T + 1 h) and a page view at T + 20 min,
    which moves the customer's processed horizon past the late record's time."""
    return history("crm:C2", ordered_at=None) + [e("web/C2-view", "web", "page_view", T + 20 * MIN, "crm:C2")]


def _revoke(kind: str, at: int, cid: str = "crm:C2") -> Event:
    """A channel opt-out by customer id only (no address named: it changes channel consent, not an address)."""
    if kind == "consent":
        return Event("consent/late-1", "consent", "consent_revoked", at, (cid,),
                     {"channel": "email", "status": "revoked"}, {})
    return Event("engagement/late-1", "engagement", "unsubscribed", at, (cid,), {"channel": "email"}, {})


def _stream(events: list[Event], late: Event, watermark_at: int) -> TestStream:
    ts = TestStream().add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in events
                                    if ev.ts < watermark_at])
    ts = ts.advance_watermark_to(watermark_at / 1000)
    ts = ts.add_elements([TimestampedValue((late.ids[0], late), late.ts / 1000)])
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in events if ev.ts >= watermark_at])
    return settle(ts, max(ev.ts for ev in events))


ARRIVAL = T + 30 * MIN  # the watermark when the late record arrives (the email reminder is due at T + 1 h)


def _sent(d) -> list[tuple[str, str]]:
    """Sends decided after the late record arrived."""
    return [(d.step_id, d.channel)] if d.action == "send" and d.decided_at > ARRIVAL else []


@pytest.mark.parametrize("kind", ["consent", "engagement"])
def test_a_late_opt_out_still_stops_later_sends(kind):
    events = _history()
    late = _revoke(kind, T + 10 * MIN)
    expected = bounded(events + [late])
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | _stream(events, late, ARRIVAL) | DecideOrdered(CONFIG)
        assert_that(out[ss.DEAD] | beam.Map(lambda d: (d.source, d.reason)),
                    equal_to([(late.uid, "late_event")]), label="late")
        assert_that(out[ss.DECISIONS] | beam.FlatMap(_sent), equal_to([]), label="no_email_after_opt_out")
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(expected), label="replay")


def test_a_late_grant_does_not_override_a_later_revoke():
    """Latest in event time wins: a grant dated before a revoke the customer already processed changes nothing."""
    events = _history() + [_revoke("consent", T + 5 * MIN)]
    late = Event("consent/late-grant", "consent", "consent_granted", T + 2 * MIN, ("crm:C2",),
                 {"channel": "email", "status": "granted"}, {})
    expected = bounded(events + [late])
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | _stream(events, late, ARRIVAL) | DecideOrdered(CONFIG)
        assert_that(out[ss.DECISIONS] | beam.FlatMap(_sent), equal_to([]), label="still_revoked")
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(expected), label="replay")
