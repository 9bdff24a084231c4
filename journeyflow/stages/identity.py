"""Identity unification: identifier normalization, linking rules and union-find.

Plain Python, no Beam import: everything here is called per event (or per link) by the Beam stages and is
testable and benchmarkable on its own.

Identifier keys
---------------
Every identifier becomes a string key ``"<kind>:<value>"``. Kinds are ranked ``crm`` (0) < ``email`` (1) <
``phone`` (2) < ``anon`` (3), and :func:`rank_key` orders keys by ``(kind rank, key)``. The canonical id of a
customer is the minimum of its keys in that order: its CRM id if it has one, else its smallest hashed email, then
phone, then anonymous id.

* CRM ids and anonymous ids are not PII: ``crm:<id stripped>`` and ``anon:<id stripped>``.
* Emails are PII: trimmed and lower-cased, then checked with a deliberately basic RFC-ish test (exactly one ``@``,
  non-empty local part, a domain containing a dot with no empty labels, no whitespace). **No provider-specific
  rules** are applied (no gmail dot removal, no ``+tag`` stripping): they are only true for some providers and would
  wrongly merge different people at the others. The key is ``email:<hex>``.
* Phones are PII: parsed with ``phonenumbers`` using a default region (``"US"`` unless configured), required to be
  both possible and valid, formatted as E.164; the key is ``phone:<hex>``.

``<hex>`` is the first 32 hex characters (128 bits) of ``HMAC-SHA256(key, "<kind>:" + normalized)``. The HMAC key
comes from :class:`Hasher`; :meth:`Hasher.from_env` reads ``JOURNEYFLOW_HASH_KEY`` and falls back to the
documented local-development key ``b"journeyflow-local-dev-key"`` (logging a WARNING once; the key itself is never
logged). Raw PII never appears in a key, in an exception message or in ``repr``.

Linking and guards
------------------
:class:`LinkRules` says, per stream, which event types link the identifiers they carry (and which kinds take part);
:func:`links_for` turns one event's keys into the pairs to union (a star from the event's canonical key).
Guards (``max_cluster_size`` and per-kind caps ``max_per_kind``) refuse a link that would make a cluster exceed any
cap, with the reason ``kind_cap:<kind>`` (kinds checked in rank order) or ``cluster_size_cap``. This stops shared
identifiers (a family tablet's anonymous id, a call centre's phone number) from collapsing many people into a
"blob" profile.

Determinism
-----------
:class:`IdentityGraph` keeps the canonical (minimum :func:`rank_key`) member as the root of each component, so
without refusals the resulting roots do not depend on the order of the links. Refusals do depend on order (whichever
link comes first wins the capacity), so the Beam stages apply links sorted by ``(ts, event_id)`` (after the
watermark, or in a periodic batch reconciliation); :func:`resolve` does exactly that, which makes the result a pure
function of the set of links.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, Union

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ANON",
    "CRM",
    "Counts",
    "DEFAULT_HASH_KEY",
    "EMAIL",
    "HASH_KEY_ENV",
    "KINDS",
    "PHONE",
    "Guard",
    "Hasher",
    "IdentityGraph",
    "InvalidIdentifier",
    "KindCaps",
    "LinkOutcome",
    "LinkRecord",
    "LinkRules",
    "RefusedLink",
    "ResolveResult",
    "Score",
    "StreamLinks",
    "add_counts",
    "anon_key",
    "canonical",
    "crm_key",
    "kind_index",
    "kind_of",
    "links_for",
    "pick_root",
    "rank_key",
    "resolve",
    "score_clusters",
    "singleton_counts",
]

logger = logging.getLogger(__name__)

CRM, EMAIL, PHONE, ANON = "crm", "email", "phone", "anon"
#: Identifier kinds in rank order (index == rank).
KINDS: tuple[str, ...] = (CRM, EMAIL, PHONE, ANON)
_RANK: dict[str, int] = {kind: rank for rank, kind in enumerate(KINDS)}
Kind = Literal["crm", "email", "phone", "anon"]

#: Per-component counts by kind, in :data:`KINDS` order.
Counts = tuple[int, int, int, int]
_ONE_HOT: tuple[Counts, ...] = ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))

HASH_KEY_ENV = "JOURNEYFLOW_HASH_KEY"
#: Documented local-development HMAC key. Never use it for real data: anyone can recompute the hashes.
DEFAULT_HASH_KEY = b"journeyflow-local-dev-key"
_HEX_CHARS = 32


# ---------------------------------------------------------------------------------------------------------------
# Keys and ranks
# ---------------------------------------------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """The kind of an identifier key (the part before the first ``:``)."""
    return key.partition(":")[0]


def kind_index(key: str) -> int:
    """Rank of the key's kind (crm=0, email=1, phone=2, anon=3); ValueError for an unknown kind."""
    try:
        return _RANK[key.partition(":")[0]]
    except KeyError:
        raise ValueError(f"unknown identifier kind {key.partition(':')[0]!r}") from None


