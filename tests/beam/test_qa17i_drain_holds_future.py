"""qa17i: the end of the input (a drain: the watermark jumps to +infinity) decides only what is due up to the
processing time.  Before, every pending event-time timer fired: a cart at T drained at T + 30 min published its
one-hour reminder (decided_at T + 1 h) at once, and a customer's page view dated after the drain was processed too.
Now what is due after the processing time is held (counter ``decisions_held_at_drain``) for the next job started
with ``--resume``, whose rebuild decides it when it is due.  The processing time is a patched clock (events dated
"in the future" of the wall clock without depending on when the test runs)."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from journeyflow.stages.bounded import ClusterFold
from journeyflow.tools.bench_state import CellDriver
from journeyflow.transforms import decide_streaming as ds
from journeyflow.transforms import drain_hold
from journeyflow.transforms import handover
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.beam import test_perf10c_stream_firings as perf
from tests.beam.test_streaming_state import CONFIG, HOUR, MIN, T, history

LATENESS = perf.LATENESS
KEY = "crm:C1"
#: the cart at T (reminder due T + 1 h), its page view at T + 5 h
EVENTS = history(KEY, ordered_at=None)
REMINDER = ("cart_abandonment", "reminder_email")


def bounded_until(until: int) -> list[tuple]:
    """(decision id, decided_at) of the bounded fold of the events dated up to ``until``, decided up to it."""
    fold = ClusterFold(CONFIG.build_processor())
    out = fold.run([(ev, ()) for ev in sorted(EVENTS, key=lambda x: x.sort_key) if ev.ts <= until], until)
    return sorted((d.decision_id, d.decided_at) for d in out.decisions)


class _Decision:
    def __call__(self, d) -> None:
        perf._SEEN.setdefault("d", []).append((d.decision_id, d.decided_at, (d.journey_id, d.step_id)))


def _run(monkeypatch, clock, watermark_known: bool, snapshots: bool = False, hold_until_ms: int = 0):
    """``EVENTS`` through ``DecideOrdered`` on the tuned local runner, the input ending (+infinity) with the
    processing time given by ``clock()``; returns the decisions and the counter ``decisions_held_at_drain``."""
    from journeyflow.tools.direct_runner import tune_direct_runner
    from journeyflow.tools.direct_runner_timers import index_direct_runner_timers

    assert tune_direct_runner() and index_direct_runner_timers()
    real_wm = ds.timer_input_watermark_ms
    monkeypatch.setattr(ds, "timer_input_watermark_ms", lambda: real_wm() if watermark_known else None)
    monkeypatch.setattr(handover, "processing_now_ms", clock)
    perf._SEEN.clear()
    counted: list[int] = []  # what each bundle adds to the counter (the tuned local runner reports no metrics)
    real_finish = drain_hold.HeldAtEnd.finish_bundle
    monkeypatch.setattr(drain_hold.HeldAtEnd, "finish_bundle",
                        lambda self: counted.append(self.moments) or real_finish(self))
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=opts)
    out = p | perf._stream(EVENTS) | DecideOrdered(CONFIG, LATENESS, snapshots=snapshots,
                                                   hold_until_ms=hold_until_ms)
    _ = out[ds.DECISIONS] | beam.Map(_Decision())
    p.run().wait_until_finish()
    return sorted(perf._SEEN.get("d", [])), sum(counted)


@pytest.mark.parametrize("watermark_known,snapshots", [(True, False), (True, True), (False, False)])
def test_a_drain_publishes_nothing_due_after_the_processing_time(monkeypatch, watermark_known, snapshots):
    now = T + 30 * MIN
    decided, held = _run(monkeypatch, lambda: now, watermark_known, snapshots)
    assert all(at <= now for _id, at, _step in decided)
    assert REMINDER not in [step for *_x, step in decided]  # (before: the reminder, decided_at T + 1 h, at once)
    assert [(i, at) for i, at, _step in decided] == bounded_until(now)
    # the reminder's wait and the page view dated T + 5 h; a runner that does not say the watermark (Dataflow)
    # counts at the first held firing (here before the page view arrived: no drain stops reading before it)
    assert held == 2 if watermark_known else held >= 1, held


def test_the_resumed_job_decides_what_the_drain_held_when_it_is_due(monkeypatch):
    now = T + 30 * MIN
    first, _held = _run(monkeypatch, lambda: now, True)
    # the next job (--resume) re-reads the retained input and holds every flush until it is read; its processing
    # time follows the watermark (never ahead of the wall clock) until it, too, is drained at T + 2 h
    later = T + 2 * HOUR
    real_wm = ds.timer_input_watermark_ms
    seen: list[int] = []

    def clock() -> int:
        wm = real_wm()
        seen.append(later if wm is None else min(wm, later))
        return seen[-1]

    again, held = _run(monkeypatch, clock, True, hold_until_ms=now + MIN + LATENESS)
    reminders = [(at, i) for i, at, step in again if step == REMINDER]
    assert [at for at, _i in reminders] == [T + HOUR]  # on time, in the job that resumed
    assert [(i, at) for i, at, _step in again] == bounded_until(later)
    assert {i for i, *_x in first} <= {i for i, *_x in again}  # what the drained job published comes again (same ids)
    assert held >= 1  # the page view dated T + 5 h (and what the journey waits for next): held again


def test_a_dataflow_drain_fires_every_timer_but_decides_nothing_after_the_clock(monkeypatch):
    """Dataflow says no watermark to the firing: a drain fires each pending timer (re-armed ones too) in turn, each
    capped at the processing time; the held customer's re-armed steps end at the window's end, nothing after the
    clock is decided and its held moments are counted once."""
    now = T + 30 * MIN
    monkeypatch.setattr(handover, "processing_now_ms", lambda: now)
    fn = ds.OrderedCustomerFn(CONFIG, LATENESS)
    fn.setup()
    fn.start_bundle()
    d = CellDriver(fn, KEY)
    d.add(EVENTS)
    d.advance(T + LATENESS + ds.PAST)  # the cart, on time
    on_time = [o for o in d.outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    before = len(d.flush_ms)
    d.advance(ds._END_MS)  # the drain
    decided = [o for o in d.outputs if not isinstance(o, beam.pvalue.TaggedOutput)]
    assert decided == on_time and all(x.decided_at <= now for x in decided)  # (before: the reminder, T + 1 h)
    # the reminder's timer, then its re-armed steps (each tripling its distance from the clock) to the window's end
    assert 2 <= len(d.flush_ms) - before <= 40
    assert fn.held.moments == 2  # counted once: the reminder's wait and the page view
    fn.finish_bundle()
    assert fn.held.moments == 0
