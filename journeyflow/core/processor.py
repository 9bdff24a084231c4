"""The per-customer decision core: events and due timers, in event-time order, through state → journeys → arbitration.

Pure Python.  Both execution paths drive the same ``CustomerProcessor``:

* bounded replay groups a customer's events, sorts them by ``Event.sort_key`` and calls ``advance`` once
  (``ClusterFold`` also applies identity merges at their event time, see below);
* streaming buffers a customer's events in Beam state and calls ``advance`` each time the watermark passes the
  earliest pending time (``transforms.state``).

Ordering rule (the same on both paths, so the decisions are the same): a timer due at ``t`` fires before an event
with ``ts > t`` and after events with ``ts <= t``; events with equal ``ts`` are ordered by stream rank then uid.

Identity merges inside a bounded replay (``ClusterFold``): events arrive grouped by their *final* identity cluster.
Within the cluster, the customer is made of sub-profiles that exist separately until the event that links them;
at that event's time their states are merged (``CustomerState.merge``, a commutative union) under the canonical id
of the union.  Decisions carry the customer id that was canonical at decision time.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from journeyflow.core.identity import rank_key
from journeyflow.core.model import ADDRESS_FOR_CHANNEL, Candidate, DeadLetter, Decision, Event
from journeyflow.core.state import DAY, CustomerState, Retention


#: A horizon past every timer: bounded replay with ``--until end`` (the streaming watermark reaching +infinity).
END_OF_TIME = 2**62

#: Pseudo-stream of identity control events (streaming merges); never read from input files.
IDENTITY_STREAM = "_identity"


class _Engine(Protocol):
    def on_event(self, state: CustomerState, event: Event, customer_id: str) -> Any: ...
    def on_timer(self, state: CustomerState, timer: list, customer_id: str) -> Any: ...


class _Arbiter(Protocol):
    def arbitrate(self, state: CustomerState, candidates: list[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> Any: ...


@dataclass(slots=True)
class Outputs:
    decisions: list[Decision] = field(default_factory=list)
    steps: list[Any] = field(default_factory=list)  # journeys.JourneyStep
    dead: list[DeadLetter] = field(default_factory=list)  # duplicates, late events
    events: int = 0  # events that went through the decision path
    timers: int = 0
    final_states: dict[str, CustomerState] = field(default_factory=dict)  # ClusterFold: sub-profile states
    transfers: list[tuple[str, Event]] = field(default_factory=list)  # streaming: (target customer, absorb event)


def candidate_to_payload(c: Candidate) -> dict[str, Any]:
    return {"j": c.journey_id, "s": c.step_id, "cat": c.category, "p": c.priority, "a": c.action,
            "ch": c.channel, "c": c.content_id, "t": c.trigger_id, "at": c.proposed_at, "pid": c.product_id,
            "g": c.exclusion_group, "sc": c.score}


def candidate_from_payload(p: dict[str, Any], now: int) -> Candidate:
    return Candidate(journey_id=p["j"], step_id=p["s"], category=p["cat"], priority=p["p"], action=p["a"],
                     channel=p["ch"], content_id=p["c"], trigger_id=p["t"], proposed_at=now,
                     product_id=p.get("pid"), exclusion_group=p.get("g"), score=p.get("sc", 0.0))


def pop_all_due_at(state: CustomerState, due: int) -> list[list]:
    """Pop every timer due exactly at ``due`` (they make one decision moment)."""
    timers = []
    while state.timers and state.timers[0][0] == due:
        timers.append(state.pop_due(due))
    return timers


class CustomerProcessor:
    def __init__(self, engine: _Engine, arbiter: _Arbiter, retention: Retention = Retention(),
                 expire_every_ms: int = DAY):
        self.engine = engine
        self.arbiter = arbiter
        self.retention = retention
        self.expire_every_ms = expire_every_ms

    # ------------------------------------------------------------- moments
    def on_event(self, state: CustomerState, ev: Event, out: Outputs) -> None:
        if ev.stream == IDENTITY_STREAM:
            self._on_identity(state, ev, out)
            return
        if state.is_duplicate(ev):
            out.dead.append(DeadLetter(stream=ev.stream, reason="duplicate_event",
                                       detail=f"event {ev.uid} was already processed", payload="",
                                       source=ev.uid, event_time=ev.ts))
            return
        out.events += 1
        state.apply(ev)
        jo = self.engine.on_event(state, ev, state.customer_id)
        out.steps.extend(jo.steps)
        if jo.candidates:
            self._arbitrate(state, jo.candidates, ev.ts, ev.uid, out)
        self._maybe_expire(state, ev.ts)

    def _on_identity(self, state: CustomerState, ev: Event, out: Outputs) -> None:
        """Streaming identity merges (bounded replay merges inside ``ClusterFold`` instead).

        ``merge_into``: this customer was linked into ``attrs["into"]``; hand the whole state over (as an
        ``absorb`` event at the same event time) and start empty.  ``absorb``: union the handed-over state.
        """
        if ev.type == "merge_into":
            target = ev.attrs["into"]
            if target == state.customer_id or not (state.ids or state.timers or state.journeys):
                return
            payload = base64.b64encode(state.to_bytes()).decode()
            out.transfers.append((target, Event(uid=f"absorb:{state.customer_id}:{ev.uid}", stream=IDENTITY_STREAM,
                                                type="absorb", ts=ev.ts, ids=(target,),
                                                attrs={"state": payload, "from": state.customer_id})))
            cid = state.customer_id
            fresh = CustomerState(customer_id=cid)
            for f in CustomerState._FIELDS:
                setattr(state, f, getattr(fresh, f))
        elif ev.type == "absorb":
            other = CustomerState.from_bytes(base64.b64decode(ev.attrs["state"]))
            merged = state.merge(other)
            merged.customer_id = state.customer_id
            for f in CustomerState._FIELDS:
                setattr(state, f, getattr(merged, f))

    def on_timers(self, state: CustomerState, timers: list[list], out: Outputs) -> None:
        """One moment: every timer due at the same instant; their candidates are arbitrated together."""
        due = timers[0][0]
        candidates: list[Candidate] = []
        for timer in timers:
            _due, timer_id, kind, payload = timer
            out.timers += 1
            if kind == "journey":
                jo = self.engine.on_timer(state, timer, state.customer_id)
                out.steps.extend(jo.steps)
                candidates.extend(jo.candidates)
            elif kind == "deferred":
                candidates.append(candidate_from_payload(payload, due))
        if candidates:
            self._arbitrate(state, candidates, due, min(t[1] for t in timers), out)
        self._maybe_expire(state, due)

    def _arbitrate(self, state: CustomerState, candidates: list[Candidate], now: int, trigger_id: str,
                   out: Outputs) -> None:
        res = self.arbiter.arbitrate(state, candidates, now, state.customer_id, trigger_id)
        for d in res.decisions:
            if d.action == "send" and d.channel in ADDRESS_FOR_CHANNEL:
                addr = state.contact.get(ADDRESS_FOR_CHANNEL[d.channel])
                if addr:
                    d = d._replace(address=addr)
            out.decisions.append(d)
        for due, cand in res.deferred:
            tid = f"defer:{cand.journey_id}:{cand.step_id}:{cand.channel}:{cand.trigger_id}:{due}"
            state.schedule(due, tid, "deferred", candidate_to_payload(cand))

    def _maybe_expire(self, state: CustomerState, now: int) -> None:
        # at most once per `expire_every_ms` (a day) of event time per customer: expiry is O(state), and the
        # windowed questions (caps, view counts) filter by time themselves, so expiry only bounds the size
        if state.expired_at is None or now - state.expired_at >= self.expire_every_ms:
            state.expire(now, self.retention)

    # ------------------------------------------------------------ the fold
    def fire_timers(self, state: CustomerState, until: int, out: Outputs, strict: bool = False) -> None:
        """Fire every timer due at or before ``until`` (strictly before when ``strict``), in time order."""
        while state.timers:
            due = state.timers[0][0]
            if due > until or (strict and due == until):
                return
            self.on_timers(state, pop_all_due_at(state, due), out)

    def advance(self, state: CustomerState, events: Iterable[Event], until: int | None, out: Outputs) -> None:
        """Process ``events`` (already sorted by ``Event.sort_key``) and the timers due up to ``until``."""
        for ev in events:
            self.fire_timers(state, ev.ts, out, strict=True)
            self.on_event(state, ev, out)
        if until is not None:
            self.fire_timers(state, until, out)


class ClusterFold:
    """Bounded replay of one final identity cluster, with merges applied at their event time."""

    def __init__(self, processor: CustomerProcessor):
        self.p = processor

    def run(self, items: Sequence[tuple[Event, Sequence[tuple[str, str]]]], until: int | None) -> Outputs:
        """``items``: (event, accepted links of that event) sorted by event sort key."""
        out = Outputs()
        parent: dict[str, str] = {}
        states: dict[str, CustomerState] = {}

        def find(k: str) -> str:
            root = parent.setdefault(k, k)
            while root != parent[root]:
                root = parent[root]
            while parent[k] != root:
                parent[k], k = root, parent[k]
            return root

        def state_of(root: str) -> CustomerState:
            s = states.get(root)
            if s is None:
                s = states[root] = CustomerState(customer_id=root)
            return s

        def fire_all(limit: int, strict: bool) -> None:
            # timers of all sub-profiles, globally in time order
            while True:
                best = None
                for root, s in states.items():
                    if s.timers:
                        d = s.timers[0][0]
                        if d < limit or (not strict and d == limit):
                            if best is None or (d, root) < best:
                                best = (d, root)
                if best is None:
                    return
                s = states[best[1]]
                self.p.on_timers(s, pop_all_due_at(s, best[0]), out)

        primary_of: dict[tuple[str, ...], str] = {}
        p = self.p
        for ev, links in items:
            if len(states) == 1:  # the common case: one profile, no scan over sub-profiles
                p.fire_timers(next(iter(states.values())), ev.ts, out, strict=True)
            elif states:
                fire_all(ev.ts, strict=True)
            for a, b in links:
                ra, rb = find(a), find(b)
                if ra == rb:
                    continue
                keep, gone = (ra, rb) if rank_key(ra) <= rank_key(rb) else (rb, ra)
                parent[gone] = keep
                sa, sb = states.pop(keep, None), states.pop(gone, None)
                if sa is not None and sb is not None:
                    merged = sa.merge(sb)
                else:
                    merged = sa or sb
                if merged is not None:
                    merged.customer_id = keep
                    states[keep] = merged
            primary = primary_of.get(ev.ids)
            if primary is None:
                primary = primary_of[ev.ids] = min(ev.ids, key=rank_key)
            p.on_event(state_of(find(primary)), ev, out)
        if until is not None:
            fire_all(until, strict=False)
        out.final_states = states
        return out
