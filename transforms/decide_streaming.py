"""Streaming per-customer state: buffer, release on the watermark, same core as bounded replay.

``OrderedCustomerFn`` is keyed by customer id.  Each event goes into a BagState buffer; one event-time timer
(``flush``) is kept at the earliest pending time + ``allowed_lateness`` + 1 ms (``PAST``) and only ever moved
earlier (a Beam timer has one firing time; setting it per element would make the result depend on arrival order).
When it fires at T, the horizon is ``H = T - allowed_lateness - 1 ms``: buffered events with ``ts <= H`` and the
customer's own timers (journey waits, quiet-hours deferrals) due ``<= H`` are processed together in event-time
order by ``CustomerProcessor`` (exactly what bounded replay does in one go), then the timer is re-armed at the next
pending time.

An event arriving for a time the customer has already processed (``ts <= H`` of an earlier flush) is late: it
goes to dead letter with reason ``late_event`` (never silently dropped).  ``allowed_lateness`` trades latency for
tolerance: events up to that much behind the watermark are still put in order.

``hold_until_ms`` (set when ``stream`` rebuilds on start: the default on the local runner, or ``--resume``): no
flush fires before that event time.  A resumed pipeline re-reads
its retained input, mostly *behind* the local runner's wall-clock watermark; without the hold, a customer's first
replayed messages would be processed as soon as they arrive and the rest of its history, still being read, would
then be late.  With it, the whole retained backlog is buffered first and processed in event-time order, as the
stopped pipeline did (Dataflow's watermark follows the backlog's event times, so the hold only costs a delay there).

``snapshots=True`` (set when the pipeline writes tables): after each flush, the customer's ``customer_snapshots``
row at the flush horizon (one row per customer and flush; none for a customer whose state was handed over).

Output tags and counters are shared with bounded replay (``transforms.outputs``).

State lives in the global window, which the runner never garbage-collects, so the stage bounds it itself
(issue 23, :mod:`journeyflow.stages.state_bounds`): the caps are applied on write (after every event and timer
moment, by the shared core), and while a customer has anything that can expire its flush timer stays pending, at
the latest for the time it becomes dormant (``last_event`` + the longest retention window); when that time passes
with nothing else pending, the customer is retired and, if nothing that never expires (consent, addresses ...) is
left, every state cell of the key is cleared (counter ``customers_retired``).  A customer handed over to another
(identity merge) keeps only its processed horizon.  Distribution ``customer_state_bytes``: size after each flush.
"""
from __future__ import annotations

import base64
import logging
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.coders import BytesCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from journeyflow.config.engine import EngineConfig
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import ADDRESS_STREAM, Event, decode_event, is_status_event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.flush_plan import flush_order, plan_flush
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, status_handover
from journeyflow.stages.parse import mask_pii
from journeyflow.stages.processor import Outputs
from journeyflow.stages.snapshot import snapshot_row
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_codec import decode_state, encode_state
from journeyflow.stages.state_bounds import is_empty
from journeyflow.transforms.coders import EventCoder
from journeyflow.transforms import handover as _handover
from journeyflow.transforms.decide_caches import KEPT_DECODED, KEPT_STATES, FlushCaches  # noqa: F401 - re-exported
from journeyflow.transforms.drain_hold import (  # noqa: F401 - set_timer_input_watermark: re-exported
    _END_MS, BACKOFF_MS, HeldAtEnd, backoff_ms, pending_moments, set_timer_input_watermark, timer_input_watermark_ms)
from journeyflow.transforms.handover import (
    HandoverWait, consent_before, lift_stand_ins, pack_forwarded, stand_in_absorb, with_subprofiles)
from journeyflow.transforms.outputs import (  # noqa: F401 - DEAD, STEPS, TRANSFERS: this stage's tags, re-exported
    DEAD, DECISIONS, SNAPSHOTS, STEPS, TAGGED, TRANSFERS, NAMESPACE, DecideCounters)
from journeyflow.transforms.windows import in_global_windows


log = logging.getLogger(__name__)

_EVENTS = EventCoder()  # buffered events' stored form (journeyflow.stages.state_codec, module docstring)


def decode_buffered(b: bytes) -> Event:
    """A buffered event from its stored form: ``EventCoder``'s, or the JSON array of earlier builds' buffers."""
    return decode_event(b) if b[:1] == b"[" else _EVENTS.decode(b)


