"""The arbitration policy: a pydantic model of ``policy.yaml`` (defaults in ``journeyflow/defaults/policy.yaml``) and
its loader.

Every section rejects unknown keys (``extra="forbid"``), so a typo in the YAML is an error, not a silent default.
Errors are :class:`PolicyError` naming the file, line and field: ``invalid policy <file>:\n  <file>:<line>: <path>:
<problem>`` for values, ``<file>:<line>: not valid YAML: <problem>`` for the YAML itself (read by the strict loader
of :mod:`journeyflow.config.yaml`).  Durations use :mod:`journeyflow.config.durations`; times of day are ``'HH:MM'``.
"""
from __future__ import annotations

import re
from datetime import time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from journeyflow.config.durations import parse_duration
from journeyflow.config.errors import UserError
from journeyflow.config.yaml import (
    MAX_CONFIG_BYTES,
    YamlError,
    format_path,
    parse_yaml,
    utf8_size,
)
from journeyflow.model.decisions import CATEGORIES, CHANNELS

__all__ = ["DEFAULT_POLICY_FILE", "MAX_POLICY_BYTES", "SCORER_SPEC_RE", "Policy", "PolicyError",
           "default_policy", "load_policy", "zone_or_none"]

#: The packaged default policy, in ``journeyflow/defaults/``.
DEFAULT_POLICY_FILE = "policy.yaml"
#: Largest accepted policy file, in bytes (1 MiB, the limit of every configuration file).  A policy may come from an
#: untrusted source (as journey files): its size and nesting are bounded and YAML aliases refused.
MAX_POLICY_BYTES = MAX_CONFIG_BYTES
#: ``package.module:ClassName``, the form of ``scoring.scorer``.
SCORER_SPEC_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class PolicyError(UserError):
    """An invalid policy file or scorer setting; the message names the file, line and field."""


# ================================================================================================ policy model
def _duration(v: Any) -> timedelta:
    """A policy duration (``'48h'``, ``'7d'``; see :mod:`journeyflow.config.durations`) as a positive timedelta."""
    if isinstance(v, timedelta):
        td = v
    else:
        try:
            td = timedelta(milliseconds=parse_duration(v))
        except OverflowError:
            raise ValueError(f"{v!r} is too long a duration") from None
    if td <= timedelta(0):
        raise ValueError(f"a duration must be positive (got {v!r})")
    return td


def _time_of_day(v: Any) -> time:
    """``'HH:MM'`` (24-hour clock) → time; an unquoted ``21:00`` (YAML 1.1 reads it as 1260) is explained."""
    if isinstance(v, time):
        return v
    if isinstance(v, int) and not isinstance(v, bool):  # pydantic reports ValueError, not TypeError
        raise ValueError("write a time of day as a quoted string, e.g. '21:00' "  # noqa: TRY004
                         f"(unquoted, YAML reads 21:00 as the number {21 * 60}; got {v!r})")
    if isinstance(v, str) and (m := _TIME_RE.fullmatch(v.strip())):
        return time(int(m[1]), int(m[2]))
    raise ValueError(f"a time of day is 'HH:MM' on a 24-hour clock, e.g. '08:00' (got {v!r})")


#: A positive duration field, written ``'48h'``, ``'7d'``...
Duration = Annotated[timedelta, BeforeValidator(_duration)]
#: A time-of-day field, written ``'HH:MM'``.
TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
#: A decision category (``model.CATEGORIES``).
Category = Literal["service", "transactional", "sales", "marketing"]
#: A message channel (``model.CHANNELS``).
MessageChannel = Literal["email", "sms", "push", "call"]
#: What a category needs from a channel's consent (see :class:`ConsentRequirements`).
ConsentRequirement = Literal["granted", "not_opted_out"]
#: A finite score weight >= 0.
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
assert get_args(Category) == CATEGORIES, "Category literal out of sync with model.CATEGORIES"
assert get_args(MessageChannel) == CHANNELS, "MessageChannel literal out of sync with model.CHANNELS"

_MARKETING_SALES: tuple[Category, ...] = ("marketing", "sales")
_ALL: tuple[Category, ...] = ("service", "transactional", "sales", "marketing")


class _Section(BaseModel):
    """A policy section: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsentRequirements(_Section):
    """Per category: ``granted`` needs an explicit grant on the channel; ``not_opted_out`` allows a send unless the
    channel is revoked/unsubscribed/complained/bounced (``state.BLOCKING``, which blocks every category)."""

    marketing: ConsentRequirement = "granted"
    sales: ConsentRequirement = "granted"
    service: ConsentRequirement = "not_opted_out"
    transactional: ConsentRequirement = "not_opted_out"


class ConsentPolicy(_Section):
    """``consent:``: what each category needs from the channel's consent."""

    requires: ConsentRequirements = ConsentRequirements()


