"""Arbitration: decide once, upstream, what happens for one customer at one moment, and record why.

Several journeys may propose :class:`~journeyflow.model.decisions.Candidate` actions for the same customer at the same
event time.  :class:`Arbiter` applies the business rules of a :class:`Policy` (loaded from YAML, defaults in
``journeyflow/defaults/policy.yaml``) and returns :class:`Decision` records: the chosen actions, the deferred ones
(quiet hours) and, for everything else, one reason code per candidate.

Plain Python, no Beam import.  Rules run in a fixed order; the first one that applies is the candidate's reason:

=====  ========================  ===================================================================
order  reason code               what
=====  ========================  ===================================================================
0      ``invalid_candidate``     unknown category, or an action/channel pair that does not exist
0      ``duplicate_candidate``   the very same candidate twice in one batch (kept once)
1      ``control_group``         ``Candidate.control``: recorded, never executed
2      ``consent``               the channel's consent does not allow the category
3      ``exclusion_group``       another journey of the same exclusion group is active for the customer
4      ``open_ticket``           open (or recently resolved) ticket; escalated ticket for sales tasks
5      ``recent_purchase``       the promoted product was bought recently
6      ``quiet_hours_deferred``  not dropped: a ``wait`` decision plus a due time to re-arbitrate at
7      ``duplicate_content``     same content sent on another channel recently
8      ``frequency_cap``         a global or per-channel cap would be exceeded
9      ``exclusion_group``       a better candidate of another journey in the same group was chosen now
9      ``duplicate_content``     a better candidate with the same content was chosen now
9      ``lower_priority``        ``max_messages_per_moment`` already reached by better candidates
9      ``frequency_cap``         the sends chosen now by better candidates reach a cap
=====  ========================  ===================================================================

Rules 1-8 look at one candidate and the customer's history; the rules of step 9 look at what better candidates
(visited best first) were already chosen in this moment.  Customer messages are ``send`` actions on the channels
of ``model.CHANNELS``; tasks and cases (``crm_task``, ``service_case``) are internal: consent, quiet hours, caps,
de-duplication and the per-moment message limit do not apply to them.

Best first: category (``model.CATEGORY_RANK``: service > transactional > sales > marketing), journey priority
(higher first), score (higher first, see :class:`Scorer`), then journey_id, step_id, channel, content_id and the
remaining fields, so the result never depends on the order of the input list.

Records: every chosen candidate gives a :class:`Decision` (reason ``chosen``), every deferred one a ``wait`` decision
(and an entry in ``ArbitrationResult.deferred``); the first of them lists all other candidates with their reason.
When nothing is chosen or deferred, one ``suppress`` decision (``none`` if all were control group) lists them all.
Windows are event time, ``(now - window, now]``, like :meth:`CustomerState.sends_within`.
"""
from __future__ import annotations

import importlib
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Literal,
    Protocol,
    get_args,
    runtime_checkable,
)
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from journeyflow.model.decisions import (
    CATEGORIES,
    CATEGORY_RANK,
    CHANNELS,
    TASK_TARGETS,
    Candidate,
    CandidateOutcome,
    Decision,
    decision_id,
)
from journeyflow.stages.state import BLOCKING, CustomerState

# ------------------------------------------------------------------------------------------------ reason codes
INVALID_CANDIDATE = "invalid_candidate"
DUPLICATE_CANDIDATE = "duplicate_candidate"
CONTROL_GROUP = "control_group"
CONSENT = "consent"
EXCLUSION_GROUP = "exclusion_group"
OPEN_TICKET = "open_ticket"
RECENT_PURCHASE = "recent_purchase"
QUIET_HOURS_DEFERRED = "quiet_hours_deferred"
DUPLICATE_CONTENT = "duplicate_content"
FREQUENCY_CAP = "frequency_cap"
LOWER_PRIORITY = "lower_priority"
#: reason code of a chosen candidate's decision
CHOSEN = "chosen"
_CHOSEN_CODES = (CHOSEN,)
_DEFERRED_CODES = (QUIET_HOURS_DEFERRED,)
_ONLY_CONTROL = (CONTROL_GROUP,)
REASON_CODES: tuple[str, ...] = (
    INVALID_CANDIDATE, DUPLICATE_CANDIDATE, CONTROL_GROUP, CONSENT, EXCLUSION_GROUP, OPEN_TICKET, RECENT_PURCHASE,
    QUIET_HOURS_DEFERRED, DUPLICATE_CONTENT, FREQUENCY_CAP, LOWER_PRIORITY,
)