def rank_key(key: str) -> tuple[int, str]:
    """Sort key for identifier keys: ``(kind rank, key)``."""
    return (kind_index(key), key)


def canonical(keys: Iterable[str]) -> str:
    """The canonical id of a set of keys: the minimum by :func:`rank_key`. ValueError if empty."""
    return min(keys, key=rank_key)


def pick_root(a: str, b: str) -> tuple[str, str]:
    """``(winner, loser)`` for merging the components rooted at ``a`` and ``b``: the smaller-ranked root survives."""
    return (a, b) if rank_key(a) <= rank_key(b) else (b, a)


def singleton_counts(key: str) -> Counts:
    """Per-kind counts of a component holding only ``key``."""
    return _ONE_HOT[kind_index(key)]


def add_counts(a: Sequence[int], b: Sequence[int]) -> Counts:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


# ---------------------------------------------------------------------------------------------------------------
# Normalization and hashing
# ---------------------------------------------------------------------------------------------------------------


class InvalidIdentifier(ValueError):
    """An identifier that cannot be normalized. The message never contains the raw value (it may be PII)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason

    def __reduce__(self):  # picklable (Beam dead-letter outputs may carry it)
        return (type(self), (self.kind, self.reason))


def _strip_id(kind: str, raw: object) -> str:
    if raw is None:
        raise InvalidIdentifier(kind, f"{kind} id is empty")
    value = (raw if isinstance(raw, str) else str(raw)).strip()
    if not value:
        raise InvalidIdentifier(kind, f"{kind} id is empty")
    return value


def crm_key(raw: object) -> str:
    """``crm:<id stripped>`` (CRM ids are not PII)."""
    return "crm:" + _strip_id(CRM, raw)


def anon_key(raw: object) -> str:
    """``anon:<id stripped>`` (anonymous/device ids are not PII)."""
    return "anon:" + _strip_id(ANON, raw)


_warned_default_key = False
_warn_lock = threading.Lock()


def _email_problem(value: str) -> str | None:
    """Why a trimmed, lower-cased email is invalid, or None. Messages never include the value."""
    if not value:
        return "email is empty"
    if len(value) > 254:
        return "email is not a valid address: too long"
    if any(ch.isspace() for ch in value):
        return "email is not a valid address: contains whitespace"
    if value.count("@") != 1:
        return "email is not a valid address: needs exactly one @"
    local, _, domain = value.partition("@")
    if not local:
        return "email is not a valid address: empty local part"
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return "email is not a valid address: domain needs a dot and non-empty labels"
    return None


class Hasher:
    """Normalizes PII identifiers and hashes them with a keyed HMAC-SHA256.

    Results are cached per instance (bounded LRU; identical raw values recur a lot). Instances are picklable (the
    caches are rebuilt empty) so they can be handed to Beam DoFns; the key never appears in ``repr``.
    """

    def __init__(self, key: bytes, default_region: str = "US", cache_size: int = 65536):
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError("hash key must be non-empty bytes")
        region = default_region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {default_region!r}")
        self._key = bytes(key)
        self.default_region = region
        self._cache_size = cache_size
        self._init_caches()

    @classmethod
    def from_env(cls, default_region: str = "US", **kwargs: Any) -> Hasher:
        """Key from env ``JOURNEYFLOW_HASH_KEY`` (UTF-8), else :data:`DEFAULT_HASH_KEY` with a one-time WARNING."""
        global _warned_default_key
        value = os.environ.get(HASH_KEY_ENV)
        if value:
            return cls(value.encode("utf-8"), default_region, **kwargs)
        with _warn_lock:
            if not _warned_default_key:
                _warned_default_key = True
                logger.warning(
                    "%s is not set: hashing PII with the documented local-development key. "
                    "Set it to a secret for any real data.",
                    HASH_KEY_ENV,
                )
        return cls(DEFAULT_HASH_KEY, default_region, **kwargs)

    # -- caches / pickling ----------------------------------------------------------------------------------
    def _init_caches(self) -> None:
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)
        self._email_cached = functools.lru_cache(maxsize=self._cache_size)(self._email_uncached)
        self._phone_cached = functools.lru_cache(maxsize=self._cache_size)(self._phone_uncached)

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self._key, "default_region": self.default_region, "cache_size": self._cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._key = state["key"]
        self.default_region = state["default_region"]
        self._cache_size = state["cache_size"]
        self._init_caches()

    def __repr__(self) -> str:
        return f"Hasher(key=<redacted>, default_region={self.default_region!r})"

    # -- hashing --------------------------------------------------------------------------------------------
    def digest(self, kind: str, normalized: str) -> str:
        """First 32 hex chars of ``HMAC-SHA256(key, kind + ":" + normalized)``."""
        mac = self._mac.copy()
        mac.update(f"{kind}:{normalized}".encode())
        return mac.hexdigest()[:_HEX_CHARS]

    def _email_uncached(self, raw: str) -> tuple[str | None, str]:
        value = raw.strip().lower()
        problem = _email_problem(value)
        if problem is not None:
            return None, problem
        return f"email:{self.digest(EMAIL, value)}", value

    def _phone_uncached(self, raw: str, region: str) -> tuple[str | None, str]:
        value = raw.strip()
        if not value:
            return None, "phone is empty"
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None, "phone is not a parseable number"
        if not phonenumbers.is_possible_number(number):
            return None, "phone is not a possible number"
        if not phonenumbers.is_valid_number(number):
            return None, "phone is not a valid number"
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return f"phone:{self.digest(PHONE, e164)}", e164

    def email(self, raw: object) -> tuple[str, str]:
        """``(key, normalized)`` for an email; raises :class:`InvalidIdentifier`."""
        if not isinstance(raw, str):
            raise InvalidIdentifier(EMAIL, "email is empty" if raw is None else "email is not a string")
        key, normalized = self._email_cached(raw)
        if key is None:
            raise InvalidIdentifier(EMAIL, normalized)
        return key, normalized

    def phone(self, raw: object, region: str | None = None) -> tuple[str, str]:
        """``(key, e164)`` for a phone number parsed with ``region`` (default: the hasher's default region)."""
        if raw is None:
            raise InvalidIdentifier(PHONE, "phone is empty")
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            raise InvalidIdentifier(PHONE, "phone is not a string")
        region = self.default_region if region is None else region.upper()
        key, e164 = self._phone_cached(raw, region)
        if key is None:
            raise InvalidIdentifier(PHONE, e164)
        return key, e164

    crm_key = staticmethod(crm_key)
    anon_key = staticmethod(anon_key)

    def cache_info(self) -> dict[str, Any]:
        return {"email": self._email_cached.cache_info(), "phone": self._phone_cached.cache_info()}


# ---------------------------------------------------------------------------------------------------------------
# Linking rules
# ---------------------------------------------------------------------------------------------------------------


class StreamLinks(BaseModel):
    """Which events of one stream link their identifiers, and which identifier kinds take part.

    ``event_types`` is a list of event types or ``"*"`` for every type; an empty list links nothing.
    Keys of kinds not in ``kinds`` are ignored for linking (they still identify the event).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_types: Union[frozenset[str], Literal["*"]] = frozenset()
    kinds: frozenset[Kind] = frozenset(KINDS)

    def applies_to(self, event_type: str) -> bool:
        return self.event_types == "*" or event_type in self.event_types


class KindCaps(BaseModel):
    """Maximum number of identifiers of each kind in one cluster (omitted kinds keep their default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crm: int = Field(1, ge=1)
    email: int = Field(3, ge=1)
    phone: int = Field(3, ge=1)
    anon: int = Field(10, ge=1)

    def as_tuple(self) -> Counts:
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
    }


class Guard(NamedTuple):
    """Compiled guard caps (plain tuple: cheap to check per link, picklable)."""

    caps: Counts
    max_size: int

    def refusal(self, a: Sequence[int], b: Sequence[int]) -> str | None:
        """Reason a merge of components with counts ``a`` and ``b`` is refused, or None if it is allowed."""
        caps = self.caps
        total = 0
        for i in range(4):
            n = a[i] + b[i]
            if n > caps[i]:
                return f"kind_cap:{KINDS[i]}"
            total += n
        if total > self.max_size:
            return "cluster_size_cap"
        return None


class LinkRules(BaseModel):
    """Linking rules and merge-protection guards.

    ``streams`` (when given in YAML) replaces the default mapping entirely; a stream not listed links nothing.
    ``max_per_kind`` keys that are omitted keep their defaults. Unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    streams: dict[str, StreamLinks] = Field(default_factory=_default_streams)
    max_cluster_size: int = Field(25, ge=1)
    max_per_kind: KindCaps = Field(default_factory=KindCaps)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> LinkRules:
        from journeyflow.config.yaml import load_mapping

        return cls.model_validate(load_mapping(Path(path).read_text(encoding="utf-8"), str(path), "link rules"))

    def guard(self) -> Guard:
        return Guard(self.max_per_kind.as_tuple(), self.max_cluster_size)


_DEFAULT_RULES: LinkRules | None = None


def _default_rules() -> LinkRules:
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
    rule = (rules or _default_rules()).streams.get(stream)
    if rule is None or not rule.applies_to(event_type):
        return []
    kinds = rule.kinds
    selected = {k for k in keys if k.partition(":")[0] in kinds}
    if len(selected) < 2:
        return []
    ordered = sorted(selected, key=rank_key)
    head = ordered[0]
    return [(head, other) for other in ordered[1:]]


# ---------------------------------------------------------------------------------------------------------------
# In-memory union-find
# ---------------------------------------------------------------------------------------------------------------


class LinkOutcome(NamedTuple):
    accepted: bool
    #: None when accepted, else ``"kind_cap:<kind>"`` or ``"cluster_size_cap"``.
    reason: str | None
    #: Canonical root of ``a``'s component after the operation.
    root: str
    #: ``(old_root, new_root)`` when two components were merged, else None.
    merged: tuple[str, str] | None


class LinkRecord(NamedTuple):
    a: str
    b: str
    ts: int
    event_id: str
    stream: str = ""


class RefusedLink(NamedTuple):
    link: LinkRecord
    reason: str


class IdentityGraph:
    """In-memory union-find over identifier keys with canonical roots and merge-protection guards.

    Internally it is a classic union-by-size forest with path halving (so ``find`` and the guard checks are
    O(α(n)) amortized); each internal root carries the component's canonical key (its minimum :func:`rank_key`
    member, which is what the public API calls the *root*), its per-kind counts and its member list (the smaller
    list is appended to the larger, O(n log n) overall). Not thread-safe: wrap it (see ``MemoryIdentityStore``).

    ``ts`` and ``event_id`` are accepted by :meth:`link` for parity with the stores; order-dependence of guard
    refusals is handled by the caller applying links in ``(ts, event_id)`` order (see :func:`resolve`).
    """

    __slots__ = ("_parent", "_canon", "_counts", "_members", "_guard", "rules")

    def __init__(self, rules: LinkRules | None = None):
        self.rules = rules or _default_rules()
        self._guard = self.rules.guard()
        self._parent: dict[str, str] = {}
        self._canon: dict[str, str] = {}  # internal root -> canonical key
        self._counts: dict[str, Counts] = {}  # internal root -> per-kind counts
        self._members: dict[str, list[str]] = {}  # internal root -> members

    def __len__(self) -> int:
        return len(self._parent)

    def __contains__(self, key: object) -> bool:
        return key in self._parent

    def add(self, key: str) -> None:
        if key not in self._parent:
            counts = singleton_counts(key)  # validates the kind
            self._parent[key] = key
            self._canon[key] = key
            self._counts[key] = counts
            self._members[key] = [key]

    def _root(self, key: str) -> str:
        parent = self._parent
        p = parent[key]
        while p != key:
            gp = parent[p]
            parent[key] = gp  # path halving
            key, p = gp, parent[gp]
        return key

    def find(self, key: str) -> str:
        """Canonical root of ``key``'s component (``key`` itself when unknown)."""
        if key not in self._parent:
            return key
        return self._canon[self._root(key)]

    def counts(self, key: str) -> Counts:
        """Per-kind counts of ``key``'s component."""
        if key not in self._parent:
            return singleton_counts(key)
        return self._counts[self._root(key)]

    def members(self, key: str) -> list[str]:
        """Members of the component of ``key`` (normally its root), sorted by :func:`rank_key`."""
        if key not in self._parent:
            return [key]
        return sorted(self._members[self._root(key)], key=rank_key)

    def clusters(self) -> dict[str, list[str]]:
        """``{canonical root: members sorted by rank_key}`` for every known key (singletons included)."""
        return {self._canon[r]: sorted(m, key=rank_key) for r, m in self._members.items()}

    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        self.add(a)
        self.add(b)
        ra, rb = self._root(a), self._root(b)
        if ra == rb:
            return LinkOutcome(True, None, self._canon[ra], None)
        counts_a, counts_b = self._counts[ra], self._counts[rb]
        reason = self._guard.refusal(counts_a, counts_b)
        if reason is not None:
            return LinkOutcome(False, reason, self._canon[ra], None)
        canon_a, canon_b = self._canon[ra], self._canon[rb]
        winner, loser = pick_root(canon_a, canon_b)
        big, small = (ra, rb) if len(self._members[ra]) >= len(self._members[rb]) else (rb, ra)
        self._parent[small] = big
        self._canon[big] = winner
        self._counts[big] = add_counts(counts_a, counts_b)
        self._members[big].extend(self._members.pop(small))
        del self._canon[small], self._counts[small]
        return LinkOutcome(True, None, winner, (loser, winner))


