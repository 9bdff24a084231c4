"""Which trigger an event matches, for a membership (split from ``journeyflow.stages.journeys.engine``).

* A trigger matches an event of its type (and stream), when its condition holds and, for exits and goals with
  ``same_as_entry`` (and wait-untils), when the event names the same object as the membership's entry event (its ``r`` references or
  ``k`` keys): the cancellation of another order does not end the cross-sell of this one.
* **Same millisecond** (:func:`_moment_ending`): events of one millisecond are handled in a fixed order (status
  records, then by stream: ``Event.sort_key``), not in the order they happened, which is unknown.  An exit or goal
  event handled just before an entry at the same millisecond (an ``order_placed`` with the ``add_to_cart`` of a
  "buy now" click) ends the new membership at once -- fail safe: no reminder about a cart ordered at that instant.
  Events of one of the journey's own entry types are left out (``winback``: each order ends one membership and
  starts the next).  Likewise a wait-until event handled just before the entry resumes the wait the new membership
  reaches in that millisecond (:func:`resume_in_moment`): "Quote Accepted" with the timestamp of "Quote Requested"
  takes the ``on_event`` path whatever the two uids; and of two journeys of one exclusion group entered by events
  of one millisecond the higher priority wins (:func:`exclusion_refusal`), whichever event was handled first.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from journeyflow.model.events import Event
from journeyflow.stages.journeys.context import _Ctx, _event_product
from journeyflow.stages.journeys.model import Journey, JourneyOutput, JourneyStep, Trigger
from journeyflow.stages.journeys.objects import object_key

__all__ = ["earlier_in_moment", "exclusion_refusal", "resume_in_moment"]


def _matches(t: Trigger, ev: Event, ctx: _Ctx, m: dict | None = None) -> bool:
    if t.type != ev.type or (t.stream is not None and t.stream != ev.stream):
        return False
    if t.same and m is not None and ("k" in m or "r" in m):
        keys = {**m.get("r", {}), **m.get("k", {})}
        if any(f in keys and object_key(_field(ev.attrs, f)) != object_key(keys[f]) for f in t.same):
            return False  # an exit/goal about another object (another order) than the entry's (12345 is "12345")
    return t.condition is None or t.condition.evaluate_in(ctx)


def _first_match(triggers: tuple[Trigger, ...], ev: Event, ctx: _Ctx, m: dict | None = None) -> Trigger | None:
    for t in triggers:
        if _matches(t, ev, ctx, m):
            return t
    return None


def _field(attrs: Mapping, path: str):
    """The value at ``path`` (``order_id``, ``properties.orderId``) of an event's attributes, or None."""
    head, _, rest = path.partition(".")
    v = attrs.get(head)
    return (v.get(rest) if type(v) is dict or isinstance(v, Mapping) else None) if rest else v


def _moment_ending(j: Journey, m: dict, earlier: Sequence[Event], state: Any, attributes: Any,
                   stale_ms: int | None = None, soft: tuple[int, int] = (0, 0)) -> tuple[str, str] | None:
    """``("goal", type)`` or ``("exit", type)`` when one of ``earlier`` (events of the entry's millisecond handled
    before it) is a goal or an exit of ``j`` for the new membership ``m``; else None."""
    entry_types = {t.type for t in j.entry}
    for e0 in earlier:
        if e0.type in entry_types:
            continue
        ctx = _Ctx(state, e0.ts, e0, _event_product(e0), attributes, stale_ms, soft)
        if _first_match(j.goal, e0, ctx, m) is not None:
            return ("goal", e0.type)
        if _first_match(j.exit, e0, ctx, m) is not None:
            return ("exit", e0.type)
    return None


def earlier_in_moment(book: dict, state: Any, ev: Event) -> tuple[Event, ...]:
    """The customer's events of ``ev``'s millisecond handled before it (then ``ev`` is noted too).  ``book``:
    ``id(state) -> (state, ts, *events)``, the processor's per-call record (``Outputs.moment_events``; a customer's
    events of one millisecond are handled in one call, bounded and streaming alike); a few dozen entries at most."""
    me = book.get(id(state))
    if me is not None and me[0] is state and me[1] == ev.ts:
        book[id(state)] = me + (ev,)
        return me[2:]
    if len(book) > 64:
        book.clear()
    book[id(state)] = (state, ev.ts, ev)
    return ()


def resume_in_moment(engine: Any, j: Journey, m: dict, earlier: Sequence[Event], state: Any, customer_id: str,
                     out: JourneyOutput, skip: Any) -> None:
    """Membership ``m`` of ``j``, run at entry or by a timer, waits in a wait-until step it reached in this very
    millisecond: resume it on the first of ``earlier`` (the customer's events of that millisecond handled before the
    entry or the timer; not of the types in ``skip``: the journey's entry types at entry) that the step's ``until``
    matches, as if it had come after (``resume:event:<type>``, then ``on_event`` with that event as ``event``);
    repeated while the run reaches another wait-until a later one of ``earlier`` matches."""
    entry_types = skip
    attributes, stale_ms, soft = engine.attributes, engine.open_ticket_ms, engine.soft_bounces
    i = 0
    while m.get("step") is not None:
        st = j.step_map.get(m["step"])
        if st is None or st.until is None or m.get("since") != (earlier[0].ts if earlier else None):
            return
        for k in range(i, len(earlier)):
            e0 = earlier[k]
            if e0.type in entry_types:
                continue
            ctx = _Ctx(state, e0.ts, e0, _event_product(e0), attributes, stale_ms, soft)
            if _matches(st.until, e0, ctx, m):
                break
        else:
            return
        i = k + 1
        state.cancel_timers("journey", j=j.id)
        out.steps.append(JourneyStep(customer_id, j.id, st.id, "step", e0.ts, e0.uid, f"resume:event:{e0.type}"))
        engine._run(j, m, st.on_event, st.id, ctx, e0.uid, customer_id, out)


def exclusion_refusal(by_id: Mapping[str, Journey], j: Journey, memberships: Mapping[str, dict], now: int
                      ) -> tuple[str | None, str | None]:
    """``(why j's exclusion group refuses it an entry at now, None)`` -- ``exclusion_group:<group>:<journey>`` --
    or ``(None, id)`` when the active member of the group is a membership ``j`` supersedes instead: entered in this
    very millisecond (by an event handled before, which need not have happened first) into a journey evaluated
    after ``j`` (lower priority, then id: ``JourneyEngine``'s order, as for candidates of one moment); or
    ``(None, None)``.  ``by_id``: journey id -> Journey."""
    for oid, om in memberships.items():
        if oid != j.id and om.get("step") is not None and om.get("group") == j.exclusion_group:
            o = by_id.get(oid)
            if om.get("entered") == now and o is not None and (-o.priority, o.id) > (-j.priority, j.id):
                return None, oid
            return f"exclusion_group:{j.exclusion_group}:{oid}", None
    return None, None


def _reentry_refusal(j: Journey, m: dict | None, now: int) -> str | None:
    """Why ``j``'s re-entry mode refuses an entry at ``now`` given its membership record ``m`` (``reentry:never`` |
    ``reentry:cooldown``), or None."""
    if m is None:
        return None
    entries = m.get("entries")
    mode = j.reentry.mode
    if mode == "always":
        return None
    if mode == "never":
        return "reentry:never" if entries or m.get("n") else None
    if entries and now - max(entries) < j.reentry.cooldown_ms:
        return "reentry:cooldown"
    return None
