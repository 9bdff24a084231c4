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
    allowed lateness), or None (while a link is held: the end of its wait); ``hold``: the held ``merge_from`` or None; ``timed_out``: ``merge_from`` events
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


#: A ``merge_from`` already applied, kept in the buffer only while other events are (its link may still say whose
#: a kept event was at its time, :func:`_joined_by`); never processed, never a flush time of its own.
MERGE_DONE = "merge_from_applied"


def _done(mf: Event) -> Event:
    return Event(f"applied:{mf.uid}", IDENTITY_STREAM, MERGE_DONE, mf.ts, mf.ids,
                 {k: mf.attrs[k] for k in ("from", "members", "pair") if k in mf.attrs})


#: :func:`_joined_by`'s answer when the links' pairs say the identifier was this customer's already at that time
_OWN = Event("own", IDENTITY_STREAM, "own", 0, ())


def _joined_by(p: str | None, ts: int, sets: list[tuple[Event, set]]) -> Event | None:
    """The ``merge_from`` whose link first joined identifier ``p``, as it was at ``ts``, to this key's customer,
    when that happened after ``ts``; :data:`_OWN` when the pairs say ``p`` was already this customer's at ``ts``
    (a later ``merge_from`` naming it again is then the same merge seen with a later time: no sub-profile); None
    when ``p`` was not absorbed or the links' pairs do not say (older ``merge_from`` events carry no ``pair``: the
    caller then uses the members alone).

    The merges of one key can arrive in another order than their event times: a link ``E``–``d`` at 10 s whose
    ``E`` was merged into this key by a link at 11 s that arrived first reaches this key as ``merge_from`` of
    ``d`` at 10 s, although at 10.2 s ``d`` was ``E``'s, not this customer's (replay decides it under ``E``).
    So the links are replayed in event time: each absorbed side's members together, the identifiers of no
    absorbed side being this customer's; ``p``'s side at ``ts`` (links at or before it) is followed through the
    later links until it reaches this customer."""
    if p is None or not any(p in members for _mf, members in sets):
        return None
    absorbed = set().union(*(members for _mf, members in sets))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        if x not in absorbed:
            return ""  # this customer's own side
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra == "":
                parent[rb] = ra
            else:
                parent[ra] = rb
    for _mf, members in sets:
        first = next(iter(members), None)
        for m in members:
            union(first, m)
    links = []
    for mf, _members in sets:
        pair = mf.attrs.get("pair")
        if not pair or len(pair) != 2:
            return None
        links.append((mf.ts, mf.uid, pair[0], pair[1], mf))
    links.sort(key=lambda x: (x[0], x[1]))
    for t, _uid, a, b, _mf in links:
        if t <= ts:
            union(a, b)
    root = find(p)
    if root == "":
        return _OWN
    # the absorbed side ``p`` was on at ``ts`` is named by its canonical id: the merge that brought that side here
    side = canonical([m for m in absorbed if find(m) == root])
    named = [mf for mf, _members in sets if mf.ts > ts and mf.attrs.get("from") == side and _is(mf, MERGE_FROM)]
    if named:
        return min(named, key=flush_order)
    for t, _uid, a, b, mf in links:
        if t > ts:
            union(a, b)
            if find(p) == "":
                return mf
    return None


def plan_flush(events: list[Event], horizon: int, key: str, wait_ms: int) -> FlushPlan:
    """Plan the flush of customer ``key``'s buffered ``events`` at ``horizon`` (epoch ms); ``wait_ms``: how long
    (event time past the link) a survivor waits for an absorb."""
    evs = sorted(events, key=flush_order)
    if not any(e.stream == IDENTITY_STREAM for e in evs):  # no link, absorb or hand-over: the buffer splits at horizon
        i = next((i for i, e in enumerate(evs) if e.ts > horizon), len(evs))
        return FlushPlan(evs[:i], [], None, evs[i:], horizon, evs[i].ts if i < len(evs) else None, None, [])
    done = [e for e in evs if _is(e, MERGE_DONE)]
    if done:
        evs = [e for e in evs if not _is(e, MERGE_DONE)]
    absorbed = {e.attrs.get("from") for e in evs if _is(e, ABSORB)}
    mfs = [e for e in evs if _is(e, MERGE_FROM)]
    sub_of: dict[str, Event] = {}
    if mfs:
        sets = [(mf, set(mf.attrs.get("members") or ())) for mf in mfs]
        known = sets + [(mf, set(mf.attrs.get("members") or ())) for mf in done]
        for e in evs:
            if e.stream != IDENTITY_STREAM:
                p = canonical(e.ids) if e.ids else None
                mf = _joined_by(p, e.ts, known)
                if mf is _OWN:
                    continue
                if mf is not None and _is(mf, MERGE_DONE):
                    mf = None
                if mf is None:
                    for mf_, members in sets:
                        if e.ts < mf_.ts and p in members:
                            mf = mf_
                            break
                if mf is not None:
                    sub_of[e.uid] = mf
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
            # (a later ``merge_into`` of this key is stale: the same merge moved back in time, ``IdentityStore.
            # rejoin``; this key's state goes once, now; forwarded, it would hand the survivor's state on)
            forward = (e, [x for x in evs[i + 1:] if not _is(x, MERGE_INTO)])
            return FlushPlan(main, subs, forward, [], horizon, None, None, timed_out)
    else:
        i = len(evs)
    keep = evs[i:] + [e for es in pending.values() for e in es]
    if keep:  # the links of merges already applied still place the kept events (``_joined_by``)
        keep += done + [_done(e) for e in main if _is(e, MERGE_FROM) and e.attrs.get("pair")]
    until = horizon if hold is None else hold.ts - 1
    if hold is not None:
        # nothing at or after the held link is processed before its absorb arrives (whose own arrival arms this
        # key's flush, ``DecideOrdered.process``) or the wait ends: one flush then, not one per event held meanwhile
        times = [hold.ts + wait_ms]
    else:
        times = [e.ts for e in evs[i:] if e.uid not in sub_of]
    return FlushPlan(main, subs, forward, keep, until, min(times, default=None), hold, timed_out)
