"""Declarative journeys: the YAML file format, its loader, and the engine that runs journeys for one customer.

Plain Python (no Beam import).  The Beam stage keys events by customer, applies them to ``CustomerState`` and then
calls ``JourneyEngine.on_event`` / ``on_timer``; the engine only *proposes* actions (``Candidate``), arbitration
decides what happens.

File format (validated by ``schemas/journey.schema.json``, then by the semantic checks below)::

    version: 1
    journeys:
      - id: cart_abandonment            # stable id: state, timers and tables refer to it
        name: Cart abandonment
        category: sales                 # service | transactional | sales | marketing
        priority: 600                   # 0-1000, higher wins within a category
        exclusion_group: null           # at most one active journey per group
        entry: {event: add_to_cart, stream: web, when: "customer.cart_size > 0"}   # or a list of triggers
        exit: [{event: order_placed}]   # events that end the membership early
        goal: [{event: order_placed}]   # conversion events (reaching a goal also exits)
        reentry: {mode: after_cooldown, cooldown: 7d}   # never (default) | after_cooldown | always
        control_group_pct: 10           # 0-50: share of customers whose candidates are marked control
        max_duration: 30d               # default 90d
        steps:                          # run in order unless `next` / branch targets say otherwise
          - {id: wait_1h, wait: 1h}
          - id: reminder
            send: {channel: email, content_id: cart_reminder_1, product_from_event: true}
          - {id: task, create_task: {content_id: call_back}}
          - {id: case, route_case: {content_id: billing_queue}}
          - id: wait_order
            wait: {until: order_placed, timeout: 3d, on_event: thanks, on_timeout: check}
          - id: check
            branch: {cases: [{when: "customer.consent.sms", next: sms}], else: done}
          - {id: done, exit: true}

Membership record (``state.journeys[journey_id]``), kept small::

    active:   {"step": id, "entered": ts, "since": ts, "trigger": uid, "entries": [ts...], "group": g|None,
               "goal": ts|None, "p": entry event's product (only if it had one and a step or condition uses it)}
    finished: {"step": None, "entered": ts, "entries": [ts...], "goal": ts|None}

Timers are ``state.schedule(due, "<journey>:<step>:<entered>:<due>", "journey", {"j", "s", "e"})``.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import yaml

from journeyflow.stages.conditions import Condition, JourneyError, compile_condition
from journeyflow.model.events import EVENT_TYPES, Event
from journeyflow.model.decisions import Candidate
from journeyflow.stages.state import DAY, CustomerState

__all__ = [
    "COUNTERS",
    "Journey",
    "JourneyEngine",
    "JourneyError",
    "JourneyOutput",
    "JourneyStep",
    "MAX_FILE_BYTES",
    "MAX_JOURNEYS",
    "Reentry",
    "Step",
    "Trigger",
    "default_journeys",
    "format_duration",
    "load_journeys",
    "load_journeys_text",
    "parse_duration",
]

MAX_FILE_BYTES = 1 << 20
MAX_JOURNEYS = 200
MAX_YAML_DEPTH = 40
MAX_CONDITION_CHARS = 200_000  # all conditions of a file together: bounds the load time of an untrusted file
MAX_STEPS_PER_RUN = 100  # safety net; loops without a wait are rejected at load time
MAX_ENTRIES_KEPT = 20  # = Retention.max_entries_per_journey
DEFAULT_MAX_DURATION_MS = 90 * DAY
STEP_KINDS = ("send", "create_task", "route_case", "wait", "branch", "exit")
ACTION_KINDS = frozenset({"send", "create_task", "route_case"})
TASK_CHANNEL = {"create_task": "crm_task", "route_case": "service_case"}
STREAM_OF_TYPE: Mapping[str, str] = {t: s for s, ts in EVENT_TYPES.items() for t in ts}

#: ``stale_timers`` (membership gone or moved on), ``loop_guard`` (a run hit MAX_STEPS_PER_RUN).
COUNTERS: Counter = Counter()

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DURATION_RE = re.compile(r"([0-9]{1,9})(ms|s|m|h|d|w)\Z")


def parse_duration(text: str) -> int:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"14d"``, ``"2w"``, ``"250ms"`` → milliseconds (> 0)."""
    m = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a positive duration like 30m, 1h, 14d")
    return int(m.group(1)) * _UNITS[m.group(2)]