class SoftBouncePolicy(_Section):
    """``max`` soft bounces of one address within ``within`` make it undeliverable (until they age out); reason
    ``no_address`` (:mod:`journeyflow.stages.deliverability`).  ``enabled: false``: soft bounces never block."""

    enabled: bool = True
    max: int = Field(default=3, ge=1)
    within: Duration = timedelta(days=7)

    def rule(self) -> tuple[int, int]:
        """``(max, within in ms)`` as ``CustomerState.delivery_address`` takes them (``soft_max``,
        ``soft_window_ms``); ``max`` 0 when disabled (never blocks).  One source for the arbiter and
        ``customer.reachable`` (``JourneyEngine.soft_bounces``), so the two agree."""
        w = self.within
        return (self.max if self.enabled else 0), w.days * 86_400_000 + w.seconds * 1000 + w.microseconds // 1000


class DeliverabilityPolicy(_Section):
    """The ``deliverability`` section: the soft-bounce limit (hard bounces always block their address, not
    configurable)."""

    soft_bounces: SoftBouncePolicy = SoftBouncePolicy()


class OpenTicketPolicy(_Section):
    """``open_tickets:``: no messages of ``categories`` while a ticket is open or was resolved within ``grace``; no
    tasks of ``escalated_task_categories`` while a ticket is escalated.  A ticket with no open/escalate event for
    ``stale_after`` no longer counts as open (a helpdesk that never sends ``ticket_resolved`` would otherwise
    suppress promotions for good); ``null``: open until resolved."""

    enabled: bool = True
    categories: tuple[Category, ...] = _MARKETING_SALES
    grace: Duration = timedelta(hours=48)
    escalated_task_categories: tuple[Category, ...] = ("sales",)
    stale_after: Duration | None = timedelta(days=30)


class RecentPurchasePolicy(_Section):
    """``recent_purchase:``: no candidate of ``categories`` promoting a product bought within ``window``."""

    enabled: bool = True
    window: Duration = timedelta(days=30)
    categories: tuple[Category, ...] = _MARKETING_SALES


class Limit(_Section):
    """At most ``max`` sends in any window of length ``per`` (event time, ``(now - per, now]``)."""

    max: int = Field(ge=0)
    per: Duration


def _limits(*pairs: tuple[int, str]) -> tuple[Limit, ...]:
    """Default limits from ``(max, duration text)`` pairs."""
    return tuple(Limit(max=m, per=_duration(p)) for m, p in pairs)


class GlobalCap(_Section):
    """``frequency_caps.global``: sends of ``categories`` are capped by ``limits``, counting the sends of
    ``counted`` (default: the same categories) on every channel."""

    categories: tuple[Category, ...] = _MARKETING_SALES
    counted: tuple[Category, ...] | None = None  # None: the same as categories
    limits: tuple[Limit, ...] = _limits((1, "24h"), (3, "7d"))


class ChannelLimits(_Section):
    """Per-channel limits, one list per channel of ``model.CHANNELS`` (an empty list: no cap on that channel)."""

    email: tuple[Limit, ...] = _limits((2, "24h"), (5, "7d"))
    sms: tuple[Limit, ...] = _limits((1, "24h"), (2, "7d"))
    push: tuple[Limit, ...] = _limits((2, "24h"), (7, "7d"))
    call: tuple[Limit, ...] = _limits((1, "7d"))


assert set(ChannelLimits.model_fields) == set(CHANNELS), "ChannelLimits out of sync with model.CHANNELS"


class ChannelCap(_Section):
    """``frequency_caps.per_channel``: like :class:`GlobalCap`, counted per channel."""

    categories: tuple[Category, ...] = _MARKETING_SALES
    counted: tuple[Category, ...] | None = None
    limits: ChannelLimits = ChannelLimits()


class FrequencyCapPolicy(_Section):
    """``frequency_caps:``: the global cap (``global`` in YAML) and the per-channel caps."""

    enabled: bool = True
    global_: GlobalCap = Field(default=GlobalCap(), alias="global")
    per_channel: ChannelCap = ChannelCap()


class QuietHoursPolicy(_Section):
    """``quiet_hours:``: sends of ``categories``, and sends on ``channels`` whatever their category, between
    ``start`` and ``end`` (customer's local time, the policy's ``default_timezone`` when unknown) are deferred to
    ``end``; ``start > end`` spans midnight.  ``channels`` defaults to calls and texts: a payment reminder by phone
    or SMS at 03:00 is what debt-collection and telemarketing rules forbid (US Regulation F, 12 CFR 1006.6(b)(1):
    before 8:00 or after 21:00 local is presumed inconvenient; TCPA, 47 CFR 64.1200(c)(1))."""

    enabled: bool = True
    start: TimeOfDay = time(21, 0)
    end: TimeOfDay = time(8, 0)
    categories: tuple[Category, ...] = _MARKETING_SALES
    channels: tuple[MessageChannel, ...] = ("sms", "call")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursPolicy:
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ (use enabled: false to switch them off)")
        return self


