"""The DirectRunner's fired-timer scan without keys that hold no timer (journeyflow.tools.direct_runner_timers): the
same timers fire, at the same times, also for keys whose timer was cleared or re-armed."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue

from journeyflow.tools.direct_runner_timers import skip_keys_without_timers


class _EchoLater(beam.DoFn):
    """Keys "t*" arm a timer 10 s after their element and fire twice (re-armed once); keys "n*" only keep state."""

    SEEN = ReadModifyWriteStateSpec("seen", VarIntCoder())
    LATER = TimerSpec("later", TimeDomain.WATERMARK)

    def process(self, kv, ts=beam.DoFn.TimestampParam, seen=beam.DoFn.StateParam(SEEN),
                later=beam.DoFn.TimerParam(LATER)):
        key, n = kv
        seen.write(n)
        if key.startswith("t"):
            later.set(ts + 10)

    @on_timer(LATER)
    def fired(self, key=beam.DoFn.KeyParam, ts=beam.DoFn.TimestampParam, seen=beam.DoFn.StateParam(SEEN),
              later=beam.DoFn.TimerParam(LATER)):
        n = seen.read()
        yield key, int(ts.micros // 1_000_000), n
        if n < 100:
            seen.write(n + 100)
            later.set(ts + 5)


def test_timers_fire_as_without_the_patch():
    assert skip_keys_without_timers()
    assert skip_keys_without_timers()  # idempotent
    stream = TestStream()
    for t in range(0, 40, 4):
        stream = stream.add_elements([TimestampedValue((f"t{t}", t), t), TimestampedValue((f"n{t}", t), t)])
        stream = stream.advance_watermark_to(t + 1)
    stream = stream.advance_watermark_to(200).advance_watermark_to_infinity()
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True)
    with beam.Pipeline(options=opts) as p:
        out = p | stream | beam.ParDo(_EchoLater())
        expected = [(f"t{t}", t + 10, t) for t in range(0, 40, 4)] + \
                   [(f"t{t}", t + 15, t + 100) for t in range(0, 40, 4)]
        assert_that(out, equal_to(expected))
