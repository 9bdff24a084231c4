"""The end of the input decides nothing due after the processing time (qa17i).

A drain moves the watermark to +infinity, so every pending event-time timer of ``DecideOrdered`` fires: before, a
journey wait or a quiet-hours deferral due tomorrow was decided (and published) at the drain.  A consumer acting
on receipt would message a day early, at night for a released deferral; one acting at ``decided_at`` would ignore
an opt-out the customer sends meanwhile.  So every flush of the streaming stage is capped at the processing time
(``transforms.handover.processing_now_ms``, the wall clock): what is due later stays pending.  Input dated in the
past (TestStream tests, a rebuild's backlog) is unaffected: all of it is due before the clock.

When a firing finds its next pending moment due after the clock while the watermark is already past it (the end
of the input, which the local runner says; or a firing the watermark brought ahead of the clock: on Dataflow a
drain, or input dated ahead of the clock, which Dataflow does not tell apart), that customer's held moments (due
timers and buffered events) are counted in ``decisions_held_at_drain`` and logged once per bundle (not when the
runner said a finite watermark: no drain).  Before the end of the input the flush timer is re-armed later in event
time, each step at least tripling its distance from the clock (``backoff_ms``): a drain reaches the end of the
global window in a few dozen cheap firings (a firing whose every pending moment is after the clock flushes
nothing), a watermark ahead of the clock is caught up with by the clock.  The next job started with ``--resume``
re-reads the retained input and decides the held moments when they are due.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow

from journeyflow.model.events import decode_event
from journeyflow.stages.state_codec import decode_state
from journeyflow.transforms.coders import EventCoder

from journeyflow.transforms.outputs import NAMESPACE

log = logging.getLogger(__name__)

_FIRING = threading.local()  # .ms: the input watermark of the timer firing this thread runs, if the runner said it


def timer_input_watermark_ms() -> int | None:
    """The input watermark (epoch ms, floored) of the timer firing this thread runs, when the runner said it (the
    local runner: ``tools.direct_runner_bundles``, point 11, through :func:`set_timer_input_watermark`); else None
    (Dataflow, or outside a firing)."""
    return getattr(_FIRING, "ms", None)


def set_timer_input_watermark(ms: int | None) -> None:
    """For a runner: the input watermark (epoch ms) of the timer firing this thread starts; None when it ends."""
    _FIRING.ms = ms


#: The end of the global window in epoch ms (floored): a watermark past it is the end of the input (``on_flush``).
_END_MS = GlobalWindow().max_timestamp().micros // 1000



class HeldAtEnd:
    """The bundle's held moments: ``add`` per customer, ``finish_bundle`` to the counter and one warning."""

    def __init__(self) -> None:
        self.counter = Metrics.counter(NAMESPACE, "decisions_held_at_drain")
        self.moments = self.customers = 0

    def add(self, moments: int) -> None:
        """One customer whose ``moments`` pending timers and buffered events are due after the processing time."""
        if moments:
            self.moments += moments
            self.customers += 1

    def finish_bundle(self) -> None:
        """The bundle's count to ``decisions_held_at_drain`` and one log line naming it."""
        if not self.moments:
            return
        self.counter.inc(self.moments)
        log.warning("journeyflow: %d pending moment(s) (journey waits, deferrals, events) of %d customer(s) are "
                    "due after the processing time: not decided at the end of the input (a drain); start the next "
                    "job with --resume to decide them when due (counter decisions_held_at_drain)",
                    self.moments, self.customers)
        self.moments = self.customers = 0


#: The first event-time step (ms) of a held customer's re-armed flush timer (``backoff_ms``).
BACKOFF_MS = 1000


def backoff_ms(clock: int, now: int) -> int:
    """The time to re-arm a flush timer that fired at ``now``, past the processing time ``clock``, with nothing due
    up to the clock: ``now`` + twice its distance from the clock, at least ``BACKOFF_MS``, at most the window's end."""
    return min(now + max(BACKOFF_MS, 2 * (now - clock)), _END_MS)


def pending_moments(raw_state: bytes | None, raws: list[bytes], state: Any = None,
                    known: dict[bytes, Any] | None = None) -> tuple[int, int | None]:
    """(How many moments are pending, the earliest one's time or None) for a customer's stored state and buffer:
    its timers and buffered events.  ``state``: ``raw_state`` decoded, when the caller holds it; ``known``: stored
    bytes → their decoded event, for those it holds (the stage's caches, ``transforms.decide_caches``: what decoding
    gives, without decoding)."""
    if state is None:
        state = decode_state(raw_state) if raw_state else None
    times = [t[0] for t in state.timers] if state is not None else []
    known = known or {}
    times += [(known.get(b) or (decode_event(b) if b[:1] == b"[" else _EVENTS.decode(b))).ts for b in raws]
    return len(times), min(times, default=None)


_EVENTS = EventCoder()