class DuplicateContentPolicy(_Section):
    """``duplicate_content:``: no second send of a ``content_id`` within ``window`` on another channel (on any
    channel with ``same_channel: true``)."""

    enabled: bool = True
    window: Duration = timedelta(hours=24)
    categories: tuple[Category, ...] = _ALL
    same_channel: bool = False


class CategoryWeights(_Section):
    """``scoring.weights``: score multiplier per category (>= 0)."""

    service: Weight = 1.0
    transactional: Weight = 1.0
    sales: Weight = 1.0
    marketing: Weight = 1.0


class ScoringPolicy(_Section):
    """``scoring:``: weights of the default scorer, or ``scorer: package.module:ClassName`` created with
    ``options`` (see :mod:`journeyflow.stages.arbitration.scoring`)."""

    weights: CategoryWeights = CategoryWeights()
    journey_weights: dict[str, Weight] = Field(default_factory=dict)
    scorer: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("scorer")
    @classmethod
    def _scorer_spec(cls, v: str | None) -> str | None:
        if v is not None and not SCORER_SPEC_RE.fullmatch(v):
            raise ValueError(f"scorer is 'package.module:ClassName' (got {v!r})")
        return v


class Policy(_Section):
    """The arbitration policy.  Every section rejects unknown keys, so a typo in the YAML is an error."""

    version: Literal[1] = 1
    default_timezone: str = "UTC"
    max_messages_per_moment: int = Field(default=1, ge=0)
    consent: ConsentPolicy = ConsentPolicy()
    deliverability: DeliverabilityPolicy = DeliverabilityPolicy()
    open_tickets: OpenTicketPolicy = OpenTicketPolicy()
    recent_purchase: RecentPurchasePolicy = RecentPurchasePolicy()
    frequency_caps: FrequencyCapPolicy = FrequencyCapPolicy()
    quiet_hours: QuietHoursPolicy = QuietHoursPolicy()
    duplicate_content: DuplicateContentPolicy = DuplicateContentPolicy()
    scoring: ScoringPolicy = ScoringPolicy()

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        if zone_or_none(v) is None:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as 'Europe/Berlin'")
        return v

    @classmethod
    def from_yaml_text(cls, text: str, filename: str = "<policy>") -> Policy:
        """Parse and validate a policy from YAML text (empty text: the defaults).  Raises :class:`PolicyError`:
        the file is larger than :data:`MAX_POLICY_BYTES`, not valid YAML, not a mapping, or a value is wrong."""
        n = utf8_size(text, MAX_POLICY_BYTES)
        if n > MAX_POLICY_BYTES:
            raise PolicyError(f"{filename}: file is {n} bytes, larger than the {MAX_POLICY_BYTES} byte limit")
        doc = parse_yaml(text, filename)
        try:
            doc.raise_first()
        except YamlError as e:
            raise PolicyError(str(e)) from None
        data = doc.data
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise PolicyError(f"{filename}: a policy is a mapping of settings (got a {type(data).__name__})")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise PolicyError(_format_errors(e, doc.line, filename)) from None


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



def _format_errors(err: ValidationError, line_of: Any, filename: str) -> str:
    """pydantic errors → one message, a line per error sorted by line: ``<file>:<line>: <path>: <problem>``."""
    lines = []
    for e in err.errors():
        loc = e["loc"]
        line = line_of(loc)
        if e["type"] == "extra_forbidden":
            allowed = _keys_at(loc[:-1])
            msg = "unknown key" + (f"; expected one of: {', '.join(allowed)}" if allowed else "")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if "got " not in msg and repr(e.get("input")) not in msg and e["type"] != "missing":
                shown = repr(e.get("input"))
                msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        lines.append((line, f"  {filename}:{line}: {format_path(loc)}: {msg}"))
    lines.sort(key=lambda x: x[0])
    return f"invalid policy {filename}:\n" + "\n".join(t for _, t in lines)


def _keys_at(loc: tuple) -> list[str]:
    """The keys allowed at ``loc`` (for "unknown key" errors), or [] when it is not a policy section."""
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
    """The pydantic model inside a type annotation (``tuple[Limit, ...]`` → Limit), or None."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for a in get_args(ann):
        m = _model_in(a)
        if m is not None:
            return m
    return None


def zone_or_none(name: Any) -> ZoneInfo | None:
    """The IANA time zone of that name, or None when ``name`` is not a known zone name (never raises)."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
