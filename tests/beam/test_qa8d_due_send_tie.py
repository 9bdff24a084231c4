"""An opt-out with the same event time as a due send (the cart reminder an hour after the cart), arriving while
the watermark stands exactly at that time plus the allowed lateness: by Beam's rule the record is on time (an
element is late only when its timestamp + allowed lateness is *behind* the watermark), so it must be processed with
the reminder's moment, opt-out first (the tie rule), as the replay does: the reminder is suppressed (``consent``).
The flush timer used to fire when the watermark *reached* its time, so the reminder went out and the opt-out was a
``late_event``."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered

from test_qa8d_late_status import _revoke
from test_streaming_state import CONFIG, HOUR, T, bounded, history, settle


@pytest.mark.parametrize("kind", ["consent", "engagement"])
@pytest.mark.parametrize("lateness", [0, 30_000])
def test_an_opt_out_at_the_due_time_of_a_send_arriving_on_time_stops_it(kind, lateness):
    events = history("crm:C2", ordered_at=None)  # cart at T: the email reminder is due at T + 1 h
    opt_out = _revoke(kind, T + HOUR)
    expected = bounded(events + [opt_out])
    ts = TestStream().add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in events if ev.ts <= T])
    ts = ts.advance_watermark_to((T + HOUR + lateness) / 1000)  # on time: not behind the watermark + lateness
    ts = ts.add_elements([TimestampedValue((opt_out.ids[0], opt_out), opt_out.ts / 1000)])
    ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in events if ev.ts > T])
    ts = settle(ts, T + 5 * HOUR)
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG, allowed_lateness_ms=lateness)
        assert_that(out[ss.DEAD], equal_to([]), label="not_late")
        assert_that(out[ss.DECISIONS] | beam.Filter(lambda d: d.decided_at == T + HOUR)
                    | beam.Map(lambda d: (d.action, d.reason_codes)), equal_to([("suppress", ("consent",))]),
                    label="reminder_suppressed")
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(expected), label="replay")