#: The flush timer for horizon ``H`` is set for ``H + allowed lateness + PAST`` (ms): a runner fires an event-time
#: timer once the watermark *reaches* its time, while an element is late only when its time + the lateness is
#: *behind* the watermark; without the millisecond, a record dated ``H`` and still on time (an opt-out at the due
#: time of a send) arrived after the moment ``H`` had been decided.
PAST = 1

#: (``timer_input_watermark_ms``, read here as a global: tests patch it, and ``_END_MS``: ``transforms.drain_hold``)
#: How long (event time past a link) a surviving customer waits for the absorbed customer's state (issue 23.4).
TRANSFER_WAIT_MS = 30_000
#: Hand-overs that timed out named in the stage's one warning per bundle (all of them are counted:
#: ``handovers_timed_out``).  One warning per customer cost ~0.2 ms each (masking and writing), a backlog's worth of
#: lines when a transfer subscription is down.
TIMED_OUT_EXAMPLES = 3


class OrderedCustomerFn(FlushCaches, beam.DoFn):
    """Keyed by customer id: buffers the customer's events and releases them in event-time order when the
    watermark passes (module docstring).  State: ``customer`` (CustomerState bytes), ``buffer`` (encoded events),
    ``pending`` (the flush timer's time, epoch ms), ``done`` (horizon processed so far, epoch ms), ``handover``
    (``transforms.handover.HandoverWait``: a link held past its event-time wait, stand-ins for hand-overs given up
    on) with the processing-time timer ``handover_grace`` (``transforms.handover``, the fail-safe hold).

    Dataflow ``--update`` from a build before qa14a: the step (``OrderedCustomerState``, label unchanged) gains the
    state cell ``handover`` and the REAL_TIME timer ``handover_grace``; keys start with neither (nothing waits).
    If the update's compatibility check refuses the changed step, drain and start with ``--resume`` instead."""

    CUSTOMER = ReadModifyWriteStateSpec("customer", BytesCoder())
    BUFFER = BagStateSpec("buffer", BytesCoder())
    PENDING = ReadModifyWriteStateSpec("pending", VarIntCoder())  # time the flush timer is set for
    DONE = ReadModifyWriteStateSpec("done", VarIntCoder())  # horizon processed so far
    FLUSH = TimerSpec("flush", TimeDomain.WATERMARK)
    HANDOVER = ReadModifyWriteStateSpec("handover", BytesCoder())  # HandoverWait (transforms.handover)
    GRACE = TimerSpec("handover_grace", TimeDomain.REAL_TIME)

    def __init__(self, config: EngineConfig, allowed_lateness_ms: int = 0, hold_until_ms: int = 0,
                 snapshots: bool = False, handover_grace_ms: int | None = None, until_clock: bool = True,
                 steps: bool = True):
        self.config, self.until_clock, self.steps = config, until_clock, steps
        self.grace_ms = handover_grace_ms
        self.lateness = allowed_lateness_ms
        self.hold_until = hold_until_ms
        self.snapshots = snapshots
        self.transfer_wait = TRANSFER_WAIT_MS
        self.counters = DecideCounters(per_bundle=True)
        self.buffered = Metrics.distribution(NAMESPACE, "buffered_events_per_flush")
        self.state_bytes = Metrics.distribution(NAMESPACE, "customer_state_bytes")
        self.retired = Metrics.counter(NAMESPACE, "customers_retired")
        self.timed_out = Metrics.counter(NAMESPACE, "handovers_timed_out")
        self.graces = Metrics.counter(NAMESPACE, "handover_graces_started")
        self.lifted = Metrics.counter(NAMESPACE, "handover_stand_ins_lifted")
        self.held = HeldAtEnd()  # moments due after the processing time at the end of the input (drain_hold)

    def start_bundle(self) -> None:
        """Only this bundle's failed conditions are counted (``DecideCounters.start_bundle``)."""
        self.counters.start_bundle()
        self._sizes: tuple[list[int], list[int]] = ([], [])
        self._timed_out: list[tuple[str, Event]] = []

    def finish_bundle(self) -> None:
        """The bundle's counts and distribution values go to Beam's metrics (``DecideCounters`` ``per_bundle``:
        one metrics-container look-up per metric and bundle instead of per flush)."""
        self.counters.finish_bundle()
        sizes, self._sizes = self._sizes, ([], [])
        for dist, values in zip((self.buffered, self.state_bytes), sizes):
            for v in values:
                dist.update(v)
        self.held.finish_bundle()
        timed_out, self._timed_out = self._timed_out, []
        if timed_out:
            self.timed_out.inc(len(timed_out))
            safe = (f" and {self.grace_ms} ms of processing time; every channel counted opted out until it arrives"
                    if self.grace_ms is not None else "")
            log.warning("journeyflow: %d customer(s) went on without the state of a customer merged into them: no "
                        "hand-over within %d ms of event time%s (counter handovers_timed_out), e.g. %s",
                        len(timed_out), self.transfer_wait, safe, "; ".join(
                            f"{mask_pii(key)} without {mask_pii(str(mf.attrs.get('from')))} (merged at {mf.ts})"
                            for key, mf in timed_out[:TIMED_OUT_EXAMPLES]))

    def setup(self) -> None:
        """One CustomerProcessor per worker; the caches of decoded buffered events (``_remember``) and of decoded
        customer states (``_read_state``)."""
        self.processor = self.config.build_processor()
        self._kept: dict[str, dict[bytes, Event]] = {}
        self._kept_n = 0
        self._states: dict[str, tuple[bytes, CustomerState]] = {}
        self._held: dict[str, tuple[int, int]] = {}
        self._sizes = ([], [])
        self._timed_out = []

    def process(self, element: tuple[str, Event | tuple[Event, ...]],
                customer=beam.DoFn.StateParam(CUSTOMER),
                buffer=beam.DoFn.StateParam(BUFFER),
                pending=beam.DoFn.StateParam(PENDING),
                done=beam.DoFn.StateParam(DONE),
                flush=beam.DoFn.TimerParam(FLUSH)) -> Iterator[Any]:
        """Buffers one event and moves the flush timer earlier if needed; an event at or before the processed
        horizon is a ``late_event`` dead letter (a late identity hand-over or address-status copy is moved to the next
        moment instead; a late consent or deliverability record still changes the stored statuses: ``_late_status``)."""
        _key, ev = element
        if type(ev) is tuple:  # merge_froms packed with their event (``identity_online``, pack): one by one, in order
            for one in ev:
                yield from self.process((_key, one), customer, buffer, pending, done, flush)
            return
        packed = ev.attrs.get("events") if ev.stream == IDENTITY_STREAM and ev.type == ABSORB else None
        if packed:
            # events the absorbed customer held past the link (they arrived before it): decided here, in order
            ev = Event(ev.uid, ev.stream, ev.type, ev.ts, ev.ids, {k: v for k, v in ev.attrs.items() if k != "events"},
                       ev.contact)
            for b in packed:
                yield from self.process((_key, decode_event(base64.b64decode(b))), customer, buffer, pending, done,
                                        flush)
        horizon = done.read()
        if horizon is not None and ev.ts <= horizon and ev.stream in (IDENTITY_STREAM, ADDRESS_STREAM):
            # an identity merge (state hand-over) that took longer than the allowed lateness to travel through the
            # state-transfer topic, or an address-status copy of an older change sent to a new holder of the address
            # (transforms.address): never dropped, applied at the next moment instead of at its own time (a copy
            # keeps that time in its attrs: the latest status in event time still wins)
            ev = Event(ev.uid, ev.stream, ev.type, horizon + 1, ev.ids, ev.attrs, ev.contact)
        if horizon is not None and ev.ts <= horizon:
            self.counters.late.inc()
            applied = self._late_status(ev, customer)
            if applied is None:  # handed over by a merge: the change goes on to the customer the state went to
                yield beam.pvalue.TaggedOutput(TRANSFERS, (_key, status_handover(_key, ev)))
            yield beam.pvalue.TaggedOutput(DEAD, DeadLetter(
                stream=ev.stream, reason=DeadLetterReason.LATE_EVENT,
                detail=f"event time {ev.ts} is at or before this customer's processed horizon {horizon} "
                       f"(allowed lateness {self.lateness} ms)"
                       + ("; its consent/deliverability change was applied" if applied is not False else ""),
                payload="", source=ev.uid, event_time=ev.ts))
            return
        stored = _EVENTS.encode(ev)
        buffer.add(stored)
        self._remember_one(_key, stored, ev)  # the flush takes it from here instead of decoding ``stored``
        held = self._held.get(_key)
        if (held is not None and ev.ts >= held[0] and horizon == held[0] - 1
                and not (ev.type == ABSORB and ev.stream == IDENTITY_STREAM) and pending.read() == held[1]):
            # held (``_hold``): the flush armed for the hold's end takes it, no flush before would.  (A bare
            # ``return``: Beam's check for a generator that also returns a value reads ``return  # ...`` as one
            # and warned "Using yield and return in the process method" at every pipeline build)
            return
        self._arm(ev.ts + self.lateness + PAST, pending, flush)

    @staticmethod
    def _late_status(ev: Event, customer) -> bool | None:
        """A late consent or deliverability record (``is_status_event``: consent grant/revoke, engagement
        unsubscribe/complaint/bounce): its status change is applied to the stored state at the record's own event
        time (latest in event time wins, ``CustomerState.apply_status``, as the core does for a duplicate), so an
        opt-out is never lost to lateness and a late grant never overrides a later opt-out.  No journey runs on it
        (it stays a ``late_event``).  False when ``ev`` is no status record; None when the key holds no customer's
        state (handed over to another customer by a merge: only its horizon is kept, or address statuses copied in
        since; the caller sends the change on, ``identity.online.status_handover``)."""
        if not is_status_event(ev.stream, ev.type):
            return False
        raw = customer.read()
        state = decode_state(raw) if raw else None
        if state is None or state.last_event is None:
            return None
        state.apply_status(ev)
        customer.write(encode_state(state))
        return True

    def _arm(self, at: int, pending, flush) -> None:
        at = max(at, self.hold_until)
        cur = pending.read()
        if cur is None or at < cur:
            flush.set(Timestamp(micros=at * 1000))
            pending.write(at)

    @on_timer(FLUSH)
    def on_flush(self, key=beam.DoFn.KeyParam, fired=beam.DoFn.TimestampParam,
                 customer=beam.DoFn.StateParam(CUSTOMER),
                 buffer=beam.DoFn.StateParam(BUFFER),
                 pending=beam.DoFn.StateParam(PENDING),
                 done=beam.DoFn.StateParam(DONE),
                 flush=beam.DoFn.TimerParam(FLUSH),
                 handover=beam.DoFn.StateParam(HANDOVER),
                 grace=beam.DoFn.TimerParam(GRACE)) -> Iterator[Any]:
        """Processes the buffered events and due timers up to ``horizon = fired - allowed lateness`` in event-time
        order, keeps the rest, re-arms the timer at the next pending time and emits the outputs.

        At the end of the input (the local runner's firings say the input watermark, :func:`timer_input_watermark_ms`,
        past the end of the global window), everything pending is flushed in this call, not one runner round per
        re-armed time (issue 22): one flush to the watermark, or with ``snapshots`` the flushes the runner would have
        fired; the same outputs.  Never past the processing time (``until_clock``: ``transforms.drain_hold``)."""
        watermark = timer_input_watermark_ms()
        yield from self._fire(key, fired.micros // 1000, watermark, customer, buffer, pending, done, flush, handover,
                              grace, timer=True)

    @on_timer(GRACE)
    def on_grace(self, key=beam.DoFn.KeyParam,
                 customer=beam.DoFn.StateParam(CUSTOMER),
                 buffer=beam.DoFn.StateParam(BUFFER),
                 pending=beam.DoFn.StateParam(PENDING),
                 done=beam.DoFn.StateParam(DONE),
                 flush=beam.DoFn.TimerParam(FLUSH),
                 handover=beam.DoFn.StateParam(HANDOVER),
                 grace=beam.DoFn.TimerParam(GRACE)) -> Iterator[Any]:
        """The processing-time grace of a link held past its event-time wait ended (``transforms.handover``, rule
        1): flush to the horizon the event-time timer asked for, giving up on the links whose wait had passed by
        then (each with a stand-in, rule 2).  Nothing when the hand-over arrived meanwhile."""
        wait = HandoverWait.read(handover.read())
        wanted = wait.end_grace(self.transfer_wait)
        if wanted is None:
            return
        handover.write(wait.to_bytes())
        yield from self._fire(key, wanted + self.lateness + PAST, None, customer, buffer, pending, done, flush,
                              handover, grace)

    def _fire(self, key: str, now: int, watermark: int | None, customer, buffer, pending, done, flush, handover,
              grace, timer: bool = False) -> Iterator[Any]:
        """The flushes of one firing at event time ``now`` (epoch ms; ``watermark``: the firing's input watermark
        when the runner said it), see :meth:`on_flush`."""
        horizon = now - self.lateness - PAST
        if now >= _END_MS:  # a held link's end-of-input timer fired: the watermark reached the window's end
            watermark = max(watermark or 0, _END_MS + 1)
        ended = watermark is not None and watermark > _END_MS
        if ended and not self.snapshots:
            horizon = watermark - self.lateness - PAST
        # nothing due after the processing time is decided (drain_hold; not in a simulation: until_clock False)
        clock = _handover.processing_now_ms() if self.until_clock else _END_MS + 1
        if horizon > clock:
            if timer and now > self.hold_until and not handover.read():
                raw = customer.read()  # (the decoded state and events this instance holds: not decoded again)
                left, first = pending_moments(raw, list(buffer.read()), self._state_of(key, raw), self._kept.get(key))
                if first is None or first > clock:  # nothing to decide: no flush (a drain's cheap firings)
                    at = (first or now) + self.lateness + PAST  # (the earliest moment's flush time)
                    return self._held_back(key, left, at, now, clock, watermark, ended, pending, flush)
            horizon = max(clock, done.read() or clock)  # (never below what was processed: a clock set back)
        while True:
            nxt = yield from self._flush(key, horizon, customer, buffer, pending, done, handover, grace, ended)
            if nxt is None:
                return
            at, hold = nxt
            if at - self.lateness - PAST > clock and (ended or at <= now):  # the watermark is past it, not the clock
                return self._held_back(key, self._left, at, now, clock, watermark, ended, pending, flush)
            if not ended or at > watermark or at <= now:
                flush.set(Timestamp(micros=at * 1000))  # this firing cleared the timer: set it afresh
                pending.write(at)
                if hold is not None:
                    self._hold(key, hold, at)
                return
            now, horizon = at, at - self.lateness - PAST

    def _held_back(self, key: str, left: int, at: int, now: int, clock: int, watermark, ended: bool, pending,
                   flush) -> None:
        """Next moment (flush time ``at``) due after the processing time: counted (not for a finite watermark: no
        drain; nor at a re-armed step), re-armed later (``drain_hold.backoff_ms``) unless ended."""
        if (ended and now < _END_MS) or (watermark is None and now - at < BACKOFF_MS):
            self.held.add(left)
        if not ended:
            at = backoff_ms(clock, now)
            flush.set(Timestamp(micros=at * 1000))
            pending.write(at)

    def _flush(self, key: str, horizon: int, customer, buffer, pending, done, handover, grace,
               ended: bool) -> Iterator[Any]:
        """One flush of ``key`` at ``horizon`` (:meth:`on_flush`); yields its outputs and returns ``(time of the next
        flush, the held link's time or None)``, or None when nothing is pending (``pending`` cleared).

        A link whose event-time wait passed without its hand-over (``transforms.handover``): held on (the flush
        stops before it; the flush timer is re-armed only for the end of the global window, which a drain reaches;
        the grace timer, the absorb or a new element fires the next flush)
        until its grace ended or the input did (``ended``); then given up on with a stand-in, alone in a flush that
        starts at the link's time - 1 (a flush before it processes up to there first; at the end of the input, all
        in this flush)."""
        self._held.pop(key, None)
        raws = list(buffer.read())
        known = self._kept.pop(key, None) or {}
        buffered = [known.get(b) or decode_buffered(b) for b in raws]
        wait_raw = handover.read() if self.grace_ms is not None else None  # (no hold without the loop)
        wait = HandoverWait.read(wait_raw)
        if wait.link is not None and wait.wanted is not None:
            horizon = max(horizon, wait.wanted)  # (held past the wait: the watermark was past this already)
        plan = plan_flush(buffered, horizon, key, self.transfer_wait)
        again = past = None
        if plan.timed_out and self.grace_ms is not None:
            first = min(plan.timed_out, key=flush_order)
            if not ended and not wait.graced(first):
                past, again = first, None  # rule 1: hold on; the grace timer (started once per link) ends it
                if wait.link != first.ts:
                    grace.set(Timestamp(micros=(_handover.processing_now_ms() + self.grace_ms) * 1000))
                    self.graces.inc()
                wait.link, wait.wanted = first.ts, max(horizon, wait.wanted or horizon)
                plan = plan_flush(buffered, first.ts - 1, key, self.transfer_wait)
            else:
                prev = done.read()
                later = [mf for mf in plan.timed_out if mf.ts > first.ts]
                cut = first.ts - 1 if prev is None or prev < first.ts - 1 else (
                    min(later, key=flush_order).ts - 1 if later else None)
                if not ended and cut is not None and cut < horizon:  # one link given up on per flush, from its
                    # time - 1 (the statuses a late hand-over's lift restores); at the end all at once (none can come)
                    plan, again = plan_flush(buffered, cut, key, self.transfer_wait), horizon
        if past is None:
            wait.link = wait.wanted = None
        self._sizes[0].append(len(buffered))
        raw = customer.read()
        kept, state = self._states.get(key), self._read_state(key, raw)  # (kept: what ``raw`` was encoded from)
        out = Outputs()
        ready = with_subprofiles(self.processor, plan, out, self.steps)
        if wait.stand_ins and lift_stand_ins(wait, state, ready):
            self.lifted.inc()
        for mf in plan.timed_out if self.grace_ms is not None else ():  # rule 2: the stand-in right after the link
            wait.stand_ins[str(mf.attrs.get("from"))] = [mf.ts, consent_before(state, mf, ready)]
            at = max(i for i, e in enumerate(ready) if e.uid in (mf.uid, f"absorb:sub:{mf.uid}")) + 1
            ready.insert(at, stand_in_absorb(mf, key))
        if (wait_bytes := wait.to_bytes()) != wait_raw:
            handover.write(wait_bytes) if wait_bytes is not None else handover.clear()
        # nothing to process (no event, no timer due by the horizon, no stand-in): ``advance`` would change nothing
        idle = not ready and not wait.stand_ins and (not state.timers or state.timers[0][0] > plan.until)
        if not idle:  # (without steps no journey-step row is kept: no step reads them, ``DecideOrdered``)
            self.processor.advance(state, ready, plan.until, out, state_bytes=raw or None, steps=self.steps)
        if plan.forward is not None:
            pack_forwarded(out, key, *plan.forward)
        for mf in plan.timed_out:  # logged once per bundle (finish_bundle)
            self._timed_out.append((key, mf))
        stored = {id(e): b for e, b in zip(buffered, raws)}
        keep = [stored.get(id(e)) or _EVENTS.encode(e) for e in plan.keep]
        horizon = plan.until
        nxt = [plan.next_at] if plan.next_at is not None else []
        if again is not None:
            nxt = [again]  # the rest of this firing's horizon, in the flush that follows at once
        elif past is not None:
            nxt = [_END_MS - self.lateness - PAST]  # held past the wait: only the end of the input (a drain) is due
        elif plan.hold is not None:
            pass  # held (flush_plan): nothing moves before the hold's end or its absorb, which arms a flush itself
        elif state.timers:
            nxt.append(state.next_due())
        elif not keep:
            # the expiry timer (issue 23): always pending while the customer has anything that can expire
            due = self.processor.expiry_due(state)
            if due is not None and due <= horizon:
                idle = False  # (retiring changes the state)
                if self.processor.retire_if_dormant(state, horizon):
                    self.retired.inc()  # nothing left: the stored state goes entirely
                    for st in (customer, buffer, pending, done, handover):
                        st.clear()
                    yield from self.counters.emit(out)
                    return None
            elif due is not None:
                nxt.append(due)
        # an unchanged state kept since it was stored as ``raw``: its bytes are ``raw`` (not encoded again)
        state_bytes = raw if idle and kept is not None and kept[1] is state else encode_state(state)
        if state.last_event is None and is_empty(state):
            customer.clear()  # handed over to another customer (identity merge): only the horizon stays
        else:
            if state_bytes != raw:  # (equal bytes: nothing changed, nothing to write)
                customer.write(state_bytes)
            self._keep_state(key, state_bytes, state)
        if keep != raws:
            buffer.clear()
            for b in keep:
                buffer.add(b)
        if keep:  # decoded once: the next flush of this key takes them from here (bounded, see _remember)
            self._remember(key, dict(zip(keep, plan.keep)))
        prev = done.read()
        if prev is None or horizon > prev:
            done.write(horizon)
        if not nxt:
            pending.clear()
        self._sizes[1].append(len(state_bytes))
        self._left = len(keep) + len(state.timers)  # pending moments (drain_hold)
        yield from self.counters.emit(out)
        if self.snapshots and state.last_event is not None:  # not a customer whose state was handed over
            # the row's state_bytes is the size of the JSON form, as in bounded replay
            yield beam.pvalue.TaggedOutput(SNAPSHOTS, snapshot_row(state, horizon, None,
                                                                   self.processor.engine.attributes,
                                                                   self.processor.engine.open_ticket_ms))
        if not nxt:
            return None
        return max(min(nxt) + self.lateness + PAST, self.hold_until), (plan.hold.ts if plan.hold else None)

    def _read_state(self, key: str, raw: bytes | None) -> CustomerState:
        """The customer state stored as ``raw`` (None: a new customer): the object this instance's last flush of
        ``key`` left, when ``raw`` is the bytes that flush stored (a pure cache: that object is what decoding
        ``raw`` gives, ``stages.state_codec``; it is taken out, so a flush that fails never leaves a half-advanced
        state behind), else decoded."""
        hit = self._states.pop(key, None)
        if not raw:
            return CustomerState(customer_id=key)
        if hit is not None and hit[0] == raw:
            return hit[1]
        return decode_state(raw)


