"""The DirectRunner's timer index and state copy (journeyflow.tools.direct_runner_timers): the same timers fire, at the
same times, also for keys whose timer was cleared or re-armed; the index finds exactly what Beam's full scan finds."""
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


def _fields(firing):
    return (firing.encoded_key, firing.window, firing.name, firing.time_domain, firing.timestamp,
            firing.dynamic_timer_tag)


def test_index_finds_what_the_full_scan_finds():
    """Random timer writes, clears and watermark moves, committed as the runner commits (a copy of the key's state,
    changed, assigned back): each scan of the index returns exactly the full scan's timers, in its order, and the
    same processing-time answer; the copies are independent of their source."""
    import random

    from apache_beam.runners.direct import watermark_manager as wm
    from apache_beam.runners.direct.evaluation_context import DirectUnmergedState
    from apache_beam.transforms.window import GlobalWindow, IntervalWindow
    from apache_beam.utils.timestamp import Timestamp

    from journeyflow.tools.direct_runner_timers import TimerIndexedStates

    assert skip_keys_without_timers()
    rnd = random.Random(7)

    class _Clock:
        def time(self):
            return Timestamp(50)

    states = TimerIndexedStates()
    tw = wm._TransformWatermarks(_Clock(), states, "step")
    windows = (GlobalWindow(), IntervalWindow(0, 10))
    for step in range(400):
        key = f"k{rnd.randrange(60)}".encode()
        if key not in states:
            states[key] = DirectUnmergedState()
        before = {w: dict(t) for w, t in states[key].timers.items()}
        state = states[key].copy()
        window = rnd.choice(windows)
        name = rnd.choice(("flush", "expiry"))
        if rnd.random() < 0.3:
            state.clear_timer(window, name, TimeDomain.WATERMARK)
        else:
            domain = TimeDomain.REAL_TIME if rnd.random() < 0.05 else TimeDomain.WATERMARK
            state.set_timer(window, name, domain, Timestamp(micros=rnd.randrange(0, 100_000_000)))
        assert {w: dict(t) for w, t in states[key].timers.items()} == before  # the copy changed, not its source
        states[key] = state
        if step % 5 == 0:
            tw._input_watermark = Timestamp(micros=step * 200_000 + rnd.randrange(-5_000_000, 5_000_000))
            got, got_rt = tw.extract_transform_timers()
            want, want_rt = type(tw).extract_transform_timers.original(tw)
            assert ([_fields(f) for f in got], got_rt) == ([_fields(f) for f in want], want_rt)
            for firing in want[:len(want) // 2]:  # some fire (the runner clears them), the rest are found again
                fired = states[firing.encoded_key].copy()
                fired.clear_timer(firing.window, firing.name, firing.time_domain)
                states[firing.encoded_key] = fired
