"""The per-customer decision core: events and due timers, in event-time order, through state → journeys → arbitration.

Pure Python.  Both execution paths drive the same ``CustomerProcessor``:

* bounded replay groups an identity cluster's events, sorts them by ``Event.sort_key`` and folds them with
  ``journeyflow.stages.bounded.ClusterFold``, which applies identity merges at their event time and drives this
  processor's moments (the in-process bounded path used by ``compare`` and the bench is the same code);
* streaming buffers a customer's events in Beam state and calls ``advance`` each time the watermark passes the
  earliest pending time (``transforms.decide_streaming``); identity merges arrive as control events
  (``journeyflow.stages.identity.online``).

Ordering rule (the same on both paths, so the decisions are the same): a timer due at ``t`` fires before an event
with ``ts > t`` and after events with ``ts <= t``; events with equal ``ts`` are ordered by ``Event.sort_key``:
consent/deliverability changes first, then stream rank, then uid (an exit or goal of that ms ends a membership entered
after it: ``journeys.matching``); the candidates of all inputs at one time are arbitrated once, together.

Address statuses (issue 16, :mod:`journeyflow.stages.deliverability`): an ``ADDRESS_STREAM`` copy (another
customer's record changed the status of an address this customer holds) changes that address's status only.  A
status record whose event id repeats is a ``duplicate_event``, its (idempotent) change applied: an opt-out is kept.
Pending actions die with their membership: the journey engine cancels a membership's deferred sends when it
leaves the journey (``JourneyOutput.cancelled``), checks a due deferral's owner before it is re-arbitrated
(``check_deferred``) and drops the pending actions of memberships a merge did not keep (``cancel_orphans``, after
``CustomerState.merge`` on both paths); each cancelled send becomes a ``suppress`` decision with reason
``journey_exited`` at the moment it was cancelled, so the audit shows what happened to the ``wait`` it followed.
Account deletions (:mod:`journeyflow.stages.deletion`): a deletion ends every membership and pending action of the
customer (``account_deleted``) and erases the profile; a deleted customer's later records change nothing until a
new account, and a deleted profile found in a merge or marked late is settled at its next input.
Poison inputs: when handling one event, or one moment of due timers, raises an ``Exception`` (a bug that specific
content triggers in a journey condition, in arbitration ...), ``advance`` and ``ClusterFold.run`` isolate it instead
of letting the exception escape (a streaming runner would retry the bundle forever, the customer stuck).  No partial
mutation is kept and nothing is copied per event: ``advance`` restores the caller's state in place from a snapshot
taken once per call (none for an empty state; none when the caller passes the bytes it read the state from) and
``ClusterFold.run`` starts again from empty states; the outputs are cut back to their length at the start, the
offender (an event uid; a timer; every input of a moment whose joint arbitration failed) is excluded and the call
re-runs.  The result is that of the same input without the offender, plus one ``processing_error`` dead
letter (exception type and message, PII masked) per excluded event and per dropped timer, and one logged warning per
isolated offender.  In ``ClusterFold`` an excluded event's identity links are still applied (identity is resolved
upstream, as in streaming) unless applying them is what failed.  At most ``max_isolated`` offenders per call: a
failure that persists past them (every event failing is a systemic bug, not a poison record) is raised.
"""
from __future__ import annotations

import base64
import heapq
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Protocol, Sequence

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.decisions import Candidate, Decision
from journeyflow.model.events import ACCOUNT_DELETED_TYPE, ADDRESS_STREAM, Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.arbitration.moment import (  # noqa: F401 - the payload helpers are re-exported
    PendingMoment,
    cancelled_decision,
    candidate_from_payload,
    candidate_to_payload,
    pop_all_due_at,
    retrigger,
)
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, MERGE_INTO, link_of
from journeyflow.stages.journeys.deferral import shift_waits
from journeyflow.stages.isolation import (  # noqa: F401 - re-exported (bounded, the streaming stage)
    MAX_DETAIL,
    MAX_ISOLATED,
    TIMER_STREAM,
    _dead_event,
    _dead_timer,
    _Isolation,
    _Mark,
    _NoRows,
    _Poison,
    _timer_key,
)
from journeyflow.stages.state import DAY, CustomerState, Retention
from journeyflow.stages import deletion as _deletion
from journeyflow.stages import state_bounds as _bounds
from journeyflow.stages.state_bounds import _GROWN_BY_TYPE, cap, cap_event, dormant_ms, expire_state, is_dormant, retire

