"""A streaming flush with nothing to process (no buffered event due, no customer timer due by its horizon, no
hand-over stand-in) skips ``CustomerProcessor.advance`` and, for the state it kept decoded, encoding that state
again (``OrderedCustomerFn._flush``, issue 22): the same outputs and stored cells as calling ``advance``.

The held key of ``test_perf10c_stream_firings`` without its hold shortcut makes ten such flushes (a page view every
second after a link whose absorb has not come: each flush stops at the link)."""
from __future__ import annotations

from journeyflow.stages.state_codec import decode_state
from journeyflow.transforms import decide_streaming as ds
from tests.beam.test_perf10c_stream_firings import CONFIG, LATENESS, T, _held_run, _NoHoldShortcut
from tests.beam.test_streaming_state import MIN


class _Busy(list):
    """A flush's ready events, always true: ``advance`` is called as before the shortcut, even with none."""

    def __bool__(self) -> bool:
        return True


class _Counted(_NoHoldShortcut):
    """The stage recording how many events each ``advance`` call got."""

    def setup(self) -> None:
        super().setup()
        real, self.advanced = self.processor.advance, []

        def advance(state, events, until, out, **kwargs):
            self.advanced.append(len(events))
            return real(state, events, until, out, **kwargs)

        self.processor.advance = advance


def _both(monkeypatch, **kwargs):
    fn = _Counted(CONFIG, LATENESS)
    out, held, d = _held_run(fn, **kwargs)
    real = ds.with_subprofiles
    monkeypatch.setattr(ds, "with_subprofiles", lambda *a, **k: _Busy(real(*a, **k)))
    ref_fn = _Counted(CONFIG, LATENESS)
    ref, held0, d0 = _held_run(ref_fn, **kwargs)
    return (fn, out, held, d), (ref_fn, ref, held0, d0)


def test_a_flush_with_nothing_to_process_skips_advance_with_the_same_outputs(monkeypatch):
    (fn, out, held, d), (ref_fn, ref, held0, d0) = _both(monkeypatch)
    assert held == held0 == 10
    assert ref_fn.advanced.count(0) - fn.advanced.count(0) >= 10  # the ten held flushes: no advance
    assert out == ref
    assert decode_state(d.customer.value) == decode_state(d0.customer.value)
    assert (d.done.value, d.pending.value, d.buffer.value, d.timer.value) == (
        d0.done.value, d0.pending.value, d0.buffer.value, d0.timer.value)


def test_the_absorb_after_idle_flushes_is_decided_as_before(monkeypatch):
    (fn, out, _h, d), (_f, ref, _h0, d0) = _both(monkeypatch, absorb_at=T + MIN)
    assert out == ref
    assert decode_state(d.customer.value) == decode_state(d0.customer.value)
    assert d.after_absorb == d0.after_absorb


def test_an_idle_flush_leaves_the_stored_state_unwritten(monkeypatch):
    writes = []
    fn = _NoHoldShortcut(CONFIG, LATENESS)
    real = ds.encode_state
    monkeypatch.setattr(ds, "encode_state", lambda s: writes.append(1) or real(s))
    _out, held, d = _held_run(fn)
    n = len(writes)
    writes.clear()
    monkeypatch.setattr(ds, "with_subprofiles", lambda *a, _w=ds.with_subprofiles, **k: _Busy(_w(*a, **k)))
    _ref, held0, _d0 = _held_run(_NoHoldShortcut(CONFIG, LATENESS))
    assert held == held0 == 10
    assert len(writes) - n >= 10  # the kept state of each held flush was not encoded again