def format_duration(ms: int) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if ms % _UNITS[unit] == 0:
            return f"{ms // _UNITS[unit]}{unit}"
    return f"{ms}ms"


# ================================================================================================== model
@dataclass(frozen=True, slots=True)
class Trigger:
    """An event (type, optionally stream) with an optional condition."""

    type: str
    stream: str | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class Reentry:
    mode: str = "never"  # never | after_cooldown | always
    cooldown_ms: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    """One step.  ``next`` is resolved at load time (the following step, or None = end of journey)."""

    id: str
    kind: str  # send | create_task | route_case | wait | branch | exit
    next: str | None = None
    channel: str | None = None  # send: email|sms|push|call; create_task: crm_task; route_case: service_case
    content_id: str | None = None
    product_from_event: bool = False
    wait_ms: int | None = None  # wait: the duration, or the timeout of a wait-until
    until: Trigger | None = None  # wait-until: the event that continues the journey
    on_event: str | None = None  # wait-until: where to continue when the event arrives (default: next)
    on_timeout: str | None = None  # wait-until: where to continue on timeout (default: next)
    cases: tuple[tuple[Condition, str], ...] = ()  # branch: (condition, target) in order
    else_: str | None = None  # branch: target when no case matches (default: next)
    label: str = field(init=False, compare=False, repr=False)  # short description for tables and diagrams

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", self._label())

    @property
    def targets(self) -> tuple[str, ...]:
        """Step ids this step can continue to."""
        if self.kind == "exit":
            return ()
        if self.kind == "branch":
            return tuple(t for _, t in self.cases) + ((self.else_,) if self.else_ else ())
        if self.kind == "wait" and self.until is not None:
            return tuple(t for t in (self.on_event, self.on_timeout) if t)
        return (self.next,) if self.next else ()

    def _label(self) -> str:
        if self.kind == "send":
            return f"send:{self.channel}:{self.content_id}"
        if self.kind in TASK_CHANNEL:
            return f"{self.kind}:{self.content_id}"
        if self.kind == "wait":
            if self.until is not None:
                return f"wait_until:{self.until.type}:{format_duration(self.wait_ms or 0)}"
            return f"wait:{format_duration(self.wait_ms or 0)}"
        return self.kind


@dataclass(frozen=True, slots=True)
class Journey:
    id: str
    name: str
    category: str
    priority: int
    exclusion_group: str | None
    entry: tuple[Trigger, ...]  # one or more triggers (e.g. welcome: signup or contact_created)
    steps: tuple[Step, ...]
    exit: tuple[Trigger, ...] = ()
    goal: tuple[Trigger, ...] = ()
    reentry: Reentry = Reentry()
    control_group_pct: float = 0.0
    max_duration_ms: int = DEFAULT_MAX_DURATION_MS
    # derived, for the engine
    step_map: Mapping[str, Step] = field(init=False, compare=False, repr=False)
    wait_types: frozenset[str] = field(init=False, compare=False, repr=False)
    uses_product: bool = field(init=False, compare=False, repr=False)  # keep the entry's product in the membership
    first_step: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_step", self.steps[0].id)
        object.__setattr__(self, "step_map", {s.id: s for s in self.steps})
        object.__setattr__(self, "wait_types",
                           frozenset(s.until.type for s in self.steps if s.until is not None))
        conds = [c for s in self.steps for c, _ in s.cases] + [s.until.condition for s in self.steps if s.until]
        object.__setattr__(self, "uses_product", any(s.product_from_event for s in self.steps) or any(
            c is not None and "product" in c.text for c in conds))

    def control_bucket(self, customer_id: str) -> int:
        return control_bucket(self.id, customer_id)

    def in_control(self, customer_id: str) -> bool:
        """Deterministic: the same customer is always in (or out of) this journey's control group."""
        return self.control_group_pct > 0 and control_bucket(self.id, customer_id) < self.control_group_pct * 100


