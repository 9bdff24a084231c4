"""Link rules: which events link the identifiers they carry, and the merge-protection guards.

:class:`LinkRules` says, per stream, which event types link their identifiers (and which kinds take part);
:func:`links_for` turns one event's keys into the pairs to union (a star from the event's canonical key) and
:func:`event_links` wraps them as :class:`LinkRecord` with the event's time and id.

Guards (``max_cluster_size`` and per-kind caps ``max_per_kind``) refuse a link that would make a cluster exceed any
cap, with the reason ``kind_cap:<kind>`` (kinds checked in rank order) or ``cluster_size_cap``. This stops shared
identifiers (a family tablet's anonymous id, a call centre's phone number) from collapsing many people into a
"blob" profile — the rule Segment calls *merge protection* (per-identifier limits) and Adobe Experience Platform
*unique namespaces*. Counts alone let a shared identifier join a few people before a cap is reached (three
email-only customers whose tickets carry a support agent's desk phone, a family tablet used by a CRM customer and an
email-only one), so one more guard, ``bridge_guard`` (default on), refuses with the reason ``shared_identifier`` a
link that would join two components that each already hold an email address unless the link itself pairs two
person identifiers, CRM id or email (a CRM record or an order naming the CRM id and the email): a phone number or
an anonymous id is a bridge that shared devices and desks make, never enough to make two people with their own
addresses one.  (A component without an email — a device, a CRM id seen alone — still joins through a bridge.)
The count caps are checked first (their reasons are kept). Refusals depend on the order links are applied in, which
is why :func:`~.graph.resolve` applies them in event-time order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Union

from pydantic import BaseModel, ConfigDict, Field

from journeyflow.stages.identity.keys import ANON, CRM, EMAIL, KINDS, PHONE, Counts, Kind, rank_key

if TYPE_CHECKING:
    from journeyflow.model.events import Event

#: Engagement types that are an opt-out by the person (a bounce is the address's): they never link (``links_for``)
#: and reach every customer they name (:mod:`.opt_outs`).
OPT_OUT_TYPES = frozenset({"unsubscribed", "complained"})

__all__ = ["OPT_OUT_TYPES", "Guard", "KindCaps", "LinkRecord", "LinkRules", "StreamLinks", "default_rules",
           "event_links", "event_pairs", "linking_types", "links_for"]


class StreamLinks(BaseModel):
    """Which events of one stream link their identifiers, and which identifier kinds take part.

    ``event_types`` is a list of event types or ``"*"`` for every type; an empty list links nothing.
    Keys of kinds not in ``kinds`` are ignored for linking (they still identify the event).  Consent records and
    engagement opt-outs (``unsubscribed``, ``complained``) link nothing whatever is listed: a record naming two
    people (a revoke by B's CRM id and A's device) is no evidence that they are one; it opts out each of them
    instead (:mod:`.opt_outs`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_types: Union[frozenset[str], Literal["*"]] = frozenset()
    kinds: frozenset[Kind] = frozenset(KINDS)

    def applies_to(self, event_type: str) -> bool:
        """Whether events of ``event_type`` link their identifiers."""
        return self.event_types == "*" or event_type in self.event_types


class KindCaps(BaseModel):
    """Maximum number of identifiers of each kind in one cluster (omitted kinds keep their default; each >= 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: int = Field(1, ge=1)
    email: int = Field(3, ge=1)
    phone: int = Field(3, ge=1)
    anon: int = Field(10, ge=1)

    def as_tuple(self) -> Counts:
        """The caps in :data:`~.keys.KINDS` order."""
        return (self.crm, self.email, self.phone, self.anon)


def _default_streams() -> dict[str, StreamLinks]:
    return {
        # Web: only authenticated moments tie the browser's anonymous id to the person. ``user_id`` is the CRM id
        # (the extractor turns it into a ``crm:`` key).
        "web": StreamLinks(event_types=frozenset({"login", "signup"}), kinds=frozenset({ANON, CRM, EMAIL})),
        "crm": StreamLinks(event_types="*", kinds=frozenset({CRM, EMAIL, PHONE})),
        "orders": StreamLinks(event_types="*", kinds=frozenset({CRM, EMAIL})),
        "support": StreamLinks(event_types="*", kinds=frozenset({CRM, EMAIL, PHONE})),
        # Engagement events carry one identifier; consent events are not trusted to link.
        "engagement": StreamLinks(event_types=frozenset()),
        "consent": StreamLinks(event_types=frozenset()),
        # Segment-Spec messages (stages.segment): ``identify`` (userId, anonymousId, traits.email/phone) and
        # ``alias`` (previousId -> userId) are the identity calls; mapped ``Signed In``/``Signed Up`` link as web
        # login/signup do, mapped orders as orders do; other track/page/screen calls link nothing.
        "track": StreamLinks(event_types=frozenset({"identify", "alias"}), kinds=frozenset({ANON, CRM, EMAIL, PHONE})),
    }


class Guard(NamedTuple):
    """Compiled guard caps (plain tuple: cheap to check per link, picklable).

    ``caps``: per-kind maxima in :data:`~.keys.KINDS` order; ``max_size``: maximum identifiers per cluster.
    """

    caps: Counts
    max_size: int
    #: refuse a phone/anonymous-id bridge between two identified components (module docstring)
    bridges: bool = True

    def refusal(self, a: Sequence[int], b: Sequence[int], pair: tuple[str, str] | None = None) -> str | None:
        """Reason a merge of components with counts ``a`` and ``b`` is refused, or None if it is allowed.

        ``"kind_cap:<kind>"`` for the first kind (in rank order) over its cap, else ``"cluster_size_cap"``, else
        (``pair``: the two identifier keys of the link, when given) ``"shared_identifier"`` when both components
        already hold an email and one key of ``pair`` is neither a CRM id nor an email (module docstring)."""
        caps = self.caps
        total = 0
        for i in range(4):
            n = a[i] + b[i]
            if n > caps[i]:
                return f"kind_cap:{KINDS[i]}"
            total += n
        if total > self.max_size:
            return "cluster_size_cap"
        if (self.bridges and pair is not None and a[1] and b[1]
                and not (_is_anchor(pair[0]) and _is_anchor(pair[1]))):
            return "shared_identifier"
        return None


def _is_anchor(key: str) -> bool:
    """Whether ``key`` identifies a person on its own (a CRM id or an email), not a shareable phone/device."""
    kind = key.partition(":")[0]
    return kind == CRM or kind == EMAIL


class LinkRules(BaseModel):
    """Linking rules and merge-protection guards.

    ``streams`` (when given in YAML) replaces the default mapping entirely; a stream not listed links nothing.
    ``max_per_kind`` keys that are omitted keep their defaults. Unknown keys are errors (pydantic ValidationError).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    streams: dict[str, StreamLinks] = Field(default_factory=_default_streams)
    max_cluster_size: int = Field(25, ge=1)
    max_per_kind: KindCaps = Field(default_factory=KindCaps)
    #: refuse (``shared_identifier``) a link through a phone or an anonymous id between two components that each
    #: hold an email (module docstring); ``false`` restores the count caps alone
    bridge_guard: bool = True

    def fingerprint(self) -> str:
        """The rules as canonical JSON (keys sorted, every set as a sorted list): equal rules give equal text in any
        process and after a pickle round trip.  ``model_dump_json`` is not: it writes a frozenset in its iteration
        order, which can differ between two equal sets (hash collisions resolved by insertion history), so a store
        keyed by it found a different, empty graph now and then (``adapters.memory_store``)."""
        def canon(v):
            if isinstance(v, dict):
                return {k: canon(x) for k, x in v.items()}
            if isinstance(v, (set, frozenset)):
                return sorted(canon(x) for x in v)
            if isinstance(v, (list, tuple)):
                return [canon(x) for x in v]
            return v
        return json.dumps(canon(self.model_dump()), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> LinkRules:
        """Rules from a YAML mapping (an empty file gives the defaults), read with the strict loader of
        ``journeyflow.config.yaml`` (no aliases, bounded nesting, ``file:line`` errors); ValueError if it is not a
        mapping, pydantic's ValidationError for unknown keys or bad values."""
        from journeyflow.config.yaml import load_mapping

        return cls.model_validate(load_mapping(Path(path).read_text(encoding="utf-8"), str(path), "link rules"))

    def guard(self) -> Guard:
        """The compiled :class:`Guard` of these rules."""
        return Guard(self.max_per_kind.as_tuple(), self.max_cluster_size, self.bridge_guard)


_DEFAULT_RULES: LinkRules | None = None


def default_rules() -> LinkRules:
    """The default :class:`LinkRules` (built once per process)."""
    global _DEFAULT_RULES
    if _DEFAULT_RULES is None:
        _DEFAULT_RULES = LinkRules()
    return _DEFAULT_RULES


def links_for(
    stream: str, event_type: str, keys: Sequence[str], rules: LinkRules | None = None
) -> list[tuple[str, str]]:
    """Pairs to union for one event: a star from the event's canonical key to each other linkable key.

    Empty when the stream/event type does not link or fewer than two distinct linkable keys remain.
    """
    if len(keys) < 2:  # most events: one identifier, nothing to link (checked first: it is the cheapest test)
        return []
    rule = (rules or default_rules()).streams.get(stream)
    if rule is None:
        return []
    types = rule.event_types
    if types != "*" and event_type not in types:  # (``StreamLinks.applies_to``, inlined: once per event)
        return []
    if stream == "consent" or (stream == "engagement" and event_type in OPT_OUT_TYPES):
        return []  # an opt-out (or a consent record) never links, whatever the rules say (``StreamLinks``)
    kinds = rule.kinds
    selected = {k for k in keys if k.partition(":")[0] in kinds}
    if len(selected) < 2:
        return []
    ordered = sorted(selected, key=rank_key)
    head = ordered[0]
    return [(head, other) for other in ordered[1:]]


class LinkRecord(NamedTuple):
    """One link to apply: identifier keys ``a`` and ``b``, from event ``event_id`` of ``stream`` at ``ts`` (ms)."""

    a: str
    b: str
    ts: int
    event_id: str
    stream: str = ""


def linking_types(rules: LinkRules) -> dict[str, Any]:
    """Stream -> the event types of it that link (``"*"``: all): what :func:`links_for` checks first."""
    return {name: rule.event_types for name, rule in rules.streams.items()}


def event_pairs(ev: Event, linking: dict[str, Any], rules: LinkRules) -> list[tuple[str, str]] | tuple:
    """:func:`links_for` of ``ev``, or ``()`` without calling it for an event of one identifier or of a stream and
    type that links nothing (most events; ``links_for`` gives no pair for them either).  ``linking``:
    :func:`linking_types` of ``rules``.  The bounded replay's identity steps, in process and on Beam."""
    if len(ev.ids) > 1:
        types = linking.get(ev.stream)
        if types is not None and (types == "*" or ev.type in types):
            return links_for(ev.stream, ev.type, ev.ids, rules)
    return ()


def event_links(ev: Event, rules: LinkRules | None = None) -> list[LinkRecord]:
    """The :func:`links_for` pairs of one event, as :class:`LinkRecord` carrying its time, uid and stream."""
    return [LinkRecord(a, b, ev.ts, ev.uid, ev.stream) for a, b in links_for(ev.stream, ev.type, ev.ids, rules)]
