"""Fewer flush-timer firings in the streaming stage, same outputs (issue 22's streaming line).

* A key held at a ``merge_from`` (``flush_plan``: nothing at or after the link is processed before its absorb or the
  end of the wait) no longer arms a flush for each event dated at or after the link that arrives meanwhile: such a
  flush processed nothing (``OrderedCustomerFn._hold``).  The absorb still arms it (the held flush already processed
  everything dated before the link: an event dated before it is late).
* At the end of the input (the local runner's watermark past the global window's end) a key's pending flushes run in
  the firing that finds them (one flush without snapshots), not one runner round each.
"""
from __future__ import annotations

import base64

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import TimestampedValue

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, merge_from_event
from journeyflow.stages.state import CustomerState
from journeyflow.tools.bench_state import CellDriver
from journeyflow.transforms import decide_streaming as ds
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.beam.test_streaming_state import HOUR, MIN, T, e, history

CONFIG = EngineConfig.from_files()
LATENESS = 2000
KEY = "crm:C1"


class _NoHoldShortcut(ds.OrderedCustomerFn):
    """The stage as before: every buffered event arms its own flush, held or not."""

    def _hold(self, key, link_ms, armed_at):
        pass


def _plain(o):
    return (o.tag, repr(o.value)) if isinstance(o, beam.pvalue.TaggedOutput) else repr(o)


def _absorb(at: int) -> Event:
    other = CustomerState(customer_id="anon:a1", ids=["anon:a1"])
    other.consent = {"sms": ["revoked", T - HOUR]}
    return Event(f"absorb:anon:a1:{at}", IDENTITY_STREAM, ABSORB, at, (KEY,),
                 {"state": base64.b64encode(other.to_bytes()).decode(), "from": "anon:a1"}, {})


def _held_run(fn, absorb_at: int | None = None):
    """``KEY``'s history, then a link at ``T + 1 min`` whose absorb has not come, then a page view every second
    after it, each arriving on time and the watermark passing its flush time; optionally the absorb.  Returns the
    outputs, the number of flushes while held and the driver."""
    fn.setup()
    fn.start_bundle()
    d = CellDriver(fn, KEY)
    hist = history(KEY, ordered_at=None)
    d.add(hist[:-1])  # the cart at T; its page view 5 h later is left out
    d.advance(T + LATENESS + ds.PAST)
    link_at = T + MIN
    link = e("web/login-1", "web", "login", link_at, KEY)
    d.add([link, merge_from_event("anon:a1", KEY, link, ["anon:a1"], ("anon:a1", KEY))])
    d.advance(link_at + LATENESS + ds.PAST)  # the flush that finds the hold
    before = len(d.flush_ms)
    for i in range(1, 11):
        at = link_at + i * 1000
        d.add([e(f"web/pv-{i}", "web", "page_view", at, KEY)])
        d.advance(at + LATENESS + ds.PAST)
    held = len(d.flush_ms) - before
    if absorb_at is not None:
        d.add([_absorb(absorb_at)])
        d.advance(absorb_at + LATENESS + ds.PAST)
        d.after_absorb = d.done.value
    d.advance(T + 40 * 24 * HOUR)
    return [_plain(o) for o in d.outputs], held, d


def test_a_held_key_does_not_flush_for_events_after_its_link():
    out, held, d = _held_run(ds.OrderedCustomerFn(CONFIG, LATENESS))
    ref, held_before, d0 = _held_run(_NoHoldShortcut(CONFIG, LATENESS))
    assert held_before == 10  # one flush per page view, each processing nothing
    assert held == 0
    assert out == ref
    assert d.customer.value == d0.customer.value and d.done.value == d0.done.value


def test_the_absorb_still_ends_the_hold_at_once():
    out, _held, d = _held_run(ds.OrderedCustomerFn(CONFIG, LATENESS), absorb_at=T + MIN)
    ref, _held, d0 = _held_run(_NoHoldShortcut(CONFIG, LATENESS), absorb_at=T + MIN)
    assert out == ref
    assert d.customer.value == d0.customer.value
    # the absorb's own flush went past the link, long before the wait's end
    assert d.after_absorb == d0.after_absorb and d.after_absorb >= T + MIN
    assert any("'sms'" in o and "'consent'" in o for o in map(str, out))  # the absorbed opt-out blocks the sms


