"""Held entries (plain Python, no Beam): an entry about another object while a journey is active waits for it.

A journey has one membership per customer.  When its re-entry mode is ``always`` and its exits, goals or
wait-untils are about the entry's object (``same_as_entry``: ``dunning``, one failed payment of one order), an
entry event naming *another* object (a second order's ``payment_failed``) while a membership is active is not
dropped but **held** in the membership record (``h``: at most :data:`MAX_HELD`, the newest; one per object) and
starts a membership when the active one ends, for whatever reason, at that time (``entered``, triggered by the
held event).  A held entry ends unstarted (``entry_refused``, detail ``held_ended:<why>``) when an event is one of
the journey's goals or exits for its object (any ``order_placed``, the cancellation of that order: ``dunning``'s) or
when it is older than the journey's ``max_duration`` at start (it would have ended by then).  Holding shows as
``entry_refused`` with detail ``held``.  An event about the active membership's own object (the same order failing
again) is not held.  Rule of Iterable's and Customer.io's per-object journeys, kept to one membership at a time.

A merge of two profiles each in such a journey keeps the membership entered first and holds the other one the same
way (:func:`settle_merged`; ``stages.state_merge.merge_membership``).

Split from ``journeyflow.stages.journeys.engine``; record shapes there (``h``: ``[{"at", "t", "r", "k", "p"}]``).
"""
from __future__ import annotations

from typing import Any

from journeyflow.model.events import Event
from journeyflow.stages.journeys.context import _Ctx, _event_refs
from journeyflow.stages.journeys.matching import _field, _first_match, _reentry_refusal, exclusion_refusal
from journeyflow.stages.journeys.model import MAX_ENTRIES_KEPT, Journey, JourneyOutput, JourneyStep
from journeyflow.stages.journeys.objects import object_key
from journeyflow.stages.journeys.pending import cancel_deferred

__all__ = ["MAX_HELD", "drop_ended", "entry_keys", "hold", "holds", "new_membership", "settle_merged", "start_held"]

#: Held entries kept per membership (the newest): state stays bounded whatever the input.
MAX_HELD = 5


def holds(j: Journey) -> bool:
    """Whether ``j`` holds entries about another object while active (``reentry: always`` and ``same_as_entry``)."""
    return j.reentry.mode == "always" and bool(j.entry_keys)


def entry_keys(j: Journey, event: Event, refs: dict) -> dict:
    """The entry event's values of ``j``'s ``same_as_entry`` fields not kept as references already (``k``)."""
    return {f: v for f in j.entry_keys if f not in refs and (v := _field(event.attrs, f)) is not None}


def _object(j: Journey, refs: dict, keys: dict) -> tuple:
    both = {**refs, **keys}
    return tuple(object_key(both.get(f)) for f in j.entry_keys)


def new_membership(j: Journey, prev: dict | None, now: int, trigger_id: str, product: str | None, refs: dict,
                   keys: dict) -> dict:
    """The active membership record of an entry at ``now`` (ms) by ``trigger_id`` (shapes: ``engine``); ``prev``:
    the journey's previous record (entry history, arm) or None."""
    entries = prev.get("entries", []) if prev is not None else []
    m = {"step": j.first_step, "entered": now, "since": now, "trigger": trigger_id,
         "entries": (entries + [now])[-MAX_ENTRIES_KEPT:], "group": j.exclusion_group, "goal": None}
    if product is not None and j.uses_product:
        m["p"] = product
    if refs:
        m["r"] = refs
    if keys:
        m["k"] = keys
    if j.control_group_pct > 0:
        # drawn once (the first entry's uid), then re-used by re-entries while the record is kept
        m["c"] = prev["c"] if prev is not None and "c" in prev else int(j.in_control(trigger_id))
    if j.reentry.mode == "never":
        m["n"] = 1
    return m


def hold(j: Journey, m: dict, event: Event, product: str | None, customer_id: str, out: JourneyOutput) -> None:
    """An entry event of ``j`` while membership ``m`` is active: held when it names another object than ``m``'s
    entry and than the entries already held (an event without the fields is not held: which object is unknown)."""
    refs = _event_refs(event)
    keys = entry_keys(j, event, refs)
    obj = _object(j, refs, keys)
    if all(v is None for v in obj) or obj == _object(j, m.get("r", {}), m.get("k", {})):
        return
    held = m.get("h") or []
    if any(_object(j, h.get("r", {}), h.get("k", {})) == obj for h in held):
        return
    h: dict[str, Any] = {"at": event.ts, "t": event.uid}
    if refs:
        h["r"] = refs
    if keys:
        h["k"] = keys
    if product is not None and j.uses_product:
        h["p"] = product
    m["h"] = (held + [h])[-MAX_HELD:]
    out.steps.append(JourneyStep(customer_id, j.id, "", "entry_refused", event.ts, event.uid, "held"))


