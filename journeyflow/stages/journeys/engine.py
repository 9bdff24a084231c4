"""The journey engine: runs the journeys of a configuration for one customer at a time.

Plain Python (no Beam import).  The per-customer processor keys events by customer, applies them to
``CustomerState`` and then calls :meth:`JourneyEngine.on_event` / :meth:`JourneyEngine.on_timer`; the engine only
*proposes* actions (``Candidate``), arbitration decides what happens.

Membership record (``state.journeys[journey_id]``), kept small::

    active:   {"step": id, "entered": ts, "since": ts, "trigger": uid, "entries": [ts...], "group": g|None,
               "goal": ts|None, "p": entry event's product (only if it had one and a step or condition uses it),
               "r": the entry event's order/ticket references (``_REF_FIELDS``, orders and support entries),
               "c": arm (1 control, 0 treatment; journeys with a control group), "n": 1 (``reentry: never``),
               "k": {field: value} of the entry event named by exits'/goals' ``same_as_entry`` (not in "r"),
               "h": [{"at", "t", "r", "k", "p"}...] entries held for other objects (``journeys.held``)}
    finished: {"step": None, "entered": ts, "entries": [ts...], "goal": ts|None, "c": ..., "n": ..., "k" if completed,
               "h" until started}
    marker:   {"n": 1, "c": ...}  (a ``never`` journey after its entry history expired)

Timers are ``state.schedule(due, "<journey>:<step>:<entered>:<due>", "journey", {"j", "s", "e"})``.

Lifecycle (the rules a user sees; README "Journey lifecycle"):

* **Arm.**  Drawn once, when a customer first enters a journey with ``control_group_pct``: a hash of the journey id
  and the entry event's uid (not of the customer id, which changes when identity resolution merges profiles), then
  stored as ``c`` in the membership record and re-used by later entries for as long as the record is kept.  A merge
  keeps the arm of the earlier entry (``stages.state_merge.merge_membership``).
* **Pending actions** are owned by the membership that proposed them: journey timers (``e`` = its entry time) and
  quiet-hours deferrals (``Candidate.entered``, kept as ``e`` in the deferred timer).  Leaving a journey (exit
  event, goal, ``max_duration``, an ``exit: true`` step, a removed journey or step, the loop guard) cancels every
  pending action it owns, deferred sends included; so does an exit or goal event after the journey ran to its end
  while a deferred send of it is still pending, a re-entry (the new membership supersedes the old one) and a merge
  that keeps the other profile's membership.  Running to the end does not cancel the sends it just proposed.
  Each cancelled send is a ``cancelled`` row in ``journey_steps`` (detail: why) and a ``suppress`` decision with
  reason ``journey_exited`` in the audit.
* **Audience.**  A journey whose entries all have conditions about the customer only (``Journey.audience``:
  ``welcome``, ``browse_offer``) re-checks them before the first send of every later run (after a wait) and before
  a send deferred by quiet hours goes out: a customer who matches none of them any more leaves (``exited``/
  ``cancelled``, detail ``audience``), as Braze and Iterable re-check a journey's audience at send time.
* **Held entries** (``journeys.held``): a ``reentry: always`` journey about its entry's object holds an entry
  about another object while active and starts it when the membership ends.
* **Re-entry.**  ``never`` is kept as a marker (``n``) that outlives the entry history; ``after_cooldown`` needs the
  history for the longest cooldown, which ``lookback_ms`` reports so that retention covers it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from journeyflow.model.decisions import Candidate
from journeyflow.model.events import Event
from journeyflow.stages.journeys.model import ACTION_KINDS, Journey, JourneyOutput, JourneyStep, reads_product
from journeyflow.stages.journeys.objects import REPORTED_AGAIN, repeated_report
from journeyflow.stages.attributes import AttributeSet
from journeyflow.stages.journeys.context import (  # noqa: F401 - _PRODUCT_KEYS re-exported
    _NO_ATTRIBUTES,
    _PRODUCT_KEYS,
    _Ctx,
    _event_product,
    _event_refs,
)
from journeyflow.stages.journeys.matching import (_first_match, _matches, _moment_ending, _reentry_refusal,
                                                  exclusion_refusal, resume_in_moment)
from journeyflow.stages.journeys.held import (drop_ended, entry_keys, hold, holds, new_membership, settle_merged,
                                             start_held)
from journeyflow.stages.journeys.pending import COUNTERS, cancel_orphans, check_deferred
from journeyflow.stages.journeys.pending import cancel_deferred as _cancel_deferred
from journeyflow.stages.journeys.pending import has_deferred as _has_deferred
from journeyflow.stages.state import DAY, CustomerState

__all__ = ["COUNTERS", "MAX_STEPS_PER_RUN", "JourneyEngine"]

_new = tuple.__new__  # (``_new(JourneyStep, (7 fields))``: the namedtuple without its ``__new__`` frame)

#: Steps one event or timer may run for one journey; a safety net (loops without a wait are refused at load time).
MAX_STEPS_PER_RUN = 100


class _TypeIndex(NamedTuple):
    active: tuple[Journey, ...]  # journeys with a goal, exit or wait-until on this event type
    entries: tuple[Journey, ...]  # journeys entered by this event type


class JourneyEngine:
    """Runs journeys for one customer at a time.  Stateless itself: all state lives in ``CustomerState`` (it only
    remembers the last event's millisecond, ``_moment``, for a timer due in that same millisecond).

    Journeys are evaluated by priority (higher first), then id.  Raises ``ValueError`` when two journeys share an
    id.  ``open_ticket_ms`` (ms or None): the policy's ``open_tickets.stale_after``; ``customer.open_tickets`` and
    its siblings leave out tickets stale when read (``CustomerState.open_tickets_at``).  ``soft_bounces``: the
    policy's soft-bounce limit ``(max, within ms)`` (``SoftBouncePolicy.rule``; ``(0, 0)``: none), so that
    ``customer.reachable.<channel>`` agrees with arbitration (``journeys.context``).  Picklable (Beam workers)."""

    def __init__(self, journeys: Iterable[Journey], attributes: AttributeSet | None = None, open_ticket_ms=None,
                 soft_bounces: tuple[int, int] = (0, 0)):
        self.journeys, self.open_ticket_ms, self.soft_bounces = tuple(journeys), open_ticket_ms, tuple(soft_bounces)
        #: declared traits and computed attributes: folded in by :meth:`on_event`, read as ``customer.traits``
        self.attributes = attributes if attributes is not None else _NO_ATTRIBUTES
        ids = [j.id for j in self.journeys]
        if len(set(ids)) != len(ids):
            raise ValueError("journey ids must be unique")
        js = sorted(self.journeys, key=lambda j: (-j.priority, j.id))  # evaluation order
        self._by_id = {j.id: j for j in js}
        types: set[str] = set()
        for j in js:
            types.update(t.type for t in j.entry)
            types.update(t.type for t in j.exit)
            types.update(t.type for t in j.goal)
            types.update(j.wait_types)
        index: dict[str, _TypeIndex] = {}
        for t in sorted(types):
            active = tuple(j for j in js if t in j.wait_types or any(g.type == t for g in j.goal + j.exit))
            entries = tuple(j for j in js if any(e.type == t for e in j.entry))
            index[t] = _TypeIndex(active, entries)
        self._index = index
        #: journeys whose waits can outlast their ``max_duration`` (their next timer is later): :meth:`_end_overdue`
        self._may_overrun = tuple(j for j in js if _may_overrun(j))
        #: journeys that hold an entry about another object while active (``journeys.held``)
        self._holders = tuple(j for j in js if holds(j))
        self._holder_ids = tuple(j.id for j in self._holders)  # (no membership of theirs: nothing to start)
        #: ``AttributeSet.observe`` when traits or computed attributes are declared, else None (tested per event)
        self._observe = self.attributes.observe if self.attributes else None
        #: event types :meth:`on_event` acts on (None: any); the processor skips the others (:func:`_heard_types`)
        self.heard_types = _heard_types(self, index)
        #: a wait-until step in some journey; then ``_moment``: (state, ts, earlier events, event) of the last event
        self._has_until, self._moment = any(st.until is not None for j in js for st in j.steps), None

    def __reduce__(self):
        return (JourneyEngine, (self.journeys, self.attributes, self.open_ticket_ms, self.soft_bounces))

    def journey(self, journey_id: str) -> Journey | None:
        """The journey with this id, or None when the configuration has none (e.g. it was removed)."""
        return self._by_id.get(journey_id)

    # ---------------------------------------------------------------------------------------------- events
    def on_event(self, state: CustomerState, event: Event, customer_id: str,
                 earlier: Sequence[Event] = ()) -> JourneyOutput:
        """Apply one event (already folded into ``state``): its traits and computed attributes
        (``AttributeSet.observe``), then goals/exits/waits of active journeys, then entries.  ``earlier``: the
        customer's events of the same millisecond handled before this one; an exit or goal among them ends a
        membership this event enters at once (which came first within a millisecond is not known: fail safe)."""
        now, etype, trigger_id = event.ts, event.type, event.uid
        resent = etype in REPORTED_AGAIN and repeated_report(state, event, earlier)  # that order/ticket again
        if self._observe is not None and not resent:
            self._observe(state, event)
        if self._has_until:  # this millisecond's events, for a wait a timer due now reaches (on_timer)
            self._moment = (state, now, earlier, event)
        ix = self._index.get(etype)
        out = _new(JourneyOutput, ([], [], []))  # (``JourneyOutput([], [], [])`` without the namedtuple's frame)
        if self._may_overrun:
            self._end_overdue(state, now, trigger_id, customer_id, out)
        # (a membership ended by the overrun check, or by a check of a deferred send)
        if (hids := self._holder_ids) and (len(hids) > 1 or hids[0] in state.journeys):
            self._start_held(state, now, customer_id, out)
        if ix is None or resent:
            return out
        ctx = _Ctx(state, now, event, _event_product(event), self.attributes, self.open_ticket_ms, self.soft_bounces)
        memberships = state.journeys
        estream = event.stream

        # (1) active memberships: goal, exit, wait-until
        for j in ix.active:
            m = memberships.get(j.id)
            if m is None:
                continue
            if m.get("step") is None:
                if state.timers and _has_deferred(state, j.id):
                    self._pending_only(j, m, ctx, trigger_id, customer_id, out)
                continue
            entered = m.get("entered") or 0
            if now < entered:
                continue
            if "h" in m:  # entries held for other objects: this event may end them first
                drop_ended(j, m, ctx, customer_id, out)
            if now - entered > j.max_duration_ms:
                self._finish(state, j.id, m, now, trigger_id, "max_duration", customer_id, out)
                continue
            trig = _first_match(j.goal, event, ctx, m)
            if trig is not None:
                m["goal"] = now
                out.steps.append(_new(JourneyStep, (customer_id, j.id, m["step"], "goal", now, trigger_id, etype)))
                self._finish(state, j.id, m, now, trigger_id, "goal", customer_id, out)
                continue
            trig = _first_match(j.exit, event, ctx, m)
            if trig is not None:
                self._finish(state, j.id, m, now, trigger_id, f"exit_event:{etype}", customer_id, out)
                continue
            st = j.step_map.get(m["step"])
            if (st is not None and st.until is not None and now >= m.get("since", 0)
                    and _matches(st.until, event, ctx, m)):
                state.cancel_timers("journey", j=j.id)
                out.steps.append(_new(JourneyStep, (customer_id, j.id, st.id, "step", now, trigger_id,
                                                    f"resume:event:{etype}")))
                self._run(j, m, st.on_event, st.id, ctx, trigger_id, customer_id, out)

        if (hids := self._holder_ids) and (len(hids) > 1 or hids[0] in state.journeys):  # (memberships ended above)
            self._start_held(state, now, customer_id, out)

        # (2) entries
        for j in ix.entries:
            m = memberships.get(j.id)
            if m is not None and m.get("step") is not None:
                if now - (m.get("entered") or 0) > j.max_duration_ms:
                    self._finish(state, j.id, m, now, trigger_id, "max_duration", customer_id, out)
                    if "h" in memberships[j.id]:
                        start_held(self, j, now, state, customer_id, out)
                    m = memberships[j.id]
                if m.get("step") is not None:  # already in it: held when about another object
                    if j in self._holders and _entry_trigger(j, event, ctx) is not None:
                        hold(j, m, event, ctx.product, customer_id, out)
                    continue
            for t in j.entry:  # (``_first_match(j.entry, event, ctx)``, inlined: no membership to compare with)
                if t.type == etype and (t.stream is None or t.stream == estream) and (
                        t.condition is None or t.condition.evaluate_in(ctx)):
                    break
            else:
                continue
            refused = _reentry_refusal(j, m, now)
            if refused is None and j.exclusion_group is not None:
                refused, gone = exclusion_refusal(self._by_id, j, memberships, now)
                if gone is not None:  # a lower-priority member entered earlier in this millisecond: ``j`` wins
                    self._finish(state, gone, memberships[gone], now, trigger_id, f"exclusion_group:{j.id}",
                                 customer_id, out)
            if refused is not None:
                out.steps.append(_new(JourneyStep, (customer_id, j.id, "", "entry_refused", now, trigger_id, refused)))
                continue
            if state.timers:  # the new membership supersedes the previous one: its pending sends go
                _cancel_deferred(state, j.id, now, trigger_id, "reentered", customer_id, out)
            refs = _event_refs(event)  # (``k``: fields kept as references already are not kept twice)
            m = new_membership(j, m, now, trigger_id, ctx.product, refs, entry_keys(j, event, refs) if j.entry_keys
                               else {})
            memberships[j.id] = m
            out.steps.append(_new(JourneyStep, (customer_id, j.id, j.first_step, "entered", now, trigger_id,
                                                "control" if _arm(j, m, customer_id) else "treatment")))
            ending = _moment_ending(j, m, earlier, state, self.attributes, self.open_ticket_ms,
                                    self.soft_bounces) if earlier else None
            if ending is not None:  # an exit or goal event of this very millisecond, handled before the entry
                if ending[0] == "goal":
                    m["goal"] = now
                    out.steps.append(_new(JourneyStep, (customer_id, j.id, m["step"], "goal", now, trigger_id,
                                                        ending[1])))
                self._finish(state, j.id, m, now, trigger_id, ending[0] if ending[0] == "goal" else
                             f"exit_event:{ending[1]}", customer_id, out)
                continue
            self._run(j, m, j.first_step, None, ctx, trigger_id, customer_id, out)
            if earlier and m.get("step") is not None:  # a wait-until event handled before the entry, same ms
                resume_in_moment(self, j, m, earlier, state, customer_id, out, {t.type for t in j.entry})
        return out

    # ---------------------------------------------------------------------------------------------- timers
    def on_timer(self, state: CustomerState, timer: list, customer_id: str) -> JourneyOutput:
        """A due journey timer ``[due, timer_id, "journey", {"j", "s", "e"}]`` (already popped from the state); a
        membership it ends starts what it held (``journeys.held``)."""
        out = self._timer(state, timer, customer_id)
        if (hids := self._holder_ids) and (len(hids) > 1 or hids[0] in state.journeys):
            self._start_held(state, timer[0], customer_id, out)
        return out

    def _start_held(self, state: CustomerState, now: int, customer_id: str, out: JourneyOutput) -> None:
        memberships = state.journeys
        for j in self._holders:
            m = memberships.get(j.id)
            if m is not None and m.get("step") is None and m.get("h"):
                start_held(self, j, now, state, customer_id, out)

    def _timer(self, state: CustomerState, timer: list, customer_id: str) -> JourneyOutput:
        out = _new(JourneyOutput, ([], [], []))
        due, timer_id, kind, payload = timer
        if kind != "journey" or not (type(payload) is dict or isinstance(payload, Mapping)):
            return out
        if self._may_overrun:
            self._end_overdue(state, due, timer_id, customer_id, out)
        jid = payload.get("j")
        m = state.journeys.get(jid)
        if m is None or m.get("step") is None or m["step"] != payload.get("s") or m.get("entered") != payload.get("e"):
            COUNTERS["stale_timers"] += 1
            return out
        j = self._by_id.get(jid)
        if j is None:  # the journey was removed from the configuration
            self._finish(state, jid, m, due, timer_id, "journey_removed", customer_id, out)
            return out
        if due - (m.get("entered") or 0) > j.max_duration_ms:
            self._finish(state, jid, m, due, timer_id, "max_duration", customer_id, out)
            return out
        st = j.step_map.get(m["step"])
        if st is None or st.kind != "wait":
            self._finish(state, jid, m, due, timer_id, "step_removed", customer_id, out)
            return out
        ctx = _Ctx(state, due, None, m.get("p"), self.attributes, self.open_ticket_ms, self.soft_bounces)
        if st.until is not None:
            out.steps.append(_new(JourneyStep, (customer_id, jid, st.id, "step", due, timer_id, "resume:timeout")))
            self._run(j, m, st.on_timeout, st.id, ctx, timer_id, customer_id, out)
        else:
            out.steps.append(_new(JourneyStep, (customer_id, jid, st.id, "step", due, timer_id, "resume:timer")))
            self._run(j, m, st.next, st.id, ctx, timer_id, customer_id, out)
        mo = self._moment  # a wait reached now: the customer's events of this millisecond, handled before the timer
        if mo is not None and mo[0] is state and mo[1] == due and m.get("step") is not None:
            resume_in_moment(self, j, m, mo[2] + (mo[3],), state, customer_id, out, skip=frozenset())
        return out

    # ---------------------------------------------------------------------------------------------- running
    def _run(self, j: Journey, m: dict, sid: str | None, last: str | None, ctx: _Ctx, trigger_id: str,
             customer_id: str, out: JourneyOutput) -> None:
        """Run steps from ``sid`` until a wait, an exit step or the end."""
        now = ctx.now
        control: bool | None = None
        for _ in range(MAX_STEPS_PER_RUN):
            if sid is None:
                self._finish(ctx.state, j.id, m, now, trigger_id, "completed", customer_id, out, last)
                return
            st = j.step_map[sid]
            k = st.kind
            if k in ACTION_KINDS:
                if control is None:  # (the run's first action: its audience re-check, then its arm)
                    if j.audience and trigger_id != m.get("trigger") and not self._in_audience(j, ctx.state, now,
                                                                                                m.get("p")):
                        self._finish(ctx.state, j.id, m, now, trigger_id, "audience", customer_id, out, sid)
                        return
                    control = _arm(j, m, customer_id)
                out.candidates.append(_new(Candidate, (  # (every field, in order: no namedtuple frame)
                    j.id, sid, j.category, j.priority, k, st.channel, st.content_id, trigger_id, now,
                    m.get("p") if st.product_from_event else None, j.exclusion_group, 0.0, control,
                    m.get("entered"), tuple(sorted(m["r"].items())) if "r" in m else ())))
                out.steps.append(_new(JourneyStep, (customer_id, j.id, sid, "step", now, trigger_id, st.label)))
                last, sid = sid, st.next
            elif k == "wait":
                due = now + st.wait_ms
                entered = m.get("entered")
                ctx.state.schedule(due, f"{j.id}:{sid}:{entered}:{due}", "journey", {"j": j.id, "s": sid, "e": entered})
                m["step"] = sid
                m["since"] = now
                out.steps.append(_new(JourneyStep, (customer_id, j.id, sid, "waiting", now, trigger_id, st.label)))
                return
            elif k == "branch":
                target, detail = st.else_, None
                for i, (cond, tgt) in enumerate(st.cases, 1):
                    if cond.evaluate_in(ctx):
                        target, detail = tgt, f"branch:case{i}->{tgt}"
                        break
                out.steps.append(_new(JourneyStep, (customer_id, j.id, sid, "step", now, trigger_id,
                                                    detail or f"branch:else->{target or 'end'}")))
                last, sid = sid, target
            else:  # exit
                self._finish(ctx.state, j.id, m, now, trigger_id, "exit_step", customer_id, out, sid)
                return
        COUNTERS["loop_guard"] += 1
        self._finish(ctx.state, j.id, m, now, trigger_id, "loop_guard", customer_id, out, sid)

    @staticmethod
    def _finish(state: CustomerState, jid: str, m: dict, now: int, trigger_id: str, reason: str,
                customer_id: str, out: JourneyOutput, step_id: str | None = None) -> None:
        """End a membership.  Every way out but running to the end (``completed``) also cancels the deferred sends
        the membership still has pending (those it proposes in this very run are not pending yet)."""
        state.cancel_timers("journey", j=jid)
        out.steps.append(_new(JourneyStep, (customer_id, jid, step_id or m.get("step") or "", "exited", now, trigger_id,
                                            reason)))
        rec = {"step": None, "entered": m.get("entered"), "entries": m.get("entries", []), "goal": m.get("goal")}
        for k in ("c", "n", "h") if reason != "completed" else ("c", "n", "k", "h"):  # (its sends may be deferred)
            if k in m:
                rec[k] = m[k]
        state.journeys[jid] = rec
        if reason != "completed" and state.timers:
            _cancel_deferred(state, jid, now, trigger_id, reason, customer_id, out)

    def _end_overdue(self, state: CustomerState, now: int, trigger_id: str, customer_id: str,
                     out: JourneyOutput) -> None:
        """End (``max_duration``, at ``now``) the active memberships of journeys whose waits can outlast their
        ``max_duration`` once it has passed: the next timer of such a membership is later, and until then it would
        still count as active (its exclusion group refusing other journeys' entries and suppressing their sends)."""
        memberships = state.journeys
        for j in self._may_overrun:
            m = memberships.get(j.id)
            if m is not None and m.get("step") is not None and now - (m.get("entered") or 0) > j.max_duration_ms:
                self._finish(state, j.id, m, now, trigger_id, "max_duration", customer_id, out)

    def _pending_only(self, j: Journey, m: dict, ctx: _Ctx, trigger_id: str, customer_id: str,
                      out: JourneyOutput) -> None:
        """A finished membership with deferred sends still pending: the journey's exits and goals (and its
        ``max_duration``) still apply to them, as they would had the sends been later steps."""
        if j.entry_keys and "r" not in m:  # the entry's references travel with its deferred sends
            refs = next((t[3]["r"] for t in ctx.state.timers if t[2] == "deferred" and t[3].get("j") == j.id
                         and t[3].get("r")), None)
            if refs:
                m = {**m, "r": dict(map(tuple, refs))}
        reason = _ending(j, m, ctx)
        if reason is not None:
            _cancel_deferred(ctx.state, j.id, ctx.now, trigger_id, reason, customer_id, out)

    def ended_by(self, state: CustomerState, event: Event, journey_ids: Iterable[str],
                 steps: Iterable[JourneyStep]) -> dict[str, str]:
        """Which of ``journey_ids`` (journeys with sends proposed earlier at this event time, not yet arbitrated:
        ``stages.arbitration.moment``) ``event`` -- already handled by :meth:`on_event`, which returned ``steps`` --
        ended: journey id -> why (``exit_event:<type>``, ``goal``, ``max_duration``, ``exit_step`` ...).  An active
        membership ended in ``steps`` (``exited``, not ``completed``); one that ran to its end still has its exits
        and goals apply to what it proposed, as to its deferred sends."""
        ids = set(journey_ids)
        out = {s.journey_id: s.detail for s in steps
               if s.kind == "exited" and s.detail != "completed" and s.journey_id in ids}
        ix = self._index.get(event.type)
        if ix is not None and not (event.type in REPORTED_AGAIN and repeated_report(state, event)):
            ctx = None
            for j in ix.active:
                m = state.journeys.get(j.id)
                if j.id in ids and j.id not in out and m is not None and m.get("step") is None:
                    if ctx is None:
                        ctx = _Ctx(state, event.ts, event, _event_product(event), self.attributes,
                                   self.open_ticket_ms, self.soft_bounces)
                    reason = _ending(j, m, ctx)
                    if reason is not None:
                        out[j.id] = reason
        return out

    # ---------------------------------------------------------------------------------------- pending actions
    def check_deferred(self, state: CustomerState, timer: list, customer_id: str) -> JourneyOutput:
        """A due deferred send ``[due, timer_id, "deferred", payload]`` (already popped): is its membership still
        the one that owns it, and is the customer still in the journey's audience?  See
        :func:`.pending.check_deferred`; an active membership whose audience the customer left exits too
        (``exited``, ``audience``)."""
        out = check_deferred(self._by_id, state, timer, customer_id, self._in_audience)
        if out.cancelled and out.cancelled[0][1] == "audience":  # the membership, still active, leaves too
            m = state.journeys.get(timer[3].get("j"))
            if m is not None and m.get("step") is not None:
                self._finish(state, timer[3]["j"], m, timer[0], timer[1], "audience", customer_id, out)
        return out

    def _in_audience(self, j: Journey, state: CustomerState, now: int, product: str | None) -> bool:
        """Whether the customer still matches one of ``j``'s audience conditions (``Journey.audience``) at ``now``;
        ``product``: the entry's (product facts).  True when a condition reads product facts and none is known
        (``model.reads_product``: its parsed field references)."""
        if product is None and any(reads_product(c) for c in j.audience):
            return True
        ctx = _Ctx(state, now, None, product, self.attributes, self.open_ticket_ms, self.soft_bounces)
        return any(c.evaluate_in(ctx) for c in j.audience)

    def cancel_orphans(self, state: CustomerState, now: int, trigger_id: str, customer_id: str) -> JourneyOutput:
        """After a merge: the entries a merged record holds (the active membership it gave up among them) are
        settled (:func:`.held.settle_merged`), then the pending actions of the memberships that were not kept are
        dropped (:func:`.pending.cancel_orphans`)."""
        settled = _new(JourneyOutput, ([], [], []))
        if any("h" in m for m in state.journeys.values()):
            settle_merged(self, state, now, trigger_id, customer_id, settled)
        out = cancel_orphans(state, now, trigger_id, customer_id)
        if settled.steps:  # (settling proposes nothing)
            out = _new(JourneyOutput, (out.candidates, settled.steps + out.steps, out.cancelled))
        return out

    def lookback_ms(self) -> dict[str, int]:
        """How far back state must remember for these journeys (``Retention.covering``): ``journey_history``, the
        longest ``after_cooldown`` cooldown in ms (entry times older than that decide nothing).  ``never`` journeys
        keep a marker instead; the fixed windows of the ``customer`` facts are ``Retention``'s own floors."""
        return {"journey_history": max((j.reentry.cooldown_ms for j in self.journeys
                                        if j.reentry.mode == "after_cooldown"), default=0)}


def _heard_types(engine: JourneyEngine, index: dict) -> frozenset[str] | None:
    """Journey triggers and computed attributes' event types; None when any type matters (traits, overruns)."""
    attributes = engine.attributes
    if engine._may_overrun or (attributes is not None and attributes.traits):
        return None
    return frozenset(index) | (attributes.event_types if attributes is not None else frozenset())


def _may_overrun(j: Journey) -> bool:
    """True when a membership of ``j`` can still be waiting past its ``max_duration``: its waits (timeouts included)
    add up to more -- with a day more when a send comes before a wait, which quiet hours move by up to a night
    (``journeys.deferral``) -- or a step jumps back to an earlier one (a loop through a wait can repeat it)."""
    waits = sum(st.wait_ms or 0 for st in j.steps)
    sent = next((i for i, st in enumerate(j.steps) if st.kind == "send"), len(j.steps))
    if waits + (DAY if any(st.kind == "wait" for st in j.steps[sent:]) else 0) > j.max_duration_ms:
        return True
    pos = {st.id: i for i, st in enumerate(j.steps)}
    return any(pos.get(t, len(pos)) <= i for i, st in enumerate(j.steps) for t in st.targets)


def _ending(j: Journey, m: dict, ctx: _Ctx) -> str | None:
    """Why the event of ``ctx`` ends what membership ``m`` of ``j`` still has pending (``max_duration``, a goal, an
    exit event), or None."""
    ev = ctx.event
    if ctx.now - (m.get("entered") or 0) > j.max_duration_ms:
        return "max_duration"
    if _first_match(j.goal, ev, ctx, m) is not None:
        return "goal"
    if _first_match(j.exit, ev, ctx, m) is not None:
        return f"exit_event:{ev.type}"
    return None


def _entry_trigger(j: Journey, event: Event, ctx: _Ctx):
    """The first of ``j``'s entry triggers ``event`` matches (no membership to compare with), or None."""
    return _first_match(j.entry, event, ctx)


def _arm(j: Journey, m: dict, customer_id: str) -> bool:
    """The membership's arm: stored at entry; a record written before arms were stored falls back to the old draw
    (a hash of the customer id)."""
    if j.control_group_pct <= 0:
        return False
    c = m.get("c")
    return bool(c) if c is not None else j.in_control(customer_id)