#: A horizon past every timer: bounded replay with ``--until end`` (the streaming watermark reaching +infinity).
END_OF_TIME = 2**62

#: Every field of the state: ``advance`` mutates the caller's object, so a restore sets them all in place.
_STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CustomerState))
_EMPTY = (None, [], {}, "")


class _Engine(Protocol):
    def on_event(self, state: CustomerState, event: Event, customer_id: str, earlier: Any = ()) -> Any: ...
    def on_timer(self, state: CustomerState, timer: list, customer_id: str) -> Any: ...
    def check_deferred(self, state: CustomerState, timer: list, customer_id: str) -> Any: ...
    def cancel_orphans(self, state: CustomerState, now: int, trigger_id: str, customer_id: str) -> Any: ...


class _Arbiter(Protocol):
    def arbitrate(self, state: CustomerState, candidates: list[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> Any: ...


@dataclass(slots=True)
class Outputs:
    """What a call of ``advance`` / ``ClusterFold.run`` produced, appended in event-time order.

    ``events`` / ``timers`` count the events and timers that went through the decision path (duplicates and
    excluded offenders are not counted; they are in ``dead``)."""

    decisions: list[Decision] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)  # journeys.JourneyStep
    dead: list[DeadLetter] = field(default_factory=list)  # duplicates, late events, processing errors
    events: int = 0  # events that went through the decision path
    timers: int = 0
    final_states: dict[str, CustomerState] = field(default_factory=dict)  # ClusterFold: sub-profile states
    transfers: list[tuple[str, Event]] = field(default_factory=list)  # streaming: (target customer, absorb event)
    pending: dict[int, PendingMoment] = field(default_factory=dict)  # id(state) -> its moment (arbitration.moment)
    #: id(state) -> (state, ts, *its events at ts): those of the types the engine hears, and the first of the call
    moment_events: dict[int, tuple] = field(default_factory=dict)
    #: True when every state this call's events go to starts within the caps and this call's ``moment_events`` is
    #: its own (``ClusterFold``: states start empty or capped after a merge, one Outputs per attempt); then an
    #: event after an earlier one of its state looks only at what it can grow (``state_bounds.cap_event``)
    fresh_states: bool = False


def _assign(state: CustomerState, source: CustomerState) -> None:
    """Set every field of ``state`` from ``source`` in place (callers hold a reference to ``state``)."""
    for f in _STATE_FIELDS:
        setattr(state, f, getattr(source, f))


def _is_empty(state: CustomerState) -> bool:
    """``state`` equals ``CustomerState(customer_id=state.customer_id)`` (the fields ``to_dict`` would write)."""
    for f in _STATE_FIELDS:
        if f != "customer_id" and getattr(state, f) not in _EMPTY:
            return False
    return True


class CustomerProcessor:
    """The per-customer decision core: one event or one timer moment at a time, through state → journeys →
    arbitration (module doc: ordering rule, poison isolation).

    ``engine``: a ``JourneyEngine``; ``arbiter``: an ``Arbiter`` (or any object with the same ``arbitrate``);
    ``retention``: how long state is kept; ``expire_every_ms``: minimum event time between two expiry passes of
    one customer (ms); ``max_isolated``: offenders isolated per call before the failure is raised.
    """

    def __init__(self, engine: _Engine, arbiter: _Arbiter, retention: Retention = Retention(),
                 expire_every_ms: int = DAY, max_isolated: int = MAX_ISOLATED):
        self.engine = engine
        self.arbiter = arbiter
        self.retention = retention
        self.expire_every_ms = expire_every_ms
        self.max_isolated = max_isolated
        self.dormant_ms = dormant_ms(retention)
        #: event types the engine acts on (``JourneyEngine.heard_types``; None: all): an event of another type only
        #: updates the state (its ``on_event`` would return an empty output)
        self._heard = getattr(engine, "heard_types", None)
        #: ``Arbiter.quiet_until`` (None: an arbiter without quiet hours): when quiet hours let a candidate go out
        self._quiet_until = getattr(arbiter, "quiet_until", None)

    # ------------------------------------------------------------- moments
    def on_event(self, state: CustomerState, ev: Event, out: Outputs) -> None:
        """Handle one event: identity control events (streaming merges), duplicates (dead-lettered as
        ``duplicate_event``), else state update, journeys and arbitration of the candidates; raises what they
        raise (``advance`` isolates it).  A dormant customer is retired first (``state_bounds``, at the time its
        streaming expiry timer is set for)."""
        ts, stream, etype = ev.ts, ev.stream, ev.type
        last = state.last_event
        if last is not None and ts - last >= self.dormant_ms:
            self.retire_if_dormant(state, ts)
        if stream == IDENTITY_STREAM:
            self._on_identity(state, ev, out)
            return
        if stream == ADDRESS_STREAM:
            # another customer's record changed the status of an address this customer holds: status only (no
            # journeys, not an event of this customer, idempotent so never a duplicate)
            state.apply_address(ev)
            return
        seen, uid = state.seen, ev.uid  # (``CustomerState.is_duplicate``, inlined: once per event)
        if uid in seen:
            state.apply_status(ev)  # (a consent/deliverability change: see the module doc)
            out.dead.append(DeadLetter(stream=stream, reason=DeadLetterReason.DUPLICATE_EVENT,
                                       detail=f"event {uid} was already processed", payload="",
                                       source=uid, event_time=ts))
            return
        seen[uid] = ts
        out.events += 1
        if (state.account is not None or etype == ACCOUNT_DELETED_TYPE) and _deletion.on_event(self, state, ev, out):
            return self._maybe_expire(state, ts)  # a deletion, or a deleted customer's record (``stages.deletion``)
        state.apply(ev)
        # the customer's events of this millisecond handled before this one (``journeys.matching.earlier_in_moment``,
        # inlined: once per event)
        heard = self._heard
        # a type the engine does not hear: no steps, cancellations or candidates (a pending moment's journeys are
        # ended only by a type the engine hears), and no trigger matches it, so it is left out of the millisecond's
        # record once its state has one (``Outputs.moment_events``)
        quiet = heard is not None and etype not in heard
        book, key, pending, retention = out.moment_events, id(state), out.pending, self.retention
        me = book.get(key)
        # within the caps before this event (``Outputs.fresh_states``): an earlier event of this call capped it, and
        # no moment is pending (its event skipped the caps until the moment is decided); then only what this event
        # grows is looked at
        if me is not None and me[0] is state:
            capped = out.fresh_states and not (pending and key in pending)
            if quiet:
                pass
            elif me[1] == ts:
                earlier = me[2:]
                book[key] = me + (ev,)
            else:
                if len(book) > 64:
                    book.clear()
                book[key] = (state, ts, ev)
                earlier = ()
        else:
            capped = False
            if len(book) > 64:
                book.clear()
            book[key] = (state, ts, ev)
            earlier = ()
        if quiet:
            if capped:  # (``cap_event``'s first tests inlined: its ``seen``, and whether the type grows another list)
                known = _bounds._LIMITS
                if known[0] is not retention or len(seen) > known[1][0] or etype in _GROWN_BY_TYPE:
                    cap_event(state, retention, etype)
            else:
                cap(state, retention)
            if (expired := state.expired_at) is None or ts - expired >= self.expire_every_ms:
                expire_state(state, ts, retention)  # (CustomerState.expire)
            return
        jo = self.engine.on_event(state, ev, state.customer_id, earlier)
        if steps := jo.steps:
            out.steps.extend(steps)
        if jo.cancelled:
            self._record_cancelled(state, jo.cancelled, ts, uid, out)
        if pending and (pend := pending.get(key)) is not None:  # an exit now drops them
            pend.cancel(self.engine.ended_by(state, ev, pend.journeys(), steps), uid, out.decisions, out.steps)
        if jo.candidates:  # arbitrated with the other inputs of this time, before the next one (``_settle``)
            return self._propose(state, jo.candidates, ts, uid, (uid,), out)
        if capped:  # (``_maybe_expire``, inlined: once per event)
            cap_event(state, retention, etype, steps)
        else:
            cap(state, retention)
        if (expired := state.expired_at) is None or ts - expired >= self.expire_every_ms:
            expire_state(state, ts, retention)  # (CustomerState.expire)

    def _on_identity(self, state: CustomerState, ev: Event, out: Outputs) -> None:
        """Streaming identity merges (bounded replay merges inside ``ClusterFold`` instead).

        ``merge_into``: this customer was linked into ``attrs["into"]``; hand the whole state over (as an
        ``absorb`` event at the same event time) and start empty.  ``absorb``: union the handed-over state.
        ``merge_from`` changes nothing here (the streaming stage holds and splits the flush around it).
        """
        if ev.type == MERGE_INTO:
            target = ev.attrs["into"]
            if target == state.customer_id:
                return
            # sent even when empty: the survivor holds its events after the link until this absorb arrives
            # (``journeyflow.stages.identity.flush_plan``)
            payload = base64.b64encode(state.to_bytes()).decode()
            out.transfers.append((target, Event(uid=f"absorb:{state.customer_id}:{ev.uid}", stream=IDENTITY_STREAM,
                                                type=ABSORB, ts=ev.ts, ids=(target,),
                                                attrs={"state": payload, "from": state.customer_id,
                                                       "link": link_of(ev)})))
            _assign(state, CustomerState(customer_id=state.customer_id))
        elif ev.type == ABSORB:
            other = CustomerState.from_bytes(base64.b64decode(ev.attrs["state"]))
            merged = state.merge(other)
            merged.customer_id = state.customer_id
            _assign(state, merged)
            self.after_merge(state, ev.ts, link_of(ev), out)  # (replay's trigger: the linking record)

    def after_merge(self, state: CustomerState, now: int, trigger_id: str, out: Outputs) -> None:
        """Cancel the pending actions of the memberships the merge did not keep (``JourneyEngine.cancel_orphans``)."""
        cap(state, self.retention)  # a union of two capped states may be over the caps
        jo = self.engine.cancel_orphans(state, now, trigger_id, state.customer_id)
        out.steps.extend(jo.steps)
        if jo.cancelled:
            self._record_cancelled(state, jo.cancelled, now, trigger_id, out)
        if state.account is not None and _deletion.is_deleted(state):  # a merged profile was deleted: the person is
            _deletion.settle(self, state, now, trigger_id, out)

    def _record_cancelled(self, state: CustomerState, cancelled: list, now: int, trigger_id: str,
                          out: Outputs) -> None:
        for timer, _reason in cancelled:
            out.decisions.append(cancelled_decision(state.customer_id, timer, now, trigger_id))

    def _on_timers(self, state: CustomerState, timers: list[list], out: Outputs, current: list) -> None:
        # one moment: every timer due at the same instant; their candidates are arbitrated together
        # current[0]: the timer being handled; None once all are (the moment's arbitration and expiry)
        due = timers[0][0]
        if state.account is not None and _deletion.is_deleted(state):  # marked late (``stages.deletion``)
            for t in timers:
                heapq.heappush(state.timers, t)
            return _deletion.settle(self, state, due, min(t[1] for t in timers), out)
        candidates: list[Candidate] = []
        if len(timers) == 1:  # (the usual moment: one timer)
            trigger_id = timers[0][1]
            deferred = timers if timers[0][2] == "deferred" else []
        else:
            trigger_id = min(t[1] for t in timers)
            deferred = [t for t in timers if t[2] == "deferred"]
        if deferred and len(deferred) < len(timers):
            # a journey timer of this moment may end a membership and with it a deferred send due now: put the
            # deferrals back so that the cancellation finds them, and take back those left afterwards
            timers = [t for t in timers if t[2] != "deferred"]
            for t in deferred:
                heapq.heappush(state.timers, t)
        else:
            timers, deferred = ([], deferred) if deferred else (timers, [])
        for timer in timers:
            current[0] = timer
            out.timers += 1
            if timer[2] == "journey":
                jo = self.engine.on_timer(state, timer, state.customer_id)
                out.steps.extend(jo.steps)
                candidates.extend(jo.candidates)
                if jo.cancelled:
                    self._record_cancelled(state, jo.cancelled, due, timer[1], out)
        if timers and deferred:
            deferred = []
            for t in pop_all_due_at(state, due):
                if t[2] == "deferred":
                    deferred.append(t)
                else:  # (none: everything scheduled during a moment is due later) -- not lost if there were
                    heapq.heappush(state.timers, t)
        for timer in deferred:
            current[0] = timer
            out.timers += 1
            jo = self.engine.check_deferred(state, timer, state.customer_id)
            if jo.cancelled:
                out.steps.extend(jo.steps)
                self._record_cancelled(state, jo.cancelled, due, timer[1], out)
            else:
                candidates.append(candidate_from_payload(timer[3], due))
        current[0] = None
        if candidates:
            self._propose(state, candidates, due, trigger_id, tuple(_timer_key(t) for t in timers + deferred), out)
        else:
            self._maybe_expire(state, due)

    # ------------------------------------------------------------- moments (``arbitration.moment``)
    def _propose(self, state: CustomerState, candidates: list[Candidate], now: int, trigger_id: str, keys: tuple,
                 out: Outputs) -> None:
        out.pending.setdefault(id(state), PendingMoment(state, now)).add(trigger_id, candidates, keys)

    def _settle(self, state: CustomerState, now: int | None, out: Outputs) -> None:
        """Arbitrate ``state``'s pending moment before an input at another time ``now`` (None: in any case)."""
        pend = out.pending.get(id(state))
        if pend is None or pend.now == now:
            return
        cands, trigger_id, triggers = out.pending.pop(id(state)).merged()
        try:
            if cands:
                self._arbitrate(state, cands, pend.now, trigger_id, out, triggers)
            self._maybe_expire(state, pend.now)
        except Exception as exc:
            raise _Poison(pend.keys(), exc, f"decision moment of {trigger_id}", pend.now) from exc

    def settle_done(self, out: Outputs, until: int, strict: bool, only: CustomerState | None = None) -> None:
        """Arbitrate the moments (of ``only``, or all) no input is left for (no timer due then; not an event at
        ``until`` next when ``strict``)."""
        for pend in list(out.pending.values()):
            s = pend.state
            if (only is None or s is only) and not (strict and pend.now == until) and s.next_due() != pend.now:
                self._settle(s, None, out)

    def settle_all(self, out: Outputs, now: int | None = None) -> None:
        """Arbitrate every pending moment not at ``now`` (None: all of them; the end of a call, before a merge)."""
        for pend in list(out.pending.values()):
            self._settle(pend.state, now, out)

    def _arbitrate(self, state: CustomerState, candidates: list[Candidate], now: int, trigger_id: str,
                   out: Outputs, triggers: dict[tuple, str] | None = None) -> None:
        if state.account is not None and _deletion.is_deleted(state):  # (``stages.deletion``: fail safe)
            res = _deletion.suppressed(candidates, now, state.customer_id, trigger_id)
        else:
            res = self.arbiter.arbitrate(state, candidates, now, state.customer_id, trigger_id)
        if triggers:  # a moment of several inputs: each chosen or deferred record names its own trigger
            res.decisions[:] = retrigger(res.decisions, triggers, trigger_id)
        # the arbiter chose each send's delivery address (Decision.address / address_key) along with the send
        out.decisions.extend(res.decisions)
        for due, cand in res.deferred:
            tid = f"defer:{cand.journey_id}:{cand.step_id}:{cand.channel}:{cand.trigger_id}:{due}"
            state.schedule(due, tid, "deferred", candidate_to_payload(cand))
        if self._quiet_until is not None:  # a wait after a send quiet hours hold counts from their end
            shift_waits(state, candidates, now, self._quiet_until, getattr(res, "moment", None))  # (``deferral``)

    def retire_if_dormant(self, state: CustomerState, now: int) -> bool:
        """Retire ``state`` when it is dormant at ``now`` (:mod:`journeyflow.stages.state_bounds`); True when
        nothing is left of it (streaming then deletes the stored state)."""
        return is_dormant(state, now, self.retention) and retire(state, self.retention)

    def expiry_due(self, state: CustomerState) -> int | None:
        """Event time (ms) at which ``state`` becomes dormant (its streaming expiry timer), or None when it has no
        activity time (empty, or only what never expires)."""
        return None if state.last_event is None else state.last_event + self.dormant_ms

    def _maybe_expire(self, state: CustomerState, now: int) -> None:
        cap(state, self.retention)  # caps on write: bounded within a day too (issue 23)
        # at most once per `expire_every_ms` (a day) of event time per customer: expiry is O(state), and the
        # windowed questions (caps, view counts) filter by time themselves, so expiry only bounds the size
        if state.expired_at is None or now - state.expired_at >= self.expire_every_ms:
            expire_state(state, now, self.retention)  # (CustomerState.expire)

    # ------------------------------------------------------------ the fold
    def advance(self, state: CustomerState, events: Iterable[Event], until: int | None, out: Outputs,
                state_bytes: bytes | None = None, steps: bool = True) -> None:
        """Process ``events`` (already sorted by ``Event.sort_key``) and the timers due up to ``until``.

        An event or timer moment whose handling raises is isolated (module doc, "Poison inputs"): ``state`` and
        ``out`` end as without it, plus its ``processing_error`` dead letter.  ``state_bytes``: ``state.to_bytes()``
        (or the bytes ``state`` was read from) when the caller has it, so the restore point costs nothing.  ``steps``
        False: no journey-step row is added to ``out.steps`` (the same decisions, dead letters and state)."""
        if not steps:
            kept, out.steps = out.steps, _NoRows()
            try:
                return self.advance(state, events, until, out, state_bytes)
            finally:
                out.steps = kept
        if not isinstance(events, (list, tuple)):
            events = list(events)  # iterated again after a failure
        mark = _Mark(out)
        moment = out.moment_events.get(id(state))  # (this millisecond's earlier events: a re-run starts from them)
        cid = state.customer_id
        snapshot = None
        if state_bytes is None and not _is_empty(state):
            snapshot = state.to_bytes()  # the restore point (streaming callers pass the bytes they read instead)
        iso = _Isolation(self.max_isolated, cid)
        while True:
            try:
                self._advance(state, events, until, out, iso.excluded)
                return
            except _Poison as p:
                poison = p
            iso.add(poison)  # raises the original exception when the offender cannot be excluded
            del poison
            if state_bytes is not None:
                start = CustomerState.from_bytes(state_bytes)
            elif snapshot is not None:
                start = CustomerState.from_bytes(snapshot)
            else:
                start = CustomerState(customer_id=cid)
            _assign(state, start)
            mark.reset(out)
            if moment is None:  # the failed attempt's events are no earlier events of their millisecond
                out.moment_events.pop(id(state), None)
            else:
                out.moment_events[id(state)] = moment

    def _advance(self, state: CustomerState, events: Sequence[Event], until: int | None, out: Outputs,
                 excluded: dict) -> None:
        on_event = self.on_event
        for ev in events:
            if excluded and ev.uid in excluded:
                out.dead.append(_dead_event(ev, excluded[ev.uid]))
                continue
            if state.timers or out.pending:
                self._fire(state, ev.ts, out, True, excluded)
            if out.pending and ev.stream == IDENTITY_STREAM:  # a merge hands the state over: its moment first
                self._settle(state, None, out)
            try:
                on_event(state, ev, out)
            except Exception as exc:
                raise _Poison((ev.uid,), exc, f"event {ev.uid}", ev.ts) from exc
        if until is not None:
            self._fire(state, until, out, False, excluded)
        self.settle_all(out)

    def _fire(self, state: CustomerState, until: int, out: Outputs, strict: bool, excluded: dict) -> None:
        """Fire every timer due at or before ``until`` (strictly before when ``strict``) in time order, one moment
        per due time, with every moment guarded (a failure becomes a ``_Poison``) and excluded timers dropped."""
        while True:
            if out.pending:  # a moment before ``until`` whose inputs are all handled is decided now (its sends
                self.settle_done(out, until, strict, state)  # may defer to a time before ``until``)
            if not state.timers:
                return
            due = state.timers[0][0]
            if due > until or (strict and due == until):
                return
            self._moment(state, pop_all_due_at(state, due), out, excluded)

    def _moment(self, state: CustomerState, timers: list[list], out: Outputs, excluded: dict) -> None:
        if excluded:
            keep = []
            for t in timers:
                k = _timer_key(t)
                if k in excluded:
                    out.dead.append(_dead_timer(t, excluded[k]))  # popped and not handled: dropped from the state
                else:
                    keep.append(t)
            if not keep:
                return
            timers = keep
        current: list = [None]
        try:
            self._on_timers(state, timers, out, current)
        except Exception as exc:
            bad = timers if current[0] is None else [current[0]]  # the moment's joint arbitration: all of it
            raise _Poison(tuple(_timer_key(t) for t in bad), exc, "timer " + ", ".join(str(t[1]) for t in bad),
                          timers[0][0]) from exc

