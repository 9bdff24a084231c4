"""Pending actions of journey memberships (plain Python, no Beam): whether a due deferred send still has its
owner, the pending actions a merge orphaned, and the removal of a membership's deferred sends.

Split from ``journeyflow.stages.journeys.engine`` (which keeps thin methods over these functions); the rules are
the engine's docstring's "Pending actions" (README "Journey lifecycle").
"""
from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping

from journeyflow.stages.journeys.model import Journey, JourneyOutput, JourneyStep
from journeyflow.stages.state import CustomerState

__all__ = ["COUNTERS", "cancel_deferred", "cancel_orphans", "check_deferred", "has_deferred"]

_new = tuple.__new__

#: ``stale_timers`` (membership gone or moved on), ``loop_guard`` (a run hit ``engine.MAX_STEPS_PER_RUN``).
COUNTERS: Counter = Counter()


def check_deferred(by_id: Mapping[str, Journey], state: CustomerState, timer: list, customer_id: str,
                   in_audience: Callable[[Journey, CustomerState, int, str | None], bool] | None = None
                   ) -> JourneyOutput:
    """A due deferred send ``[due, timer_id, "deferred", payload]`` (already popped): is its membership still
    the one that owns it?  ``cancelled`` gets ``(timer, reason)`` when not -- the journey is no longer
    configured (``journey_removed``), the record of the journey is another membership's (``superseded``), the
    send would go out after the membership's ``max_duration`` (``max_duration``), or the customer no longer
    matches the journey's audience (``audience``; ``in_audience(journey, state, due, product)``, see
    ``Journey.audience``) -- else the output is empty.  Deferrals written before ownership was recorded (no ``e``
    in the payload) are always valid."""
    out = _new(JourneyOutput, ([], [], []))
    due, timer_id, _kind, p = timer
    e = p.get("e") if type(p) is dict or isinstance(p, Mapping) else None
    if e is None:
        return out
    jid = p.get("j")
    j = by_id.get(jid)
    m = state.journeys.get(jid)
    if j is None:
        reason = "journey_removed"
    elif m is None or m.get("entered") != e:
        reason = "superseded"
    elif due - e > j.max_duration_ms:
        reason = "max_duration"
    elif j.audience and in_audience is not None and not in_audience(j, state, due, m.get("p") or p.get("pid")):
        reason = "audience"
    else:
        return out
    out.cancelled.append((timer, reason))
    out.steps.append(_new(JourneyStep, (customer_id, jid, p.get("s") or "", "cancelled", due, timer_id, reason)))
    return out


def cancel_orphans(state: CustomerState, now: int, trigger_id: str, customer_id: str) -> JourneyOutput:
    """After a merge (``CustomerState.merge`` keeps one membership record per journey): drop the pending actions
    of the memberships that were not kept -- journey timers whose membership is not the record's (stale, dropped
    silently), deferred sends (``cancelled``, reason ``merged``)."""
    out = _new(JourneyOutput, ([], [], []))
    if not state.timers:
        return out
    js = state.journeys
    keep, gone = [], []
    for t in state.timers:
        p = t[3]
        if t[2] == "journey":
            m = js.get(p.get("j"))
            if m is None or m.get("step") is None or m.get("step") != p.get("s") or m.get("entered") != p.get("e"):
                COUNTERS["stale_timers"] += 1
                continue
        elif t[2] == "deferred" and p.get("e") is not None:
            m = js.get(p.get("j"))
            if m is None or m.get("entered") != p["e"]:
                gone.append(t)
                continue
        keep.append(t)
    if len(keep) != len(state.timers):
        heapq.heapify(keep)
        state.timers = keep
        for t in sorted(gone, key=lambda t: (t[0], t[1])):
            out.cancelled.append((t, "merged"))
            out.steps.append(_new(JourneyStep, (customer_id, t[3].get("j"), t[3].get("s") or "", "cancelled", now,
                                                trigger_id, "merged")))
    return out


def has_deferred(state: CustomerState, jid: str) -> bool:
    """Whether journey ``jid`` has a deferred send pending in ``state``."""
    return any(t[2] == "deferred" and t[3].get("j") == jid for t in state.timers)


def cancel_deferred(state: CustomerState, jid: str, now: int, trigger_id: str, reason: str, customer_id: str,
                    out: JourneyOutput) -> None:
    """Remove journey ``jid``'s pending deferred sends; record each in ``out`` (``cancelled`` + a step row)."""
    for t in state.take_timers("deferred", j=jid):
        out.cancelled.append((t, reason))
        out.steps.append(_new(JourneyStep, (customer_id, jid, t[3].get("s") or "", "cancelled", now, trigger_id,
                                            reason)))