@lru_cache(maxsize=8192)
def control_bucket(journey_id: str, customer_id: str) -> int:
    """0-9999 from a hash of (journey_id, customer_id); independent across journeys."""
    h = hashlib.blake2b(f"{journey_id}\x1f{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 10_000


class JourneyStep(NamedTuple):
    """One row of the analyst table ``journey_steps``.

    kind: entered | step | waiting | exited | goal | entry_refused.  detail, by kind:
    entered ``treatment``/``control``; step ``send:email:<content>``, ``create_task:<content>``,
    ``route_case:<content>``, ``branch:case<N>-><step>``/``branch:else-><step>``, ``resume:timer``,
    ``resume:timeout``, ``resume:event:<type>``; waiting ``wait:<dur>``/``wait_until:<type>:<dur>``;
    exited ``completed``/``exit_step``/``exit_event:<type>``/``goal``/``max_duration``/``journey_removed``/
    ``step_removed``/``loop_guard``; goal ``<event type>``; entry_refused ``reentry:never``/``reentry:cooldown``/
    ``exclusion_group:<group>:<active journey>``.
    """

    customer_id: str
    journey_id: str
    step_id: str
    kind: str
    at: int
    trigger_id: str
    detail: str


class JourneyOutput(NamedTuple):
    candidates: list[Candidate]
    steps: list[JourneyStep]


# ================================================================================================== engine
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
    """Runs journeys for one customer at a time.  Stateless itself: all state lives in ``CustomerState``."""

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
        return self._by_id.get(journey_id)

    def interested_in(self, event_type: str) -> bool:
        return event_type in self._index

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


# ================================================================================================== loading
def default_journeys() -> tuple[Journey, ...]:
    """The default journey set shipped in ``journeyflow/defaults/journeys.yaml``."""
    ref = resources.files("journeyflow.defaults") / "journeys.yaml"
    return load_journeys_text(ref.read_text(encoding="utf-8"), "journeyflow/defaults/journeys.yaml")


def load_journeys(path: str | Path) -> tuple[Journey, ...]:
    """Load and validate a journey file.  Raises JourneyError listing every problem found."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise JourneyError(f"{p}:1: $: cannot read the file ({e.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise JourneyError(f"{p}:1: $: file is {size} bytes, larger than the 1 MiB limit")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JourneyError(f"{p}:1: $: file is not UTF-8 ({e.reason} at byte {e.start})") from None
    return load_journeys_text(text, str(p))


_SCHEMA_VALIDATOR = None


def _validator():
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        import jsonschema

        schema = json.loads((resources.files("journeyflow.schemas") / "journey.schema.json").read_text("utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        _SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(schema)
    return _SCHEMA_VALIDATOR


def journey_schema() -> dict:
    return _validator().schema


def load_journeys_text(text: str, filename: str = "<string>") -> tuple[Journey, ...]:
    """Parse, validate (JSON Schema, then semantic checks) and build journeys from YAML text."""
    n = len(text.encode("utf-8")) if len(text) * 4 > MAX_FILE_BYTES else len(text)
    if n > MAX_FILE_BYTES:
        raise JourneyError(f"{filename}:1: $: file is {n} bytes, larger than the 1 MiB limit")
    doc = _Doc(filename)
    data = doc.parse(text)
    if doc.errors:
        raise JourneyError(doc.sorted_errors())
    if isinstance(data, dict) and isinstance(data.get("journeys"), list) and len(data["journeys"]) > MAX_JOURNEYS:
        raise JourneyError(doc.msg(("journeys",), f"{len(data['journeys'])} journeys, more than the limit of "
                                                  f"{MAX_JOURNEYS}"))
    bad: set[int] = set()
    for err in _validator().iter_errors(data):
        for path, message in _describe(err):
            doc.add(path, message)
            if len(path) >= 2 and path[0] == "journeys" and isinstance(path[1], int):
                bad.add(path[1])
            elif len(path) < 2:
                bad.add(-1)
    journeys: list[Journey] = []
    if -1 not in bad:
        first_id: dict[str, int] = {}
        for i, jd in enumerate(data["journeys"]):
            jid = jd.get("id") if isinstance(jd, dict) else None
            duplicate = False
            if isinstance(jid, str):
                if jid in first_id:
                    duplicate = True
                    doc.add(("journeys", i, "id"), f"duplicate journey id '{jid}' (first defined at line "
                                                     f"{doc.line(('journeys', first_id[jid], 'id'))})")
                else:
                    first_id[jid] = i
            if i in bad:
                _lint_broken(jd, ("journeys", i), doc)
                continue
            j = _build_journey(jd, ("journeys", i), doc)
            if j is not None and not duplicate:
                journeys.append(j)
    if doc.errors:
        raise JourneyError(doc.sorted_errors())
    return tuple(journeys)


_ALIAS_TAG = "tag:journeyflow,2024:alias"


class _Loader(yaml.SafeLoader):
    """SafeLoader that never expands aliases: each one becomes a marker node (reported as an error by _Doc)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            ev = self.get_event()
            return yaml.ScalarNode(_ALIAS_TAG, ev.anchor, ev.start_mark, ev.end_mark)
        return super().compose_node(parent, index)


class _Doc:
    """YAML parsing with line numbers per JSON path, and error collection."""

    def __init__(self, filename: str):
        self.filename = filename
        self.lines: dict[tuple, int] = {}
        self.key_lines: dict[tuple, int] = {}
        self.errors: list[tuple[int, str, str]] = []
        self.condition_chars = 0

    def condition_budget(self, text: str, path: tuple) -> bool:
        """False (and one error) once the conditions of the file exceed MAX_CONDITION_CHARS in total."""
        before = self.condition_chars
        self.condition_chars += len(text)
        if self.condition_chars <= MAX_CONDITION_CHARS:
            return True
        if before <= MAX_CONDITION_CHARS:
            self.add(path, f"the conditions of this file exceed {MAX_CONDITION_CHARS} characters in total")
        return False

    # -- errors
    def line(self, path: tuple) -> int:
        p = tuple(path)
        while True:
            if p in self.key_lines:
                return self.key_lines[p]
            if p in self.lines:
                return self.lines[p]
            if not p:
                return 1
            p = p[:-1]

    def msg(self, path: tuple, message: str) -> str:
        return f"{self.filename}:{self.line(path)}: {format_path(path)}: {message}"

    def add(self, path: tuple, message: str) -> None:
        self.errors.append((self.line(path), format_path(path), message))

    def add_raw(self, line: int, path: tuple, message: str) -> None:
        self.errors.append((line, format_path(path), message))

    def sorted_errors(self) -> list[str]:
        seen = set()
        out = []
        for line, path, message in sorted(self.errors, key=lambda e: (e[0], e[1])):
            s = f"{self.filename}:{line}: {path}: {message}"
            if s not in seen:
                seen.add(s)
                out.append(s)
        return out

    # -- parsing
    def parse(self, text: str) -> Any:
        try:
            loader = _Loader(text)
        except yaml.reader.ReaderError as e:  # the reader checks every character before any parsing
            self.add_raw(text.count("\n", 0, e.position) + 1, (),
                         f"invalid YAML: character #x{e.character:04x} is not allowed ({e.reason})")
            return None
        try:
            try:
                node = loader.get_single_node()
            except yaml.MarkedYAMLError as e:
                mark = e.problem_mark or e.context_mark
                self.add_raw(mark.line + 1 if mark else 1, (), f"invalid YAML: {e.problem or e.context}")
                return None
            except yaml.YAMLError as e:
                self.add_raw(1, (), f"invalid YAML: {e}")
                return None
            except RecursionError:
                self.add_raw(1, (), "invalid YAML: nested too deeply")
                return None
            if node is None:
                self.add_raw(1, (), "the file is empty (expected a mapping with 'journeys')")
                return None
            if not self._walk(node):
                return None
            try:
                return loader.construct_document(node)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                self.add_raw(mark.line + 1 if mark else 1, (), f"invalid YAML: {getattr(e, 'problem', e)}")
                return None
        finally:
            loader.dispose()

    def _walk(self, root: yaml.Node) -> bool:
        """Record lines; reject aliases (exponential expansion), non-string keys, duplicate keys, deep nesting."""
        ok = True
        stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            if node.tag == _ALIAS_TAG:
                self.add_raw(node.start_mark.line + 1, path, "YAML anchors/aliases are not allowed")
                ok = False
                continue
            self.lines[path] = node.start_mark.line + 1
            if len(path) > MAX_YAML_DEPTH:
                self.add_raw(node.start_mark.line + 1, path, f"nested more than {MAX_YAML_DEPTH} levels deep")
                return False
            if isinstance(node, yaml.MappingNode):
                keys: dict[str, int] = {}
                for k, v in node.value:
                    if not isinstance(k, yaml.ScalarNode) or k.tag != "tag:yaml.org,2002:str":
                        self.add_raw(k.start_mark.line + 1, path, "mapping keys must be plain strings")
                        ok = False
                        continue
                    kp = path + (k.value,)
                    if k.value in keys:
                        self.add_raw(k.start_mark.line + 1, kp,
                                     f"duplicate key '{k.value}' (first at line {keys[k.value]})")
                        ok = False
                        continue
                    keys[k.value] = k.start_mark.line + 1
                    self.key_lines[kp] = k.start_mark.line + 1
                    stack.append((v, kp))
            elif isinstance(node, yaml.SequenceNode):
                for i in range(len(node.value) - 1, -1, -1):
                    stack.append((node.value[i], path + (i,)))
        return ok


def format_path(path: Iterable) -> str:
    """``("journeys", 2, "steps", 1, "channel")`` → ``journeys[2].steps[1].channel``; the root is ``$``."""
    out = []
    for p in path:
        if isinstance(p, int):
            out.append(f"[{p}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p)):
            out.append(f".{p}" if out else str(p))
        else:
            out.append(f"[{json.dumps(str(p))}]")
    return "".join(out) or "$"


# -------------------------------------------------------------------------------- schema error messages
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


def _json_type(v: Any) -> str:
    return _JSON_TYPES.get(type(v), type(v).__name__)


def _describe(err) -> list[tuple[tuple, str]]:
    """A jsonschema error → [(path, message)] in our words."""
    path = tuple(err.absolute_path)
    v = err.validator
    inst = err.instance
    custom = err.schema.get("x-messages", {}).get(v) if isinstance(err.schema, dict) else None
    if custom:
        return [(path, custom.replace("{value!r}", repr(inst)).replace("{value}", str(inst)))]
    if v in ("oneOf", "anyOf"):
        branches: dict[int, list] = {}
        for sub in err.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        plausible = [errs for _, errs in sorted(branches.items())
                     if not any(e.validator == "type" and not e.relative_path for e in errs)]
        if plausible:
            best = min(plausible, key=len)
            return [d for e in best for d in _describe(e)]
        kinds = sorted({str(e.validator_value) for e in err.context if e.validator == "type" and not e.relative_path})
        if kinds:
            return [(path, f"expected {' or '.join(kinds)}, got {_json_type(inst)}")]
        return [(path, err.message)]
    if v == "required":
        m = re.match(r"'(.*)' is a required property", err.message)
        name = m.group(1) if m else err.message
        return [(path, f"missing required field '{name}'")]
    if v == "additionalProperties":
        allowed = list(err.schema.get("properties", {}))
        out = []
        for k in sorted(set(inst) - set(allowed), key=str):
            hint = difflib.get_close_matches(str(k), allowed, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else f" (allowed: {', '.join(allowed)})"
            out.append((path + (k,), f"unknown field '{k}'{extra}"))
        return out
    if v == "enum":
        values = [str(x) for x in err.validator_value]
        if len(values) <= 8:
            return [(path, f"{inst!r} is not one of {', '.join(values)}")]
        hint = difflib.get_close_matches(str(inst), values, n=1)
        return [(path, f"{inst!r} is not a known value" + (f" (did you mean '{hint[0]}'?)" if hint else ""))]
    if v == "type":
        return [(path, f"expected {err.validator_value}, got {_json_type(inst)}")]
    if v == "const":
        return [(path, f"must be {json.dumps(err.validator_value)}")]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                "exclusiveMaximum": "less than"}[v]
        return [(path, f"{inst!r} must be {word} {err.validator_value}")]
    if v == "minItems":
        return [(path, f"needs at least {err.validator_value} item(s)")]
    if v == "maxItems":
        return [(path, f"has {len(inst)} items, more than {err.validator_value}")]
    if v == "minLength":
        return [(path, "must not be empty" if err.validator_value == 1 else err.message)]
    if v == "maxLength":
        return [(path, f"is longer than {err.validator_value} characters")]
    return [(path, err.message)]


# -------------------------------------------------------------------------------- semantic checks + build
def _build_journey(jd: dict, jp: tuple, doc: _Doc) -> Journey | None:
    """Semantic checks on one schema-valid journey, and the typed model.  Errors go to ``doc``."""
    n_err = len(doc.errors)

    def cond(text: str | None, path: tuple) -> Condition | None:
        if text is None or not doc.condition_budget(text, path):
            return None
        where = f"{doc.filename}:{doc.line(path)}: {format_path(path)}"
        try:
            return compile_condition(text, where)
        except JourneyError as e:
            for message in e.errors:
                doc.add(path, message[len(where) + 2:] if message.startswith(where + ": ") else message)
            return None

    def trigger(td: dict, path: tuple, type_key: str = "event") -> Trigger:
        etype, stream = td[type_key], td.get("stream")
        if stream is not None and STREAM_OF_TYPE.get(etype) != stream:
            doc.add(path + ("stream",), f"event '{etype}' is not in stream '{stream}' (it is in "
                                        f"'{STREAM_OF_TYPE.get(etype)}')")
        return Trigger(etype, stream, cond(td.get("when"), path + ("when",)))

    def triggers(key: str) -> tuple[Trigger, ...]:
        v = jd.get(key)
        if v is None:
            return ()
        if isinstance(v, dict):
            return (trigger(v, jp + (key,)),)
        return tuple(trigger(td, jp + (key, i)) for i, td in enumerate(v))

    entry, exits, goals = triggers("entry"), triggers("exit"), triggers("goal")

    # steps: unique ids, targets exist
    sds = jd["steps"]
    ids: dict[str, int] = {}
    for k, sd in enumerate(sds):
        sid = sd["id"]
        if sid in ids:
            doc.add(jp + ("steps", k, "id"), f"duplicate step id '{sid}' (first defined at line "
                                             f"{doc.line(jp + ('steps', ids[sid], 'id'))})")
        else:
            ids[sid] = k

    broken_graph = len(ids) != len(sds)  # duplicate step ids

    def target(t: str | None, path: tuple) -> str | None:
        nonlocal broken_graph
        if t is not None and t not in ids:
            broken_graph = True
            hint = difflib.get_close_matches(t, list(ids), n=1)
            doc.add(path, f"unknown step '{t}'" + (f" (did you mean '{hint[0]}'?)" if hint else
                                                   f" (steps: {', '.join(ids)})"))
        return t

    steps: list[Step] = []
    longest_wait = 0
    for k, sd in enumerate(sds):
        sp = jp + ("steps", k)
        sid = sd["id"]
        default_next = sds[k + 1]["id"] if k + 1 < len(sds) else None
        nxt = target(sd.get("next"), sp + ("next",)) if "next" in sd else default_next
        if "send" in sd:
            s = sd["send"]
            steps.append(Step(sid, "send", nxt, channel=s["channel"], content_id=s["content_id"],
                              product_from_event=bool(s.get("product_from_event", False))))
        elif "create_task" in sd or "route_case" in sd:
            kind = "create_task" if "create_task" in sd else "route_case"
            steps.append(Step(sid, kind, nxt, channel=TASK_CHANNEL[kind], content_id=sd[kind]["content_id"]))
        elif "wait" in sd:
            w = sd["wait"]
            if isinstance(w, str):
                ms = _duration(w, sp + ("wait",), doc)
                steps.append(Step(sid, "wait", nxt, wait_ms=ms))
            else:
                ms = _duration(w["timeout"], sp + ("wait", "timeout"), doc)
                until = trigger(w, sp + ("wait",), "until")
                steps.append(Step(sid, "wait", nxt, wait_ms=ms, until=until,
                                  on_event=target(w.get("on_event"), sp + ("wait", "on_event")) or nxt,
                                  on_timeout=target(w.get("on_timeout"), sp + ("wait", "on_timeout")) or nxt))
            longest_wait = max(longest_wait, ms or 0)
        elif "branch" in sd:
            b = sd["branch"]
            cases = []
            for c, cd in enumerate(b["cases"]):
                cp = sp + ("branch", "cases", c)
                cases.append((cond(cd["when"], cp + ("when",)), target(cd["next"], cp + ("next",))))
            els = target(b.get("else"), sp + ("branch", "else")) if "else" in b else nxt
            steps.append(Step(sid, "branch", nxt, cases=tuple(cases), else_=els))
        else:  # exit
            if "next" in sd:
                doc.add(sp + ("next",), "an exit step ends the journey: it cannot have next")
            steps.append(Step(sid, "exit", None))

    # reachability and loops without a wait (only meaningful once all targets exist)
    if not broken_graph:
        by_id = {s.id: s for s in steps}
        reach, todo = {steps[0].id}, [steps[0].id]
        while todo:
            for t in by_id[todo.pop()].targets:
                if t not in reach:
                    reach.add(t)
                    todo.append(t)
        for k, s in enumerate(steps):
            if s.id not in reach:
                doc.add(jp + ("steps", k, "id"), f"step '{s.id}' is unreachable (no step leads to it)")
        loop = _loop_without_wait(steps)
        if loop:
            k = next(i for i, s in enumerate(steps) if s.id == loop[0])
            doc.add(jp + ("steps", k), f"steps {' -> '.join(loop)} loop without a wait")

    # reentry, durations
    rd = jd.get("reentry") or {"mode": "never"}
    cooldown = 0
    if "cooldown" in rd:
        if rd["mode"] != "after_cooldown":
            doc.add(jp + ("reentry", "cooldown"), f"cooldown is only used with mode after_cooldown (mode is "
                                                  f"{rd['mode']})")
        cooldown = _duration(rd["cooldown"], jp + ("reentry", "cooldown"), doc) or 0
    max_ms = DEFAULT_MAX_DURATION_MS
    if "max_duration" in jd:
        max_ms = _duration(jd["max_duration"], jp + ("max_duration",), doc) or DEFAULT_MAX_DURATION_MS
        if longest_wait > max_ms:
            doc.add(jp + ("max_duration",), f"{jd['max_duration']} is shorter than the longest wait "
                                            f"({format_duration(longest_wait)}): the journey could never finish")
    elif longest_wait > max_ms:
        doc.add(jp + ("steps",), f"a wait of {format_duration(longest_wait)} is longer than the default "
                                 f"max_duration ({format_duration(max_ms)}): set max_duration")

    if len(doc.errors) != n_err:
        return None
    return Journey(
        id=jd["id"], name=jd.get("name") or jd["id"], category=jd["category"], priority=int(jd["priority"]),
        exclusion_group=jd.get("exclusion_group"), entry=entry, steps=tuple(steps), exit=exits, goal=goals,
        reentry=Reentry(rd["mode"], cooldown), control_group_pct=float(jd.get("control_group_pct", 0)),
        max_duration_ms=max_ms)


def _lint_broken(jd: Any, jp: tuple, doc: _Doc) -> None:
    """The checks that still make sense for a journey with schema errors: conditions, step ids, step targets."""
    if not isinstance(jd, dict):
        return

    def cond(text: Any, path: tuple) -> None:
        if isinstance(text, str) and doc.condition_budget(text, path):
            where = f"{doc.filename}:{doc.line(path)}: {format_path(path)}"
            try:
                compile_condition(text, where)
            except JourneyError as e:
                for message in e.errors:
                    doc.add(path, message[len(where) + 2:] if message.startswith(where + ": ") else message)

    for key in ("entry", "exit", "goal"):
        v = jd.get(key)
        for i, td in ([(None, v)] if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
            if isinstance(td, dict):
                cond(td.get("when"), jp + ((key,) if i is None else (key, i)) + ("when",))
    sds = jd.get("steps")
    if not isinstance(sds, list):
        return
    ids: dict[str, int] = {}
    for k, sd in enumerate(sds):
        if isinstance(sd, dict) and isinstance(sd.get("id"), str):
            if sd["id"] in ids:
                doc.add(jp + ("steps", k, "id"), f"duplicate step id '{sd['id']}' (first defined at line "
                                                 f"{doc.line(jp + ('steps', ids[sd['id']], 'id'))})")
            else:
                ids[sd["id"]] = k

    def target(t: Any, path: tuple) -> None:
        if isinstance(t, str) and t not in ids:
            doc.add(path, f"unknown step '{t}'")

    for k, sd in enumerate(sds):
        if not isinstance(sd, dict):
            continue
        sp = jp + ("steps", k)
        target(sd.get("next"), sp + ("next",))
        w = sd.get("wait")
        if isinstance(w, dict):
            cond(w.get("when"), sp + ("wait", "when"))
            target(w.get("on_event"), sp + ("wait", "on_event"))
            target(w.get("on_timeout"), sp + ("wait", "on_timeout"))
        b = sd.get("branch")
        if isinstance(b, dict):
            target(b.get("else"), sp + ("branch", "else"))
            for c, cd in enumerate(b.get("cases") if isinstance(b.get("cases"), list) else ()):
                if isinstance(cd, dict):
                    cond(cd.get("when"), sp + ("branch", "cases", c, "when"))
                    target(cd.get("next"), sp + ("branch", "cases", c, "next"))


def _duration(text: str, path: tuple, doc: _Doc) -> int | None:
    try:
        return parse_duration(text)
    except ValueError as e:
        doc.add(path, str(e))
        return None


def _loop_without_wait(steps: list[Step]) -> list[str] | None:
    """A cycle through steps none of which is a wait (it would run forever within one event), or None."""
    by_id = {s.id: s for s in steps}
    color: dict[str, int] = {}
    for s0 in steps:
        if color.get(s0.id):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(s0.id, iter(by_id[s0.id].targets))]
        color[s0.id] = 1
        trail = [s0.id]
        while stack:
            sid, it = stack[-1]
            if by_id[sid].kind == "wait":
                nxt = None  # a wait breaks the loop: do not follow its edges
            else:
                nxt = next(it, None)
            if nxt is None:
                color[sid] = 2
                stack.pop()
                trail.pop()
                continue
            c = color.get(nxt, 0)
            if c == 1:
                return trail[trail.index(nxt):] + [nxt]
            if c == 0:
                color[nxt] = 1
                trail.append(nxt)
                stack.append((nxt, iter(by_id[nxt].targets)))
    return None