# ------------------------------------------------------------------------------------- the end of the input
_SEEN: dict[str, list] = {}


class _Collect:
    """Keeps a tag's outputs in ``_SEEN`` (a class of this module: pickled by reference, the list is this one)."""

    def __init__(self, tag: str):
        self.tag = tag

    def __call__(self, x) -> None:
        _SEEN.setdefault(self.tag, []).append(repr(x))


def _stream(events: list[Event]) -> TestStream:
    """``events`` two at a time in event-time order, the watermark just before the next ones, then straight to
    +infinity (the end of the input: every customer's waits and expiry are still pending)."""
    evs = sorted(events, key=lambda ev: (ev.ts, ev.uid))
    ts = TestStream()
    for i in range(0, len(evs), 2):
        ts = ts.add_elements([TimestampedValue((ev.ids[0], ev), ev.ts / 1000) for ev in evs[i:i + 2]])
        if i + 2 < len(evs) and evs[i + 2].ts > evs[i + 1].ts:
            ts = ts.advance_watermark_to((evs[i + 2].ts - 1) / 1000)
    return ts.advance_watermark_to_infinity()


def _run_local(events: list[Event], monkeypatch, watermark_known: bool, snapshots: bool) -> tuple[dict, int, int]:
    """``events`` through ``DecideOrdered`` on the tuned local runner (``_stream``); returns the outputs per tag, the
    timer firings and the flushes."""
    from journeyflow.tools.direct_runner import tune_direct_runner
    from journeyflow.tools.direct_runner_timers import index_direct_runner_timers

    assert tune_direct_runner() and index_direct_runner_timers()
    firings, flushes = [], []
    real_wm, real_plan = ds.timer_input_watermark_ms, ds.plan_flush
    monkeypatch.setattr(ds, "timer_input_watermark_ms",
                        lambda: firings.append(1) or (real_wm() if watermark_known else None))
    monkeypatch.setattr(ds, "plan_flush", lambda *a: flushes.append(1) or real_plan(*a))
    _SEEN.clear()
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=opts)
    out = p | _stream(events) | DecideOrdered(CONFIG, LATENESS, snapshots=snapshots)
    for tag in (ds.DECISIONS, ds.STEPS, ds.DEAD, ds.SNAPSHOTS, ds.TRANSFERS):
        _ = out[tag] | f"Collect{tag}" >> beam.Map(_Collect(tag))
    p.run().wait_until_finish()
    return {k: sorted(v) for k, v in _SEEN.items()}, len(firings), len(flushes)


EVENTS = history("crm:C1", ordered_at=None) + history("crm:C2", ordered_at=50 * MIN)


def test_at_the_end_of_the_input_a_key_flushes_in_one_firing_with_the_same_outputs(monkeypatch):
    known, firings, flushes = _run_local(EVENTS, monkeypatch, watermark_known=True, snapshots=True)
    alone, firings_before, flushes_before = _run_local(EVENTS, monkeypatch, watermark_known=False, snapshots=True)
    assert known == alone and known[ds.DECISIONS] and known[ds.SNAPSHOTS]
    assert flushes == flushes_before  # the same flushes (a snapshot row each) ...
    assert firings < firings_before  # ... in fewer firings (each customer's waits and expiry at +infinity)


def test_without_snapshots_the_end_of_the_input_is_one_flush_with_the_same_outputs(monkeypatch):
    known, firings, flushes = _run_local(EVENTS, monkeypatch, watermark_known=True, snapshots=False)
    alone, firings_before, flushes_before = _run_local(EVENTS, monkeypatch, watermark_known=False, snapshots=False)
    assert known == alone and known[ds.DECISIONS] and ds.SNAPSHOTS not in known
    assert flushes < flushes_before and firings < firings_before
