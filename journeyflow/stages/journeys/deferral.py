"""A send held by quiet hours moves the journey's next wait with it.

A journey's waits count from its previous step: "email, wait 23h, SMS" means the SMS 23 hours after the email.  When
quiet hours hold a send until their end (arbitration rule 6, ``quiet_hours_deferred``), the email goes out at 08:00,
not when the journey proposed it; before, the wait that followed was still counted from the proposal, so a cart
reminder proposed at 21:30 went out at 08:00 and its SMS "23 hours later" at 20:30 the same day, 12.5 hours after it,
and the 48 hours ``dunning`` gives a payment to fail again before the call ran from the night its SMS was due, not
from the 08:00 it went out.  As Braze Canvas and Customer.io do (a user waits in the message step until the message
is sent, then the delay starts), the wait the membership reached in the run that proposed the send now starts when
quiet hours end: its timer (a plain wait's, or a wait-until's timeout) moves by the time the send is held.  A
wait-until still resumes on its event meanwhile (the payment that fails again while the reminder SMS waits for
08:00 is still that payment failing again).

The move follows quiet hours alone (``Arbiter.quiet_until``), not what else arbitration decides about the send: a
holdout member's send, one suppressed for consent or a cap, moves the wait as the sent one does, so the two arms of
a journey keep one timeline and a journey's timing never depends on facts a profile learns only when identity
resolution merges it with another (``tests/stages/test_lifecycle.py``'s merge property).

Plain Python, no Beam.  Called by ``stages.processor`` after each arbitration with the moment's candidates.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from journeyflow.model.decisions import Candidate
from journeyflow.stages.state import CustomerState

__all__ = ["shift_waits"]


def shift_waits(state: CustomerState, candidates: Iterable[Candidate], now: int,
                quiet_until: Callable[..., int], moment: Any = None) -> int:
    """Move the pending wait timers of the memberships whose sends proposed at ``now`` (ms) quiet hours hold: each
    journey's by its longest hold (``quiet_until(state, candidate, now) - now``, ms; ``quiet_until`` returns 0 for a
    send they do not hold), when the membership still is the one that proposed the send (same entry time) and
    reached its wait in that very run (``since`` = ``now``).  A re-proposed deferral (proposed at its due time, past
    quiet hours) moves nothing.  ``moment``: passed on to ``quiet_until`` when given (``Arbiter.quiet_until``: the
    arbitration's own addresses and due times).  Returns the number of timers moved."""
    delay: dict[str, tuple[int, int]] = {}  # journey id -> (entered, delay)
    journeys = state.journeys
    for c in candidates:
        if c.action != "send" or c.entered is None or c.proposed_at != now:
            continue
        m = journeys.get(c.journey_id)
        if m is None or m.get("step") is None or m.get("entered") != c.entered or m.get("since") != now:
            continue  # no wait after it in this run (the journey ended, or the send was its last step)
        due = quiet_until(state, c, now) if moment is None else quiet_until(state, c, now, moment)
        prev = delay.get(c.journey_id)
        if due > now and (prev is None or due - now > prev[1]):
            delay[c.journey_id] = (c.entered, due - now)
    moved = 0
    for jid, (entered, by) in sorted(delay.items()):
        step = journeys[jid]["step"]
        for t in state.take_timers("journey", j=jid, s=step, e=entered):
            due = t[0] + by
            heapq.heappush(state.timers, [due, f"{jid}:{step}:{entered}:{due}", "journey", t[3]])
            moved += 1
    return moved