class ResolveResult(NamedTuple):
    graph: IdentityGraph
    accepted: list[LinkRecord]
    refused: list[RefusedLink]


def resolve(links: Iterable[LinkRecord], rules: LinkRules | None = None) -> ResolveResult:
    """Apply links in ``(ts, event_id, a, b)`` order; the result depends only on the set of links."""
    graph = IdentityGraph(rules)
    accepted: list[LinkRecord] = []
    refused: list[RefusedLink] = []
    for rec in sorted(links, key=lambda r: (r.ts, r.event_id, r.a, r.b)):
        outcome = graph.link(rec.a, rec.b, rec.ts, rec.event_id)
        if outcome.accepted:
            accepted.append(rec)
        else:
            refused.append(RefusedLink(rec, outcome.reason or ""))
    return ResolveResult(graph, accepted, refused)


# ---------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------


class Score(NamedTuple):
    precision: float
    recall: float
    pairs_tp: int
    pairs_fp: int
    pairs_fn: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score_clusters(predicted: Mapping[str, Any], truth: Mapping[str, Any]) -> Score:
    """Pairwise precision/recall of a clustering against ground truth, in O(n).

    The universe is the keys of ``truth``; a key missing from ``predicted`` counts as a predicted singleton and
    predicted keys without truth are ignored. Pairs are counted from cluster and intersection sizes
    (``sum C(n, 2)``), never enumerated. Precision (recall) is 1.0 when there are no predicted (true) pairs.
    """
    pred_sizes: Counter[Any] = Counter()
    truth_sizes: Counter[Any] = Counter()
    both: Counter[tuple[Any, Any]] = Counter()
    missing = object()
    for key, person in truth.items():
        cluster = predicted.get(key, missing)
        if cluster is missing:
            cluster = (missing, key)
        pred_sizes[cluster] += 1
        truth_sizes[person] += 1
        both[(cluster, person)] += 1
    tp = sum(_pairs(n) for n in both.values())
    pred_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in truth_sizes.values())
    fp, fn = pred_pairs - tp, true_pairs - tp
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    return Score(precision, recall, tp, fp, fn)
