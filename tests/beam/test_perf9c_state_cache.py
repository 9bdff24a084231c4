"""The streaming stage keeps a customer's decoded state between its flushes (``OrderedCustomerFn._read_state``) and
gives its counters to Beam once per bundle (``DecideCounters(per_bundle=True)``): the same outputs and the same
counter totals as decoding the stored bytes on every flush and counting per flush."""
from __future__ import annotations

import apache_beam as beam

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.state_codec import decode_state
from journeyflow.tools.bench_state import CellDriver
from journeyflow.transforms import decide_streaming as ds
from tests.beam.test_streaming_state import HOUR, MIN, T, e, history

CONFIG = EngineConfig.from_files()


class _NoCacheFn(ds.OrderedCustomerFn):
    """The stage as before the cache: every flush decodes the stored bytes."""

    def _keep_state(self, key, stored, state):
        pass


def _drive(fn, events: list[Event], late: list[Event] = ()) -> tuple[list, CellDriver]:
    fn.setup()
    fn.start_bundle()
    d = CellDriver(fn, "crm:C1")
    for ev in events:
        d.add([ev])
        d.advance(ev.ts + ds.PAST)  # each event is flushed on its own: many flushes of one stored state
    d.add(late)
    d.advance(max(ev.ts for ev in events) + 40 * 24 * HOUR)
    return [_plain(o) for o in d.outputs], d


def _plain(o):
    return (o.tag, repr(o.value)) if isinstance(o, beam.pvalue.TaggedOutput) else repr(o)


def test_a_kept_state_gives_the_outputs_of_decoding_every_flush(monkeypatch):
    events = history("crm:C1", ordered_at=None)
    decodes = []
    real = ds.decode_state
    monkeypatch.setattr(ds, "decode_state", lambda b: decodes.append(1) or real(b))
    cached, d1 = _drive(ds.OrderedCustomerFn(CONFIG), events)
    n_cached = len(decodes)
    decodes.clear()
    fresh, d2 = _drive(_NoCacheFn(CONFIG), events)
    assert cached == fresh
    assert decode_state(d1.customer.value) == decode_state(d2.customer.value)
    assert len(d1.flush_ms) >= len(events) and len(decodes) >= len(events) - 1  # a decode per flush of a stored state
    assert n_cached == 0  # the kept object every time


def test_a_state_written_between_flushes_is_decoded_again():
    # a late opt-out is written to the stored state by process() (not by a flush): the next flush must use it
    events = history("crm:C1", ordered_at=None)
    late = [e("consent/late-1", "consent", "consent_revoked", T - 5 * MIN, "crm:C1", channel="email",
              status="revoked")]
    cached, d1 = _drive(ds.OrderedCustomerFn(CONFIG), events, late)
    fresh, d2 = _drive(_NoCacheFn(CONFIG), events, late)
    assert cached == fresh
    assert decode_state(d1.customer.value).consent_status("email") == decode_state(
        d2.customer.value).consent_status("email")
    assert decode_state(d1.customer.value) == decode_state(d2.customer.value)


class _Tally:
    """Stands in for a Beam counter or distribution: records every update."""

    def __init__(self):
        self.updates: list[int] = []

    def inc(self, n: int = 1) -> None:
        self.updates.append(n)

    update = inc


def test_counters_given_per_bundle_total_the_outputs():
    fn = ds.OrderedCustomerFn(CONFIG)
    tallies = {}
    for name in ("decisions", "events", "duplicates", "errors"):
        tallies[name] = _Tally()
        setattr(fn.counters, name, tallies[name])
    fn.buffered, fn.state_bytes = _Tally(), _Tally()
    events = history("crm:C1", ordered_at=None)
    outputs, d = _drive(fn, events)
    assert all(not t.updates for t in tallies.values())  # nothing given to Beam before the bundle ends
    fn.finish_bundle()
    decisions = [o for o in outputs if not isinstance(o, tuple)]
    assert sum(tallies["decisions"].updates) == len(decisions) > 0
    assert sum(tallies["events"].updates) == len(events)
    assert not tallies["duplicates"].updates and not tallies["errors"].updates  # (none: never touched, as before)
    assert len(fn.state_bytes.updates) == len(fn.buffered.updates) == len(d.flush_ms)
    assert len(tallies["decisions"].updates) == 1  # one update per bundle


def test_a_buffered_event_is_not_decoded_by_the_instance_that_buffered_it(monkeypatch):
    events = history("crm:C1", ordered_at=None)
    decodes = []
    real = ds.decode_buffered
    monkeypatch.setattr(ds, "decode_buffered", lambda b: decodes.append(1) or real(b))
    fn = ds.OrderedCustomerFn(CONFIG)
    fn.setup()
    d = CellDriver(fn, "crm:C1")
    d.add(events)  # all buffered, then flushed together and one by one
    d.advance(events[-1].ts + 40 * 24 * HOUR)
    assert not decodes  # before: each buffered event decoded at its first flush
    fresh = _NoCacheFn(CONFIG)
    fresh.setup()
    fresh._remember_one = lambda *a: None  # the stage without either cache
    d2 = CellDriver(fresh, "crm:C1")
    d2.add(events)
    d2.advance(events[-1].ts + 40 * 24 * HOUR)
    assert len(decodes) == len(events)
    assert [_plain(o) for o in d.outputs] == [_plain(o) for o in d2.outputs]