def drop_ended(j: Journey, m: dict, ctx: _Ctx, customer_id: str, out: JourneyOutput) -> None:
    """Drop the entries held in ``m`` that the event of ``ctx`` ends (a goal or an exit of ``j`` for its object)."""
    ev, keep = ctx.event, []
    for h in m["h"]:
        about = {"r": h.get("r", {}), "k": h.get("k", {})}
        why = ("goal" if _first_match(j.goal, ev, ctx, about) is not None else
               f"exit_event:{ev.type}" if _first_match(j.exit, ev, ctx, about) is not None else None)
        if why is None:
            keep.append(h)
        else:
            out.steps.append(JourneyStep(customer_id, j.id, "", "entry_refused", ctx.now, ev.uid, f"held_ended:{why}"))
    if keep:
        m["h"] = keep
    else:
        del m["h"]


def start_held(engine: Any, j: Journey, now: int, state: Any, customer_id: str, out: JourneyOutput) -> None:
    """``j``'s record is finished and holds entries: start the oldest one still valid at ``now`` (the rest stay
    held in the new membership); repeated while a started one ends at once."""
    memberships = state.journeys
    while True:
        m = memberships.get(j.id)
        if m is None or m.get("step") is not None or not m.get("h"):
            return
        held = m.pop("h")
        h = held.pop(0)
        if held:
            m["h"] = held
        refused = "held_ended:max_duration" if now - h["at"] > j.max_duration_ms else _reentry_refusal(j, m, now)
        if refused is None and j.exclusion_group is not None:
            refused, gone = exclusion_refusal(engine._by_id, j, memberships, now)
            if gone is not None:
                engine._finish(state, gone, memberships[gone], now, h["t"], f"exclusion_group:{j.id}", customer_id,
                               out)
        if refused is not None:
            out.steps.append(JourneyStep(customer_id, j.id, "", "entry_refused", now, h["t"], refused))
            continue
        if state.timers:  # the new membership supersedes the previous one, as a re-entry does
            cancel_deferred(state, j.id, now, h["t"], "reentered", customer_id, out)
        new = new_membership(j, m, now, h["t"], h.get("p"), h.get("r", {}), h.get("k", {}))
        if held:
            new["h"] = held
        memberships[j.id] = new
        out.steps.append(JourneyStep(customer_id, j.id, j.first_step, "entered", now, h["t"],
                                     "control" if new.get("c") else "treatment"))
        ctx = _Ctx(state, now, None, h.get("p"), engine.attributes, engine.open_ticket_ms, engine.soft_bounces)
        engine._run(j, new, j.first_step, None, ctx, h["t"], customer_id, out)


def supersedes(j: Journey) -> bool:
    """Whether a later entry into ``j`` ends its active membership and starts anew (``reentry: always`` and an
    entry event that is also an exit of any object: ``winback``, whose every order restarts the 30 days)."""
    return j.reentry.mode == "always" and any(
        x.condition is None and not x.same and x.type == e.type and x.stream in (None, e.stream)
        for x in j.exit for e in j.entry)


def settle_merged(engine: Any, state: Any, now: int, trigger_id: str, customer_id: str, out: JourneyOutput) -> None:
    """After a merge (``stages.state_merge.merge_membership``, which keeps the active membership entered first and
    lists the other among the entries the record holds, marked ``m``: its record), per journey as one profile
    with both histories would have it:

    * a journey whose later entry supersedes the active membership (:func:`supersedes`: ``winback``): the later
      membership is the current one, the earlier ends (``exited``, ``merged``).  Before, the earlier was kept and
      ran to a win-back that the later order cancels (its branch) while the later one was gone: no win-back ever;
    * a journey that holds entries (:func:`holds`: ``dunning``): the membership given up is held from its entry
      like any held entry (``exited``, ``merged:held``; ``merged`` when about the kept one's object), one per object,
      the newest :data:`MAX_HELD`.  Before, the second order's failed payment was never reminded;
    * any other journey: one membership per customer, the earlier (as before; the held entries are dropped).

    Proposes nothing: a finished record left holding entries starts one at the customer's next event or timer."""
    for jid in sorted(state.journeys):
        m = state.journeys[jid]
        if not m.get("h"):
            continue
        j = engine.journey(jid)
        later_wins = j is not None and supersedes(j)
        if j is None or not (later_wins or holds(j)):
            del m["h"]
            continue
        if later_wins:
            gone = [h["m"] for h in m.pop("h") if "m" in h]
            if gone and m.get("step") is not None:
                later = dict(max(gone, key=lambda r: (r.get("entered") or 0, str(r.get("trigger")))))
                later["entries"] = sorted(set(m.get("entries", ())) | {later.get("entered")} - {None})
                if m.get("n"):
                    later["n"] = 1
                out.steps.append(JourneyStep(customer_id, j.id, m["step"], "exited", now, trigger_id, "merged"))
                state.journeys[jid] = later
            continue
        own = _object(j, m.get("r", {}), m.get("k", {})) if m.get("step") is not None else None
        keep, objects = [], set()
        for h in m["h"]:
            h = dict(h)
            merged = h.pop("m", None)
            obj = _object(j, h.get("r", {}), h.get("k", {}))
            held = not all(v is None for v in obj) and obj != own and obj not in objects
            if held:
                objects.add(obj)
                keep.append(h)
            if merged is not None:
                out.steps.append(JourneyStep(customer_id, j.id, merged.get("step") or "", "exited", now, trigger_id,
                                             "merged:held" if held else "merged"))
        if keep:
            m["h"] = keep[-MAX_HELD:]
        else:
            del m["h"]