class DecideOrdered(beam.PTransform):
    """(customer id, Event) or (customer id, (merge_from, ..., Event)) (``transforms.identity_online``'s ``pack``)
    → decisions (main) and the tagged outputs of ``transforms.outputs``: journey steps,
    dead letters (late events, duplicates, processing errors), state transfers (target customer id, absorb event)
    for identity merges, and, with ``snapshots``, customer snapshot rows.

    ``allowed_lateness_ms`` and ``hold_until_ms`` (epoch ms): see the module docstring.  ``handover_grace_ms``:
    set it (``transforms.handover.GRACE_MS``) when the state transfers are read back into this step (``pipelines.
    stream``): the fail-safe hold of ``transforms.handover``.  None (a graph that never reads them back: tests,
    benches): a survivor goes on without the absorbed state after the event-time wait, nothing counted opted out.
    ``until_clock`` False: a simulation whose event time runs past the wall clock (nothing held, ``drain_hold``).
    ``steps`` False: no journey-step rows on ``STEPS`` (a graph without tables reads none: ``pipelines.stream``;
    each was an output the runner carried for nothing, issue 22).
    Works on bounded and unbounded input alike (TestStream tests drive it with out-of-order arrival)."""

    def __init__(self, config: EngineConfig, allowed_lateness_ms: int = 0, label: str | None = None,
                 hold_until_ms: int = 0, snapshots: bool = False, handover_grace_ms: int | None = None,
                 until_clock: bool = True, steps: bool = True):
        super().__init__(label)
        self.grace_ms, self.until_clock, self.steps = handover_grace_ms, until_clock, steps
        self.config = config
        self.lateness = allowed_lateness_ms
        self.hold_until = hold_until_ms
        self.snapshots = snapshots

    def expand(self, keyed):
        """Into the global window (``WindowGlobal``: only when ``keyed`` has another windowing than the default
        global one, where it changed nothing and cost a runner step per element, issue 22: ``pipelines.stream``),
        then ``OrderedCustomerState`` (all tags of ``transforms.outputs``)."""
        if not in_global_windows(keyed):  # (a Flatten's inputs each: transforms.windows)
            keyed = keyed | "WindowGlobal" >> beam.WindowInto(beam.window.GlobalWindows())
        return keyed | "OrderedCustomerState" >> beam.ParDo(OrderedCustomerFn(
            self.config, self.lateness, self.hold_until, self.snapshots, self.grace_ms, self.until_clock,
            self.steps)).with_outputs(*TAGGED, main=DECISIONS)