DEFAULT_POLICY_FILE = "policy.yaml"
#: Modules a policy file may name in ``scoring.scorer`` (the module itself or a submodule of it).  The list lives in
#: code, not in the policy file, so that whoever edits the YAML cannot make the pipeline import arbitrary code;
#: deployments extend it through ``Arbiter(..., allowed_scorer_modules=...)``.
DEFAULT_SCORER_MODULES: tuple[str, ...] = ("journeyflow_scoring", "journeyflow.stages.arbitration")

_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION_RE = re.compile(r"(\d{1,7})\s*(ms|s|m|h|d|w)")
_TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_SCORER_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


#: Limits for a policy file, which may come from an untrusted source (as for journey files): its size and nesting.
#: YAML aliases are refused: an alias "bomb" is small as text but expands exponentially when validated.
MAX_POLICY_BYTES = 1 << 20
MAX_YAML_DEPTH = 40


class PolicyError(ValueError):
    """An invalid policy file or scorer setting; the message names the file, line and field."""


# ================================================================================================ policy model
def _duration(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        td = v
    elif isinstance(v, str) and (m := _DURATION_RE.fullmatch(v.strip())):
        td = timedelta(milliseconds=int(m[1]) * _MS[m[2]])
    else:
        raise ValueError(f"a duration is a number with a unit (ms, s, m, h, d, w), e.g. '48h' or '7d' (got {v!r})")
    if td <= timedelta(0):
        raise ValueError(f"a duration must be positive (got {v!r})")
    return td


def _time_of_day(v: Any) -> time:
    if isinstance(v, time):
        return v
    if isinstance(v, int) and not isinstance(v, bool):  # pydantic reports ValueError, not TypeError
        raise ValueError("write a time of day as a quoted string, e.g. '21:00' "  # noqa: TRY004
                         f"(unquoted, YAML reads 21:00 as the number {21 * 60}; got {v!r})")
    if isinstance(v, str) and (m := _TIME_RE.fullmatch(v.strip())):
        return time(int(m[1]), int(m[2]))
    raise ValueError(f"a time of day is 'HH:MM' on a 24-hour clock, e.g. '08:00' (got {v!r})")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Category = Literal["service", "transactional", "sales", "marketing"]
ConsentRequirement = Literal["granted", "not_opted_out"]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
assert get_args(Category) == CATEGORIES, "Category literal out of sync with model.CATEGORIES"

_MARKETING_SALES: tuple[Category, ...] = ("marketing", "sales")
_ALL: tuple[Category, ...] = ("service", "transactional", "sales", "marketing")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentRequirements(_Section):
    """Per category: ``granted`` needs an explicit grant on the channel; ``not_opted_out`` allows a send unless the
    channel is revoked/unsubscribed/complained/bounced (``state.BLOCKING``, which blocks every category)."""

    marketing: ConsentRequirement = "granted"
    sales: ConsentRequirement = "granted"
    service: ConsentRequirement = "not_opted_out"
    transactional: ConsentRequirement = "not_opted_out"


class ConsentPolicy(_Section):
    requires: ConsentRequirements = ConsentRequirements()


class OpenTicketPolicy(_Section):
    enabled: bool = True
    categories: tuple[Category, ...] = _MARKETING_SALES
    grace: Duration = timedelta(hours=48)
    escalated_task_categories: tuple[Category, ...] = ("sales",)


class RecentPurchasePolicy(_Section):
    enabled: bool = True
    window: Duration = timedelta(days=30)
    categories: tuple[Category, ...] = _MARKETING_SALES


class Limit(_Section):
    max: int = Field(ge=0)
    per: Duration


def _limits(*pairs: tuple[int, str]) -> tuple[Limit, ...]:
    return tuple(Limit(max=m, per=_duration(p)) for m, p in pairs)


class GlobalCap(_Section):
    categories: tuple[Category, ...] = _MARKETING_SALES
    counted: tuple[Category, ...] | None = None  # None: the same as categories
    limits: tuple[Limit, ...] = _limits((1, "24h"), (3, "7d"))


class ChannelLimits(_Section):
    email: tuple[Limit, ...] = _limits((2, "24h"), (5, "7d"))
    sms: tuple[Limit, ...] = _limits((1, "24h"), (2, "7d"))
    push: tuple[Limit, ...] = _limits((2, "24h"), (7, "7d"))
    call: tuple[Limit, ...] = _limits((1, "7d"))


assert set(ChannelLimits.model_fields) == set(CHANNELS), "ChannelLimits out of sync with model.CHANNELS"


class ChannelCap(_Section):
    categories: tuple[Category, ...] = _MARKETING_SALES
    counted: tuple[Category, ...] | None = None
    limits: ChannelLimits = ChannelLimits()


class FrequencyCapPolicy(_Section):
    enabled: bool = True
    global_: GlobalCap = Field(default=GlobalCap(), alias="global")
    per_channel: ChannelCap = ChannelCap()


class QuietHoursPolicy(_Section):
    enabled: bool = True
    start: TimeOfDay = time(21, 0)
    end: TimeOfDay = time(8, 0)
    categories: tuple[Category, ...] = _MARKETING_SALES

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursPolicy:
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ (use enabled: false to switch them off)")
        return self


class DuplicateContentPolicy(_Section):
    enabled: bool = True
    window: Duration = timedelta(hours=24)
    categories: tuple[Category, ...] = _ALL
    same_channel: bool = False


class CategoryWeights(_Section):
    service: Weight = 1.0
    transactional: Weight = 1.0
    sales: Weight = 1.0
    marketing: Weight = 1.0


class ScoringPolicy(_Section):
    weights: CategoryWeights = CategoryWeights()
    journey_weights: dict[str, Weight] = Field(default_factory=dict)
    scorer: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("scorer")
    @classmethod
    def _scorer_spec(cls, v: str | None) -> str | None:
        if v is not None and not _SCORER_RE.fullmatch(v):
            raise ValueError(f"scorer is 'package.module:ClassName' (got {v!r})")
        return v


class Policy(_Section):
    """The arbitration policy.  Every section rejects unknown keys, so a typo in the YAML is an error."""

    version: Literal[1] = 1
    default_timezone: str = "UTC"
    max_messages_per_moment: int = Field(default=1, ge=0)
    consent: ConsentPolicy = ConsentPolicy()
    open_tickets: OpenTicketPolicy = OpenTicketPolicy()
    recent_purchase: RecentPurchasePolicy = RecentPurchasePolicy()
    frequency_caps: FrequencyCapPolicy = FrequencyCapPolicy()
    quiet_hours: QuietHoursPolicy = QuietHoursPolicy()
    duplicate_content: DuplicateContentPolicy = DuplicateContentPolicy()
    scoring: ScoringPolicy = ScoringPolicy()

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        if _zone_or_none(v) is None:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/Berlin'")
        return v

    @classmethod
    def from_yaml_text(cls, text: str, filename: str = "<policy>") -> Policy:
        n = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > MAX_POLICY_BYTES else len(text)
        if n > MAX_POLICY_BYTES:
            raise PolicyError(f"{filename}: file is {n} bytes, larger than the {MAX_POLICY_BYTES} byte limit")
        try:
            data = yaml.load(text, Loader=_StrictLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else filename
            problem = getattr(e, "problem", None) or str(e)
            raise PolicyError(f"{where}: not valid YAML: {problem}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise PolicyError(f"{filename}: a policy is a mapping of settings (got a {type(data).__name__})")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise PolicyError(_format_errors(e, text, filename)) from None


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; raises :class:`PolicyError` naming the file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"{p}: cannot read policy file: {e.strerror or e}") from None
    return Policy.from_yaml_text(text, str(p))


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The packaged ``journeyflow/defaults/policy.yaml``."""
    text = resources.files("journeyflow.defaults").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    return Policy.from_yaml_text(text, f"journeyflow/defaults/{DEFAULT_POLICY_FILE}")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (the second ``quiet_hours:`` block would silently win), aliases and
    nesting deeper than :data:`MAX_YAML_DEPTH` (the composer recurses once per level)."""

    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML anchors/aliases are not allowed",
                                              self.peek_event().start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                              self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first defined on line {seen[key] + 1})", key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _format_errors(err: ValidationError, text: str, filename: str) -> str:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    lines = []
    for e in err.errors():
        loc = e["loc"]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"
        line = _line_of(root, loc)
        where = f"{filename}:{line}" if line else filename
        if e["type"] == "extra_forbidden":
            allowed = _keys_at(loc[:-1])
            msg = "unknown key" + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if "got " not in msg and repr(e.get("input")) not in msg and e["type"] != "missing":
                shown = repr(e.get("input"))
                msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        lines.append((line or 0, f"  {where}: {path}: {msg}"))
    lines.sort(key=lambda x: x[0])
    return f"invalid policy {filename}:\n" + "\n".join(t for _, t in lines)


def _line_of(node: Any, loc: tuple) -> int | None:
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _keys_at(loc: tuple) -> list[str]:
    model: Any = Policy
    for part in loc:
        if isinstance(part, int):
            continue
        fld = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        model = _model_in(fld.annotation) if fld is not None else None
        if model is None:
            return []
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _model_in(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in get_args(ann):
        m = _model_in(a)
        if m is not None:
            return m
    return None


def _zone_or_none(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# ===================================================================================================== scoring
@runtime_checkable
class Scorer(Protocol):
    """Orders candidates of the same category and priority: higher score first.

    A data-science team plugs its own model in with ``scoring.scorer: "package.module:ClassName"`` (the class is
    imported from an allow-listed, installed module and created with ``scoring.options`` as keyword arguments).
    It must be deterministic (same candidate, state and time give the same score), fast (it runs for every
    candidate), picklable (it travels to the Beam workers) and must not mutate the state.  An exception it raises
    propagates out of ``Arbiter.arbitrate``; a NaN score counts as 0.
    """

    def score(self, candidate: Candidate, state: CustomerState, now: int) -> float: ...


class DefaultScorer:
    """``candidate.score`` × category weight × journey weight (``scoring.weights`` / ``scoring.journey_weights``)."""

    def __init__(self, weights: Mapping[str, float] | None = None,
                 journey_weights: Mapping[str, float] | None = None) -> None:
        self.weights = dict(weights or {})
        self.journey_weights = dict(journey_weights or {})

    def score(self, candidate: Candidate, state: CustomerState, now: int) -> float:
        s = candidate.score * self.weights.get(candidate.category, 1.0)
        if self.journey_weights:
            s *= self.journey_weights.get(candidate.journey_id, 1.0)
        return s


def _allowed(module: str, allowed: Sequence[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def load_scorer(spec: str, options: Mapping[str, Any] | None = None,
                allowed_modules: Sequence[str] = DEFAULT_SCORER_MODULES) -> Scorer:
    """Import ``package.module:ClassName`` from an allow-listed module and instantiate it with ``options``.

    Only ``importlib.import_module`` + ``getattr`` are used (no eval); the module and the class's defining module
    must both be in ``allowed_modules`` (so an allowed module cannot re-export e.g. ``subprocess.Popen``).
    """
    if not _SCORER_RE.fullmatch(spec or ""):
        raise PolicyError(f"scoring.scorer: expected 'package.module:ClassName' (got {spec!r})")
    module_name, _, attr = spec.partition(":")
    if not _allowed(module_name, allowed_modules):
        raise PolicyError(f"scoring.scorer: module {module_name!r} is not an allowed scorer module "
                          f"(allowed: {', '.join(allowed_modules) or 'none'})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise PolicyError(f"scoring.scorer: cannot import {module_name!r}: {e}") from None
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise PolicyError(f"scoring.scorer: {spec!r} is not a class")
    if not _allowed(cls.__module__, allowed_modules):
        raise PolicyError(f"scoring.scorer: {spec!r} is defined in {cls.__module__!r}, not an allowed module")
    try:
        inst = cls(**dict(options or {}))
    except TypeError as e:
        raise PolicyError(f"scoring.scorer: cannot create {spec} with options {sorted(options or {})}: {e}") from None
    if not callable(getattr(inst, "score", None)):
        raise PolicyError(f"scoring.scorer: {spec} has no score(candidate, state, now) method")
    return inst


# ================================================================================================== arbitration
@dataclass(slots=True)
class ArbitrationResult:
    decisions: list[Decision] = field(default_factory=list)
    #: (due time in ms, candidate): re-arbitrate the candidate at that time (all rules apply again then)
    deferred: list[tuple[int, Candidate]] = field(default_factory=list)


_VALID_TARGETS = frozenset({("send", ch) for ch in CHANNELS}
                           | {(a, t) for a in ("create_task", "route_case") for t in TASK_TARGETS})


class _Moment:
    """Per-call lazily computed facts (history counts, ticket flags, active groups, quiet-hours due time)."""

    __slots__ = ("active", "hist", "now", "quiet_due", "state", "tickets")

    def __init__(self, state: CustomerState, now: int) -> None:
        self.state = state
        self.now = now
        self.hist: tuple | None = None
        self.tickets: tuple[bool, bool] | None = None
        self.active: dict | None = None
        self.quiet_due: int | None = None


class Arbiter:
    """Applies a :class:`Policy` to the candidates of one customer at one moment.

    Settings are copied into plain attributes here so that :meth:`arbitrate` does no pydantic access.
    ``arbitrate`` mutates only ``state.sends`` (chosen sends are recorded so later moments see them in caps).
    """

    def __init__(self, policy: Policy | None = None, scorer: Scorer | None = None, *,
                 allowed_scorer_modules: Sequence[str] = DEFAULT_SCORER_MODULES) -> None:
        p = policy if policy is not None else default_policy()
        self.policy = p
        sc = p.scoring
        w = sc.weights
        self._weights = {c: getattr(w, c) for c in CATEGORIES}
        self._journey_weights = dict(sc.journey_weights)
        if scorer is None and sc.scorer:
            scorer = load_scorer(sc.scorer, sc.options, allowed_scorer_modules)
        if type(scorer) is DefaultScorer:  # its weights replace the policy's
            self._weights = {c: scorer.weights.get(c, 1.0) for c in CATEGORIES}
            self._journey_weights = dict(scorer.journey_weights)
            scorer = None
        self._scorer = scorer  # None: the default scorer, inlined in the hot path
        self._rank = dict(CATEGORY_RANK)
        self._needs_grant = frozenset(c for c in CATEGORIES if getattr(p.consent.requires, c) == "granted")
        self._blocking = BLOCKING

        ot = p.open_tickets
        self._ticket_cats = frozenset(ot.categories) if ot.enabled else frozenset()
        self._escalated_cats = frozenset(ot.escalated_task_categories) if ot.enabled else frozenset()
        self._grace = _ms(ot.grace)

        rp = p.recent_purchase
        self._purchase_cats = frozenset(rp.categories) if rp.enabled else frozenset()
        self._purchase_window = _ms(rp.window)

        qh = p.quiet_hours
        self._quiet_cats = frozenset(qh.categories) if qh.enabled else frozenset()
        self._q_start = qh.start.hour * 3600 + qh.start.minute * 60
        self._q_end = qh.end.hour * 3600 + qh.end.minute * 60
        self._q_end_time = qh.end
        self._default_zone = ZoneInfo(p.default_timezone)
        self._zones: dict[Any, ZoneInfo] = {}

        dc = p.duplicate_content
        self._dup_cats = frozenset(dc.categories) if dc.enabled else frozenset()
        self._dup_window = _ms(dc.window) if dc.enabled else 0
        self._dup_same_channel = dc.same_channel

        fc = p.frequency_caps
        g, pc = fc.global_, fc.per_channel
        self._g_cats = frozenset(g.categories) if fc.enabled and g.limits else frozenset()
        self._g_counted = frozenset(g.counted if g.counted is not None else g.categories)
        self._g_limits = tuple((lim.max, _ms(lim.per)) for lim in g.limits)
        self._c_limits = {ch: tuple((lim.max, _ms(lim.per)) for lim in getattr(pc.limits, ch)) for ch in CHANNELS}
        self._c_limits = {ch: v for ch, v in self._c_limits.items() if v}
        self._c_cats = frozenset(pc.categories) if fc.enabled and self._c_limits else frozenset()
        self._c_counted = frozenset(pc.counted if pc.counted is not None else pc.categories)
        spans = [self._dup_window]
        if self._g_cats:
            spans += [w for _, w in self._g_limits]
        if self._c_cats:
            spans += [w for lims in self._c_limits.values() for _, w in lims]
        self._hist_span = max(spans)
        self._hist_cats = self._dup_cats | self._g_cats | self._c_cats

        self._max_messages = p.max_messages_per_moment

    def __repr__(self) -> str:
        return f"Arbiter(policy=<{len(self.policy.model_dump_json())} bytes>, scorer={self._scorer!r})"

    def lookback_ms(self) -> dict[str, int]:
        """How far back each state entry must be kept for this policy (compare with ``state.Retention``:
        entries expired earlier would silently under-count caps, purchases or the ticket grace period)."""
        return {"sends": self._hist_span,
                "purchases": self._purchase_window if self._purchase_cats else 0,
                "resolved_tickets": self._grace if self._ticket_cats else 0}

    # ---------------------------------------------------------------------------------------------- hot path
    def arbitrate(self, state: CustomerState, candidates: Sequence[Candidate], now: int, customer_id: str,
                  trigger_id: str) -> ArbitrationResult:
        """Decide for one customer at one moment (event time ``now``, ms).  See the module docstring."""
        if not candidates:
            return ArbitrationResult([], [])
        lost: list[tuple[Candidate, str]] = []
        ordered = self._order(candidates, state, now, lost) if len(candidates) > 1 else candidates
        m = _Moment(state, now)
        acted: list[tuple[Candidate, int]] = []  # (candidate, due); due 0 = chosen now
        deferred: list[tuple[int, Candidate]] = []
        moment_groups: dict[str, str] | None = None  # exclusion group -> journey chosen in it this moment
        moment_content: set[str] | None = None
        moment_global = 0
        moment_channel: dict[str, int] | None = None
        n_messages = 0
        for c in ordered:
            reason = self._reason(c, m)
            if reason is None:
                # ---- against what this moment already chose (candidates come best first)
                grp = c.exclusion_group
                if grp is not None and moment_groups and moment_groups.get(grp, c.journey_id) != c.journey_id:
                    reason = EXCLUSION_GROUP
                elif c.action == "send":
                    cat, ch, cid = c.category, c.channel, c.content_id
                    if n_messages:
                        if cid is not None and cid in moment_content and cat in self._dup_cats:  # type: ignore
                            reason = DUPLICATE_CONTENT
                        elif n_messages >= self._max_messages:
                            reason = LOWER_PRIORITY
                        elif self._capped(cat, ch, m, moment_global, moment_channel.get(ch, 0)):  # type: ignore
                            reason = FREQUENCY_CAP
                    elif not self._max_messages:
                        reason = LOWER_PRIORITY
                    if reason is None:
                        n_messages += 1
                        if n_messages == 1:
                            moment_content, moment_channel = set(), {}
                        if cid is not None:
                            moment_content.add(cid)  # type: ignore[union-attr]
                        if cat in self._g_counted:
                            moment_global += 1
                        if cat in self._c_counted:
                            moment_channel[ch] = moment_channel.get(ch, 0) + 1  # type: ignore[index,union-attr]
                if reason is None:
                    if grp is not None:
                        if moment_groups is None:
                            moment_groups = {}
                        moment_groups[grp] = c.journey_id
                    acted.append((c, 0))
                    continue
            elif reason is QUIET_HOURS_DEFERRED:
                acted.append((c, m.quiet_due))  # type: ignore[arg-type]
                deferred.append((m.quiet_due, c))  # type: ignore[arg-type]
                continue
            lost.append((c, reason))
        if n_messages:
            # recorded only now, so that this moment's history counts above never include its own sends
            for c, due in acted:
                if not due and c.action == "send":
                    state.record_send(now, c.channel, c.category, c.content_id)
        return ArbitrationResult(self._decisions(acted, lost, now, customer_id, trigger_id), deferred)

    def _order(self, candidates: Sequence[Candidate], state: CustomerState, now: int,
               lost: list[tuple[Candidate, str]]) -> list[Candidate]:
        """Best first, independent of the input order; exact duplicates go to ``lost``."""
        scorer, weights, jw, rank = self._scorer, self._weights, self._journey_weights, self._rank
        keyed = []
        for c in candidates:
            if scorer is None:
                s = c.score * weights.get(c.category, 1.0)
                if jw:
                    s *= jw.get(c.journey_id, 1.0)
            else:
                s = float(scorer.score(c, state, now))
            if s != s:  # noqa: PLR0124 - NaN (it would make the order depend on the input order)
                s = 0.0
            keyed.append(((rank.get(c.category, 99), -c.priority, -s, c.journey_id, c.step_id, c.channel,
                           c.content_id or "", c.action), c))
        keyed.sort(key=_first)
        for i in range(1, len(keyed)):
            if keyed[i][0] == keyed[i - 1][0]:
                # rare: a tie on the usual fields; order by every field, then drop exact duplicates
                keyed.sort(key=_full_key)
                out: list[Candidate] = []
                for _, c in keyed:
                    if out and c == out[-1]:
                        lost.append((c, DUPLICATE_CANDIDATE))
                    else:
                        out.append(c)
                return out
        return [c for _, c in keyed]

    def _reason(self, c: Candidate, m: _Moment, every: list[str] | None = None) -> str | None:
        """The first history rule that applies to one candidate, in rule order (None: none applies).

        With a list as ``every``, all rules run and every reason that applies is appended to it (``explain``).
        """
        cat, ch = c.category, c.channel
        if cat not in self._rank or (c.action, ch) not in _VALID_TARGETS:
            if every is None:
                return INVALID_CANDIDATE
            every.append(INVALID_CANDIDATE)
            return None
        if c.control:
            if every is None:
                return CONTROL_GROUP
            every.append(CONTROL_GROUP)
        state, now = m.state, m.now
        send = c.action == "send"
        if send:
            st = state.consent.get(ch)
            st = st[0] if st else None
            if st in self._blocking or (st != "granted" and cat in self._needs_grant):
                if every is None:
                    return CONSENT
                every.append(CONSENT)
        grp = c.exclusion_group
        if grp is not None and state.journeys:
            if m.active is None:
                m.active = _active_groups(state)
            js = m.active.get(grp)
            if js and (len(js) > 1 or c.journey_id not in js):
                if every is None:
                    return EXCLUSION_GROUP
                every.append(EXCLUSION_GROUP)
        if (state.tickets or state.resolved) and cat in (self._ticket_cats if send else self._escalated_cats):
            if m.tickets is None:
                m.tickets = self._ticket_flags(state, now)
            if m.tickets[0 if send else 1]:
                if every is None:
                    return OPEN_TICKET
                every.append(OPEN_TICKET)
        pid = c.product_id
        if pid is not None and cat in self._purchase_cats:
            t = state.purchases.get(pid)
            if t is not None and now - self._purchase_window < t <= now:
                if every is None:
                    return RECENT_PURCHASE
                every.append(RECENT_PURCHASE)
        if not send:
            return None
        if cat in self._quiet_cats:
            if m.quiet_due is None:
                m.quiet_due = self._quiet_due(state.tz, now)
            if m.quiet_due:
                if every is None:
                    return QUIET_HOURS_DEFERRED
                every.append(QUIET_HOURS_DEFERRED)
        if cat in self._hist_cats:
            cid = c.content_id
            if cid is not None and state.sends and cat in self._dup_cats:
                if m.hist is None:
                    m.hist = self._history(state.sends, now)
                chans = m.hist[2].get(cid)
                if chans and (self._dup_same_channel or len(chans) > 1 or ch not in chans):
                    if every is None:
                        return DUPLICATE_CONTENT
                    every.append(DUPLICATE_CONTENT)
            if self._capped(cat, ch, m, 0, 0):
                if every is None:
                    return FREQUENCY_CAP
                every.append(FREQUENCY_CAP)
        return None

    def _capped(self, cat: str, ch: str, m: _Moment, extra_global: int, extra_channel: int) -> bool:
        """True when one more send would exceed a cap, given history plus this moment's chosen sends."""
        g, c = cat in self._g_cats, cat in self._c_cats
        if not g and not c:
            return False
        if m.hist is None:
            m.hist = self._history(m.state.sends, m.now)
        if g:
            ages = m.hist[0]
            for mx, w in self._g_limits:
                if bisect_left(ages, w) + extra_global >= mx:  # ages ascend: bisect counts ages < w
                    return True
        if c:
            lims = self._c_limits.get(ch)
            if lims:
                ages = m.hist[1].get(ch, ())
                for mx, w in lims:
                    if bisect_left(ages, w) + extra_channel >= mx:
                        return True
        return False

    def _history(self, sends: list[list], now: int) -> tuple[list[int], dict[str, list[int]], dict[str, set]]:
        """One pass over the send history within the longest window: ages (now - ts, ascending) of the sends
        counted by the global cap, the same per channel, and content_id → channels within the duplicate window."""
        g_counted = self._g_counted if self._g_cats else ()
        c_counted = self._c_counted if self._c_cats else ()
        c_limits, dup_window = self._c_limits, self._dup_window
        ages_g: list[int] = []
        ages_c: dict[str, list[int]] = {}
        content: dict[str, set] = {}
        span = self._hist_span
        # state.sends is sorted by time (CustomerState keeps it so): walk back from the newest, stop past the span
        for ts, ch, cat, cid in reversed(sends):
            age = now - ts
            if age < 0:
                continue
            if age >= span:
                break
            if cat in g_counted:
                ages_g.append(age)
            if cat in c_counted and ch in c_limits:
                a = ages_c.get(ch)
                if a is None:
                    ages_c[ch] = [age]
                else:
                    a.append(age)
            if cid is not None and age < dup_window:
                chans = content.get(cid)
                if chans is None:
                    content[cid] = {ch}
                else:
                    chans.add(ch)
        return ages_g, ages_c, content

    def _ticket_flags(self, state: CustomerState, now: int) -> tuple[bool, bool]:
        """(messages suppressed: open ticket or resolved within grace, tasks suppressed: escalated ticket)."""
        if state.tickets:
            return True, any(t[2] for t in state.tickets.values())
        lo = now - self._grace
        return any(r[0] > lo for r in state.resolved.values()), False

    def _zone(self, name: Any) -> ZoneInfo:
        z = self._zones.get(name)
        if z is None:
            z = _zone_or_none(name) or self._default_zone
            if len(self._zones) < 4096:
                self._zones[name] = z
        return z

    def local_time(self, tz: str | None, now: int) -> datetime:
        """The customer's wall-clock time (``tz`` or the policy's default zone when missing/unknown)."""
        return datetime.fromtimestamp(now // 1000, self._zone(tz))

    def _quiet_due(self, tz: str | None, now: int) -> int:
        """0 when ``now`` is outside quiet hours in the customer's zone, else the next allowed time (ms)."""
        zone = self._zone(tz)
        local = datetime.fromtimestamp(now // 1000, zone)
        sod = local.hour * 3600 + local.minute * 60 + local.second
        start, end = self._q_start, self._q_end
        day = local.date()
        if start < end:
            if not start <= sod < end:
                return 0
        elif sod >= start:
            day += timedelta(days=1)
        elif sod >= end:
            return 0
        for _ in range(3):
            # fold=0: an end time inside a DST gap maps to just after the gap, an ambiguous one to its first instant
            due = int(datetime.combine(day, self._q_end_time, tzinfo=zone).timestamp()) * 1000
            if due > now:
                return due
            day += timedelta(days=1)  # a zone that skipped the day (e.g. Pacific/Apia 2011-12-30)
        return now + 3_600_000

    # ------------------------------------------------------------------------------------------- records
    def _decisions(self, acted: list[tuple[Candidate, int]], lost: list[tuple[Candidate, str]], now: int,
                   customer_id: str, trigger_id: str) -> list[Decision]:
        outcomes = tuple([CandidateOutcome(c.journey_id, c.step_id, c.action, c.channel, c.content_id, c.category,
                                           c.priority, r) for c, r in lost]) if lost else ()
        if not acted:
            if len(lost) == 1:
                c, r = lost[0]
                reasons: tuple[str, ...] = (r,)
                keys = ["\x1e".join((c.journey_id, c.step_id, c.action, c.channel, c.content_id or ""))]
            else:
                reasons = tuple(sorted({r for _, r in lost}))
                keys = sorted(["\x1e".join((c.journey_id, c.step_id, c.action, c.channel, c.content_id or ""))
                               for c, _ in lost])
            return [Decision(decision_id(customer_id, trigger_id, now, *keys), customer_id, now, None, None,
                             "none" if reasons == _ONLY_CONTROL else "suppress", None, None, None, 0, reasons,
                             outcomes, trigger_id)]
        out = []
        for c, due in acted:
            if due:
                action, codes = "wait", _DEFERRED_CODES
            else:
                action, codes = c.action, _CHOSEN_CODES
            jid, sid, ch, cid = c.journey_id, c.step_id, c.channel, c.content_id
            out.append(Decision(decision_id(customer_id, trigger_id, jid, sid, action, ch, cid, now), customer_id, now, jid, sid,
                                action, ch, cid, c.category, c.priority, codes, outcomes, trigger_id))
            outcomes = ()
        return out

    # ----------------------------------------------------------------------------------------- diagnostics
    def explain(self, state: CustomerState, candidate: Candidate, now: int) -> tuple[str, ...]:
        """Every history rule that applies to ``candidate`` on its own, in rule order; mutates nothing.

        For audits and debugging ("what else would have stopped this?"): ``arbitrate`` records only the first.
        """
        every: list[str] = []
        self._reason(candidate, _Moment(state, now), every)
        return tuple(every)


def _first(kv: tuple) -> Any:
    return kv[0]


def _full_key(kv: tuple) -> tuple:
    c = kv[1]
    raw = c.score if c.score == c.score else 0.0
    return (kv[0], c.content_id is None, c.category, c.product_id or "", c.product_id is None,
            c.exclusion_group or "", c.exclusion_group is None, c.trigger_id, c.proposed_at, c.control, -raw)


def _ms(td: timedelta) -> int:
    return td.days * 86_400_000 + td.seconds * 1000 + td.microseconds // 1000


def _active_groups(state: CustomerState) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for jid, mem in state.journeys.items():
        if isinstance(mem, dict) and mem.get("step") is not None:
            g = mem.get("group")
            if g is not None:
                out.setdefault(g, set()).add(jid)
    return out
