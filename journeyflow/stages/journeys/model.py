"""The journey model: typed, immutable records built by the loader from a journey file and run by the engine.

A :class:`Journey` is what one entry of ``journeys:`` in a journey file means (see :mod:`.loader` for the file
format); a :class:`Step` is one of its steps, with every target already resolved.  :class:`JourneyStep` is one row
of the analyst table ``journey_steps`` and :class:`JourneyOutput` what the engine returns for one event or timer.
Plain Python, no Beam import.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from journeyflow.config.durations import format_duration
from journeyflow.model.decisions import Candidate
from journeyflow.model.events import EVENT_TYPES
from journeyflow.stages.conditions import Condition
from journeyflow.stages.state import DAY

__all__ = ["ACTION_KINDS", "DEFAULT_MAX_DURATION_MS", "Journey", "JourneyOutput", "JourneyStep", "MAX_ENTRIES_KEPT",
           "Reentry", "STEP_KINDS", "STREAM_OF_TYPE", "Step", "TASK_CHANNEL", "Trigger", "control_bucket"]

#: Entry times kept per membership for re-entry rules (= ``Retention.max_entries_per_journey``).
MAX_ENTRIES_KEPT = 20
#: A journey's ``max_duration`` when its file does not set one: 90 days, in ms.
DEFAULT_MAX_DURATION_MS = 90 * DAY
#: The step kinds of the file format, in the order the schema lists them.
STEP_KINDS = ("send", "create_task", "route_case", "wait", "branch", "exit")
#: Step kinds that propose a :class:`~journeyflow.model.decisions.Candidate`.
ACTION_KINDS = frozenset({"send", "create_task", "route_case"})
#: The candidate channel of the internal step kinds.
TASK_CHANNEL = {"create_task": "crm_task", "route_case": "service_case"}
#: Event type → its stream, from :data:`journeyflow.model.events.EVENT_TYPES` (event types are unique).
STREAM_OF_TYPE: Mapping[str, str] = {t: s for s, ts in EVENT_TYPES.items() for t in ts}


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event (type, optionally stream) with an optional condition.  ``same`` (exits, goals and wait-untils): field paths
    (``order_id``, ``properties.orderId``) whose value must equal the entry event's -- an ``order_cancelled`` ends
    the cross-sell of that order, not of every order; an entry event without the field leaves the trigger open."""

    type: str
    stream: str | None = None
    condition: Condition | None = None
    same: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reentry:
    """Whether a customer who was in the journey may enter it again: ``never``, ``always``, or ``after_cooldown``
    (``cooldown_ms`` after the latest entry, in ms)."""

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
    """One journey of a journey file, validated.  Durations are in ms; ``control_group_pct`` is 0-50 (percent of
    customers whose candidates are marked control).  The derived fields (``step_map``, ``wait_types``,
    ``uses_product``, ``first_step``) are computed once here for the engine."""

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
    entry_keys: tuple[str, ...] = field(init=False, compare=False, repr=False)  # kept as ``k`` in the membership
    #: the entry conditions when every entry has one and none reads the event (:func:`audience_of`), else ()
    audience: tuple[Condition, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first_step", self.steps[0].id)
        object.__setattr__(self, "step_map", {s.id: s for s in self.steps})
        ends = self.exit + self.goal + tuple(s.until for s in self.steps if s.until is not None)
        object.__setattr__(self, "entry_keys", tuple(sorted({f for t in ends for f in t.same})))
        object.__setattr__(self, "wait_types",
                           frozenset(s.until.type for s in self.steps if s.until is not None))
        object.__setattr__(self, "audience", audience_of(self.entry))
        conds = [c for s in self.steps for c, _ in s.cases] + [s.until.condition for s in self.steps if s.until]
        conds += self.audience  # (re-checked later: the entry's product facts, ``customer.product_views_7d``)
        object.__setattr__(self, "uses_product", any(s.product_from_event for s in self.steps) or any(
            c is not None and (reads_product(c) or _reads(c.text, "event", frozenset({"product_id"}))) for c in conds))

    def control_bucket(self, key: str) -> int:
        """The control bucket a draw with ``key`` gives for this journey, 0-9999 (see :func:`control_bucket`)."""
        return control_bucket(self.id, key)

    def in_control(self, key: str) -> bool:
        """The arm a draw with ``key`` gives (deterministic): True = control group.  The engine draws with the uid of
        the event that first entered the customer into the journey and stores the result in the membership."""
        return self.control_group_pct > 0 and control_bucket(self.id, key) < self.control_group_pct * 100


#: A CEL string literal (triple-quoted, raw or not, either quote), blanked before looking for ``event``.
_CEL_STRING = re.compile("[rR]?(?:" + "|".join((r"'{3}[\s\S]*?'{3}", r'"{3}[\s\S]*?"{3}',
                                                 r"'(?:\\.|[^'\\\n])*'", r'"(?:\\.|[^"\\\n])*"')) + ")")
_READS_EVENT = re.compile(r"(?<![\w.])event\b")


def reads_event(condition: Condition) -> bool:
    """Whether a condition's text names the ``event`` variable outside string literals (a macro variable called
    ``event`` counts too: then the condition is not treated as being about the customer only)."""
    return _READS_EVENT.search(_CEL_STRING.sub("''", condition.text)) is not None


#: The ``customer`` facts about the triggering (or the entry's) product (``journeys.context``).
PRODUCT_FACTS = frozenset({"product_views_7d", "bought_product_30d"})


def reads_product(condition: Condition) -> bool:
    """Whether a condition reads a product fact (:data:`PRODUCT_FACTS`: ``customer.product_views_7d``,
    ``customer['bought_product_30d']``), from its parsed field references.  Before, any condition whose text held
    ``product`` counted (``customer.lifecycle_stage == 'product_qualified_lead'``, a trait ``preferred_product``):
    its journey's audience was then never re-checked without an entry product (``JourneyEngine._in_audience``)."""
    return _reads(condition.text, "customer", PRODUCT_FACTS)


@lru_cache(maxsize=4096)
def _reads(text: str, variable: str, fields: frozenset[str]) -> bool:
    """Whether the CEL condition ``text`` reads one of ``fields`` of ``variable`` (``v.f`` or ``v['f']``)."""
    from lark import Token, Tree

    from journeyflow.stages.conditions import _env

    def base_is(node: object) -> bool:
        while isinstance(node, Tree) and node.data in ("member", "primary", "ident") and len(node.children) == 1:
            node = node.children[0]
        return isinstance(node, Token) and node.type == "IDENT" and node.value == variable

    for node in _env().compile(text).iter_subtrees():
        if node.data not in ("member_dot", "member_index") or not base_is(node.children[0]):
            continue
        key = node.children[1]
        if node.data == "member_index":  # (an index by a string literal only)
            lits = [t for t in key.scan_values(lambda v: isinstance(v, Token))] if isinstance(key, Tree) else [key]
            key = lits[0].value[1:-1] if len(lits) == 1 and lits[0].value[:1] in "'\"" else None
        if str(key) in fields:
            return True
    return False


def audience_of(entry: tuple[Trigger, ...]) -> tuple[Condition, ...]:
    """A journey's audience: its entry conditions when every entry trigger has one and none reads the event (they
    say who the journey is for, not what happened), else ``()``.  The engine re-checks it before each send after
    the entry and before a send deferred by quiet hours goes out: a customer who matches none of them any more
    leaves (``exited``/``cancelled``, detail ``audience``).  Braze and Iterable re-check a journey's audience at send
    time, Klaviyo a flow's filters at every step.  A condition that reads the event is about the entry event, which
    later steps no longer have: a journey with one keeps the entry-time check only."""
    conds = tuple(t.condition for t in entry if t.condition is not None)
    if len(conds) != len(entry) or any(reads_event(c) for c in conds):
        return ()
    return tuple(dict.fromkeys(conds))  # (the same condition on two entries, ``welcome``: checked once)


@lru_cache(maxsize=8192)
def control_bucket(journey_id: str, key: str) -> int:
    """0-9999 from a hash of (journey_id, key); independent across journeys."""
    h = hashlib.blake2b(f"{journey_id}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 10_000


class JourneyStep(NamedTuple):
    """One row of the analyst table ``journey_steps``.

    kind: entered | step | waiting | exited | goal | entry_refused | cancelled.  detail, by kind:
    entered ``treatment``/``control``; step ``send:email:<content>``, ``create_task:<content>``,
    ``route_case:<content>``, ``branch:case<N>-><step>``/``branch:else-><step>``, ``resume:timer``,
    ``resume:timeout``, ``resume:event:<type>``; waiting ``wait:<dur>``/``wait_until:<type>:<dur>``;
    exited ``completed``/``exit_step``/``exit_event:<type>``/``goal``/``max_duration``/``journey_removed``/
    ``step_removed``/``loop_guard``/``audience`` (:attr:`Journey.audience` no longer matched); goal ``<event
    type>``; entry_refused ``reentry:never``/``reentry:cooldown``/``exclusion_group:<group>:<active journey>``/
    ``held`` (kept for later: ``journeys.held``)/``held_ended:<why>`` (a held entry dropped); cancelled (a pending deferred send of the step ``step_id``,
    dropped) ``exit_event:<type>``/``goal``/``max_duration``/``exit_step``/``journey_removed``/``step_removed``/
    ``loop_guard``/``reentered``/``merged``/``superseded``/``audience``.
    """

    customer_id: str
    journey_id: str
    step_id: str
    kind: str
    at: int
    trigger_id: str
    detail: str


class JourneyOutput(NamedTuple):
    """What the engine returns for one event or timer: proposed actions (for arbitration), table rows, and the
    pending deferred sends it cancelled."""

    candidates: list[Candidate]
    steps: list[JourneyStep]
    #: pending deferred sends removed from the state with their membership: (timer, reason); the caller records
    #: them (``CustomerProcessor`` writes a ``suppress`` decision with reason ``journey_exited`` for each)
    cancelled: list[tuple[list, str]]

