"""The journey engine: runs the journeys of a configuration for one customer at a time.

Plain Python (no Beam import).  The per-customer processor keys events by customer, applies them to
``CustomerState`` and then calls :meth:`JourneyEngine.on_event` / :meth:`JourneyEngine.on_timer`; the engine only
*proposes* actions (``Candidate``), arbitration decides what happens.

Membership record (``state.journeys[journey_id]``), kept small::

    active:   {"step": id, "entered": ts, "since": ts, "trigger": uid, "entries": [ts...], "group": g|None,
               "goal": ts|None, "p": entry event's product (only if it had one and a step or condition uses it)}
    finished: {"step": None, "entered": ts, "entries": [ts...], "goal": ts|None}

Timers are ``state.schedule(due, "<journey>:<step>:<entered>:<due>", "journey", {"j", "s", "e"})``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from journeyflow.model.decisions import Candidate
from journeyflow.model.events import Event
from journeyflow.stages.journeys.model import (
    ACTION_KINDS,
    MAX_ENTRIES_KEPT,
    Journey,
    JourneyOutput,
    JourneyStep,
    Trigger,
)
from journeyflow.stages.state import DAY, CustomerState

__all__ = ["COUNTERS", "MAX_STEPS_PER_RUN", "JourneyEngine"]

#: Steps one event or timer may run for one journey; a safety net (loops without a wait are refused at load time).
MAX_STEPS_PER_RUN = 100

#: ``stale_timers`` (membership gone or moved on), ``loop_guard`` (a run hit MAX_STEPS_PER_RUN).
COUNTERS: Counter = Counter()

_FACT_KEYS = frozenset(CustomerState().facts(0))
_PRODUCT_KEYS = ("product_views_7d", "bought_product_30d")


class _LazyCustomer(Mapping):
    """The ``customer`` variable: ``state.facts(now)`` plus product facts, computed on first access only."""

    __slots__ = ("_state", "_now", "_product", "_facts")

    def __init__(self, state: CustomerState, now: int, product: str | None):
        self._state = state
        self._now = now
        self._product = product
        self._facts: dict | None = None

    def __getitem__(self, key: str) -> Any:
        if self._product is not None:
            if key == "product_views_7d":
                return self._state.views_of(self._product, self._now, 7 * DAY)
            if key == "bought_product_30d":
                return self._state.bought_within(self._product, self._now, 30 * DAY)
        if key not in _FACT_KEYS:
            raise KeyError(key)
        if self._facts is None:
            self._facts = self._state.facts(self._now)
        return self._facts[key]

    def __contains__(self, key: object) -> bool:
        return key in _FACT_KEYS or (self._product is not None and key in _PRODUCT_KEYS)

    def __iter__(self) -> Iterator[str]:
        yield from _FACT_KEYS
        if self._product is not None:
            yield from _PRODUCT_KEYS

    def __len__(self) -> int:
        return len(_FACT_KEYS) + (len(_PRODUCT_KEYS) if self._product is not None else 0)


class _Ctx:
    """What a condition may look at, built lazily (most events never evaluate a condition)."""

    __slots__ = ("state", "now", "event", "product", "_act")

    def __init__(self, state: CustomerState, now: int, event: Event | None, product: str | None):
        self.state = state
        self.now = now
        self.event = event
        self.product = product
        self._act: dict | None = None

    def activation(self) -> dict:
        if self._act is None:
            ev = self.event
            if ev is not None:
                e = dict(ev.attrs)
                e["stream"] = ev.stream
                e["type"] = ev.type
                e["ts"] = ev.ts
            else:  # a timer: no event, only the time and the entry's product
                e = {"stream": "timer", "type": "timer", "ts": self.now}
                if self.product is not None:
                    e["product_id"] = self.product
            self._act = {"event": e, "customer": _LazyCustomer(self.state, self.now, self.product)}
        return self._act


def _event_product(ev: Event) -> str | None:
    a = ev.attrs
    pid = a.get("product_id")
    if pid:
        return str(pid)
    pids = a.get("product_ids")
    if pids:
        return str(pids[0])
    return None


class _TypeIndex(NamedTuple):
    active: tuple[Journey, ...]  # journeys with a goal, exit or wait-until on this event type
    entries: tuple[Journey, ...]  # journeys entered by this event type


class JourneyEngine:
    """Runs journeys for one customer at a time.  Stateless itself: all state lives in ``CustomerState``.

    Journeys are evaluated by priority (higher first), then id.  Raises ``ValueError`` when two journeys share an
    id.  Picklable (it is rebuilt from its journeys), so it travels to Beam workers.
    """

    def __init__(self, journeys: Iterable[Journey]):
        self.journeys = tuple(journeys)
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

    def __reduce__(self):
        return (JourneyEngine, (self.journeys,))

    def journey(self, journey_id: str) -> Journey | None:
        """The journey with this id, or None when the configuration has none (e.g. it was removed)."""
        return self._by_id.get(journey_id)

    # ---------------------------------------------------------------------------------------------- events
    def on_event(self, state: CustomerState, event: Event, customer_id: str) -> JourneyOutput:
        """Apply one event (already folded into ``state``): goals/exits/waits of active journeys, then entries."""
        ix = self._index.get(event.type)
        out = JourneyOutput([], [])
        if ix is None:
            return out
        now = event.ts
        ctx = _Ctx(state, now, event, _event_product(event))
        memberships = state.journeys
        trigger_id = event.uid

        # (1) active memberships: goal, exit, wait-until
        for j in ix.active:
            m = memberships.get(j.id)
            if m is None or m.get("step") is None:
                continue
            entered = m.get("entered") or 0
            if now < entered:
                continue
            if now - entered > j.max_duration_ms:
                self._finish(state, j.id, m, now, trigger_id, "max_duration", customer_id, out)
                continue
            trig = _first_match(j.goal, event, ctx)
            if trig is not None:
                m["goal"] = now
                out.steps.append(JourneyStep(customer_id, j.id, m["step"], "goal", now, trigger_id, event.type))
                self._finish(state, j.id, m, now, trigger_id, "goal", customer_id, out)
                continue
            trig = _first_match(j.exit, event, ctx)
            if trig is not None:
                self._finish(state, j.id, m, now, trigger_id, f"exit_event:{event.type}", customer_id, out)
                continue
            st = j.step_map.get(m["step"])
            if (st is not None and st.until is not None and now >= m.get("since", 0)
                    and _matches(st.until, event, ctx)):
                state.cancel_timers("journey", j=j.id)
                out.steps.append(JourneyStep(customer_id, j.id, st.id, "step", now, trigger_id,
                                             f"resume:event:{event.type}"))
                self._run(j, m, st.on_event, st.id, ctx, trigger_id, customer_id, out)

        # (2) entries
        for j in ix.entries:
            m = memberships.get(j.id)
            if m is not None and m.get("step") is not None:
                if now - (m.get("entered") or 0) <= j.max_duration_ms:
                    continue  # already in it
                self._finish(state, j.id, m, now, trigger_id, "max_duration", customer_id, out)
            if _first_match(j.entry, event, ctx) is None:
                continue
            entries = m.get("entries", []) if m is not None else []
            refused = _reentry_refusal(j, entries, now)
            if refused is None and j.exclusion_group is not None:
                for oid, om in memberships.items():
                    if oid != j.id and om.get("step") is not None and om.get("group") == j.exclusion_group:
                        refused = f"exclusion_group:{j.exclusion_group}:{oid}"
                        break
            if refused is not None:
                out.steps.append(JourneyStep(customer_id, j.id, "", "entry_refused", now, trigger_id, refused))
                continue
            m = {"step": j.first_step, "entered": now, "since": now, "trigger": trigger_id,
                 "entries": (entries + [now])[-MAX_ENTRIES_KEPT:], "group": j.exclusion_group, "goal": None}
            if ctx.product is not None and j.uses_product:
                m["p"] = ctx.product
            memberships[j.id] = m
            out.steps.append(JourneyStep(customer_id, j.id, j.first_step, "entered", now, trigger_id,
                                         "control" if j.in_control(customer_id) else "treatment"))
            self._run(j, m, j.first_step, None, ctx, trigger_id, customer_id, out)
        return out

    # ---------------------------------------------------------------------------------------------- timers
    def on_timer(self, state: CustomerState, timer: list, customer_id: str) -> JourneyOutput:
        """A due journey timer ``[due, timer_id, "journey", {"j", "s", "e"}]`` (already popped from the state)."""
        out = JourneyOutput([], [])
        due, timer_id, kind, payload = timer
        if kind != "journey" or not isinstance(payload, Mapping):
            return out
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
        ctx = _Ctx(state, due, None, m.get("p"))
        if st.until is not None:
            out.steps.append(JourneyStep(customer_id, jid, st.id, "step", due, timer_id, "resume:timeout"))
            self._run(j, m, st.on_timeout, st.id, ctx, timer_id, customer_id, out)
        else:
            out.steps.append(JourneyStep(customer_id, jid, st.id, "step", due, timer_id, "resume:timer"))
            self._run(j, m, st.next, st.id, ctx, timer_id, customer_id, out)
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
                if control is None:
                    control = j.in_control(customer_id)
                out.candidates.append(Candidate(
                    journey_id=j.id, step_id=sid, category=j.category, priority=j.priority, action=k,
                    channel=st.channel, content_id=st.content_id, trigger_id=trigger_id, proposed_at=now,
                    product_id=m.get("p") if st.product_from_event else None,
                    exclusion_group=j.exclusion_group, control=control))
                out.steps.append(JourneyStep(customer_id, j.id, sid, "step", now, trigger_id, st.label))
                last, sid = sid, st.next
            elif k == "wait":
                due = now + st.wait_ms
                entered = m.get("entered")
                ctx.state.schedule(due, f"{j.id}:{sid}:{entered}:{due}", "journey", {"j": j.id, "s": sid, "e": entered})
                m["step"] = sid
                m["since"] = now
                out.steps.append(JourneyStep(customer_id, j.id, sid, "waiting", now, trigger_id, st.label))
                return
            elif k == "branch":
                target, detail = st.else_, None
                for i, (cond, tgt) in enumerate(st.cases, 1):
                    if cond.evaluate(ctx.activation()):
                        target, detail = tgt, f"branch:case{i}->{tgt}"
                        break
                out.steps.append(JourneyStep(customer_id, j.id, sid, "step", now, trigger_id,
                                             detail or f"branch:else->{target or 'end'}"))
                last, sid = sid, target
            else:  # exit
                self._finish(ctx.state, j.id, m, now, trigger_id, "exit_step", customer_id, out, sid)
                return
        COUNTERS["loop_guard"] += 1
        self._finish(ctx.state, j.id, m, now, trigger_id, "loop_guard", customer_id, out, sid)

    @staticmethod
    def _finish(state: CustomerState, jid: str, m: dict, now: int, trigger_id: str, reason: str,
                customer_id: str, out: JourneyOutput, step_id: str | None = None) -> None:
        state.cancel_timers("journey", j=jid)
        out.steps.append(JourneyStep(customer_id, jid, step_id or m.get("step") or "", "exited", now, trigger_id,
                                     reason))
        state.journeys[jid] = {"step": None, "entered": m.get("entered"), "entries": m.get("entries", []),
                               "goal": m.get("goal")}


def _matches(t: Trigger, ev: Event, ctx: _Ctx) -> bool:
    if t.type != ev.type or (t.stream is not None and t.stream != ev.stream):
        return False
    return t.condition is None or t.condition.evaluate(ctx.activation())


def _first_match(triggers: tuple[Trigger, ...], ev: Event, ctx: _Ctx) -> Trigger | None:
    for t in triggers:
        if _matches(t, ev, ctx):
            return t
    return None


def _reentry_refusal(j: Journey, entries: list, now: int) -> str | None:
    if not entries:
        return None
    mode = j.reentry.mode
    if mode == "always":
        return None
    if mode == "never":
        return "reentry:never"
    if now - max(entries) < j.reentry.cooldown_ms:
        return "reentry:cooldown"
    return None

