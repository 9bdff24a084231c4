"""What one streaming flush of a customer key processes, holds and forwards, so that identity merges give the
replay's decisions whatever the arrival order within the allowed lateness (issue 23.4).  Pure Python.

Bounded replay (``journeyflow.stages.bounded.ClusterFold``) keeps the sub-profiles of an identity cluster apart
until the linking event's time and merges them then.  Streaming keys each event by its customer's root *when it
arrives* (``journeyflow.stages.identity.online``), so a link arriving before an older event of the absorbed
identifiers, or after a newer one, used to put that event under the wrong customer.  A merge now sends two control
events at the link's time: ``merge_into`` to the absorbed key and ``merge_from`` (with the absorbed identifiers) to
the surviving key.  :func:`plan_flush` then says, for the buffered events of one key and the flush horizon:

* events of the absorbed identifiers dated before the link that reached the survivor (the link arrived first) are
  decided in a sub-profile under the absorbed id, merged at the link's time (``subs``), as replay does;
* the survivor holds everything from a ``merge_from`` on until the absorbed customer's ``absorb`` has arrived
  (``hold``), so the hand-over is applied at the link's time whatever the transfer's latency; after ``wait_ms`` of
  event time past the link it goes on without it (``timed_out``; a later absorb is applied at the next moment);
* at the absorbed key, everything after its ``merge_into`` (buffered events dated after the link, which arrived
  before the link) travels to the survivor inside the ``absorb`` (``forward``) instead of being decided under the
  absorbed id.

At equal times identity control events come first (the merge is applied before the linking event, as in replay).
"""
from __future__ import annotations

from typing import NamedTuple

from journeyflow.model.events import Event, event_rank
from journeyflow.stages.identity.keys import canonical
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, MERGE_FROM, MERGE_INTO

__all__ = ["FlushPlan", "flush_order", "plan_flush"]


def flush_order(ev: Event) -> tuple:
    """Processing order within a flush: ``Event.sort_key`` with identity control events first at equal times."""
    return (ev.ts, 0 if ev.stream == IDENTITY_STREAM else 1, event_rank(ev.stream, ev.type), ev.uid)


class FlushPlan(NamedTuple):
    """One flush (module docstring).  ``main``: events to process in the key's own state, in order (``merge_from``
    events included, where a sub-profile's absorb goes); ``subs``: ``(merge_from, events of its sub-profile)`` in
    order; ``forward``: ``(merge_into, events after it)`` or None; ``keep``: events left in the buffer; ``until``:
    the horizon to process to (before a held ``merge_from``); ``next_at``: event time of the next flush (before the
    allowed lateness), or None; ``hold``: the held ``merge_from`` or None; ``timed_out``: ``merge_from`` events
    processed without their absorb."""

    main: list[Event]
    subs: list[tuple[Event, list[Event]]]
    forward: tuple[Event, list[Event]] | None
    keep: list[Event]
    until: int
    next_at: int | None
    hold: Event | None
    timed_out: list[Event]


def _is(ev: Event, type_: str) -> bool:
    return ev.stream == IDENTITY_STREAM and ev.type == type_


def plan_flush(events: list[Event], horizon: int, key: str, wait_ms: int) -> FlushPlan:
    """Plan the flush of customer ``key``'s buffered ``events`` at ``horizon`` (epoch ms); ``wait_ms``: how long
    (event time past the link) a survivor waits for an absorb."""
    evs = sorted(events, key=flush_order)
    absorbed = {e.attrs.get("from") for e in evs if _is(e, ABSORB)}
    mfs = [e for e in evs if _is(e, MERGE_FROM)]
    sub_of: dict[str, Event] = {}
    if mfs:
        sets = [(mf, set(mf.attrs.get("members") or ())) for mf in mfs]
        for e in evs:
            if e.stream != IDENTITY_STREAM:
                p = canonical(e.ids) if e.ids else None
                for mf, members in sets:
                    if e.ts < mf.ts and p in members:
                        sub_of[e.uid] = mf
                        break
    main: list[Event] = []
    pending: dict[str, list[Event]] = {}
    subs: list[tuple[Event, list[Event]]] = []
    timed_out: list[Event] = []
    hold = forward = None
    i = 0
    for i, e in enumerate(evs):  # noqa: B007 - i is where the loop stopped
        if e.ts > horizon:
            break
        if e.uid in sub_of:
            pending.setdefault(sub_of[e.uid].uid, []).append(e)
            continue
        if _is(e, MERGE_FROM):
            if e.attrs.get("from") not in absorbed:
                if horizon < e.ts + wait_ms:
                    hold = e
                    break
                timed_out.append(e)
            subs.append((e, pending.pop(e.uid, [])))
        main.append(e)
        if _is(e, MERGE_INTO) and e.attrs.get("into") != key:
            forward = (e, evs[i + 1:])
            return FlushPlan(main, subs, forward, [], horizon, None, None, timed_out)
    else:
        i = len(evs)
    keep = evs[i:] + [e for es in pending.values() for e in es]
    until = horizon if hold is None else hold.ts - 1
    times = [e.ts for e in evs[i:] if e.uid not in sub_of]
    if hold is not None:
        times = [hold.ts + wait_ms] + [t for t in times if t > horizon]
    return FlushPlan(main, subs, forward, keep, until, min(times, default=None), hold, timed_out)
