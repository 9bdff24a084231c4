"""The fields a condition may use, with their types: the built-in event and customer fields, plus what an attributes
file declares (event properties, traits, computed attributes).  The type checker
(:mod:`journeyflow.stages.typecheck`) checks every condition against them at load time.

``event`` is a struct per event: ``stream``, ``type``, ``ts`` (int, epoch ms), the stream's own fields
(:data:`BUILTIN_EVENT_FIELDS`, from the parser's attributes, ``journeyflow.stages.parse``) and ``properties`` --
the declared properties of that event (a closed struct: an undeclared property is an error), or, for an event
without a declaration, a ``map(string, dyn)`` (any key; a missing one is a runtime error, counted).  A journey
timer's ``event`` has ``stream``/``type``/``ts`` and the entry's ``product_id`` only.

``customer`` is :data:`CUSTOMER_FIELDS` (``CustomerState.facts`` plus the product facts of the journey engine) and
``traits``: a closed struct of the declared traits (kept from ``identify`` calls) and the computed attributes.
"""
from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from typing import Mapping

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import EVENT_TYPES
from journeyflow.stages.typecheck import BOOL, DOUBLE, DYN, INT, STRING, T, struct

__all__ = ["BUILTIN_EVENT_FIELDS", "CUSTOMER_FIELDS", "CUSTOM_STREAM", "MAX_EVENT_NAME", "Declarations", "EventDecl",
           "stream_of"]

#: Longest event name (characters) a journey trigger (``schemas/journey.schema.json`` ``event_name``), a declared
#: event and a computed attribute's ``event`` may name: one limit, so a name accepted in one place is in the others.
MAX_EVENT_NAME = 128

#: The stream of user-named events (Segment ``track``/``page``/``screen``/``identify``; issue 19).
CUSTOM_STREAM = "track"
_BUILTIN_STREAM = {t: s for s, ts in EVENT_TYPES.items() for t in ts}
_OPEN_MAP = T("map", elem=DYN)

#: Fields every event has, and the fields of each stream's events (as ``journeyflow.stages.parse`` builds them).
_COMMON = {"stream": STRING, "type": STRING, "ts": INT}
BUILTIN_EVENT_FIELDS: Mapping[str, Mapping[str, T]] = {
    "web": {"product_id": STRING, "properties": _OPEN_MAP},
    "orders": {"order_id": STRING, "product_ids": T("list", elem=STRING), "amount": DOUBLE, "currency": STRING,
               "properties": _OPEN_MAP},
    "support": {"ticket_id": STRING, "severity": STRING, "csat": INT},
    "crm": {"lifecycle_stage": STRING, "timezone": STRING, "owner_id": STRING},
    "engagement": {"channel": STRING, "decision_id": STRING, "bounce_type": STRING},
    "consent": {"channel": STRING, "status": STRING},
    # name: of page/screen calls, category: of page calls; groupId and user_traits (the user's context.traits): of
    # group calls (stages.segment.parse; absent on the other calls)
    CUSTOM_STREAM: {"properties": _OPEN_MAP, "traits": _OPEN_MAP, "timezone": STRING, "name": STRING,
                    "category": STRING, "groupId": STRING, "user_traits": _OPEN_MAP},
    "timer": {"product_id": STRING},
}

#: ``customer`` fields (``CustomerState.facts`` and the engine's product facts), without ``traits``.
CUSTOMER_FIELDS: Mapping[str, T] = {
    "customer_id": STRING, "lifecycle_stage": STRING, "timezone": STRING, "has_crm_id": BOOL,
    "consent": struct("customer.consent", {ch: BOOL for ch in CHANNELS}), "open_tickets": INT,
    "escalated_tickets": INT, "open_high_tickets": INT, "cart_size": INT, "orders_90d": INT, "days_since_last_order": INT,
    "days_since_last_activity": INT, "payment_failed": BOOL, "views_7d": INT, "messages_24h": INT,
    "messages_7d": INT, "product_views_7d": INT, "bought_product_30d": BOOL,
    "reachable": struct("customer.reachable", {ch: BOOL for ch in CHANNELS}),
}


#: The Segment Spec's semantic event names (segment.com/docs/connections/spec: e-commerce v2, B2B SaaS, email).
#: A user-named event spelled exactly like one of these is never taken for a typo of another (``Product Reviewed`` is
#: not a misspelt ``Product Viewed``).
SEMANTIC_EVENTS = frozenset({
    "Products Searched", "Product List Viewed", "Product List Filtered", "Product Clicked", "Product Viewed",
    "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Checkout Step Viewed",
    "Checkout Step Completed", "Payment Info Entered", "Order Updated", "Order Completed", "Order Refunded",
    "Order Cancelled", "Coupon Entered", "Coupon Applied", "Coupon Denied", "Coupon Removed",
    "Product Added to Wishlist", "Product Removed from Wishlist", "Wishlist Product Added to Cart", "Product Shared",
    "Cart Shared", "Product Reviewed", "Signed Up", "Signed In", "Signed Out", "Account Created", "Account Deleted",
    "Trial Started", "Trial Ended", "Invite Sent", "Account Added User", "Account Removed User",
    "Email Delivered", "Email Opened", "Email Link Clicked", "Email Bounced", "Email Marked as Spam", "Unsubscribed",
})

#: difflib ratio at or above which an undeclared name is taken for a misspelling of a declared or mapped one
#: ("Trial Endng Soon" / "Trial Ending Soon": 0.97; "Signed Out" / "Signed Up": 0.84, two real events)
NEAR_MISS_RATIO = 0.9


#: The event types the Segment parser gives the calls other than ``track`` (``stages.segment.parse.CALL_TYPES``,
#: a test keeps the two equal): a misspelling of one (``Page Viewd``) is a near miss too
TRACK_CALL_TYPES = frozenset({"Page Viewed", "Screen Viewed", "identify", "group", "alias"})


def _folded(name: str) -> str:
    """``name`` compared loosely: Unicode-normalized (NFKD) without accents, case, spaces, ``_``, ``-`` and ``.``."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c) and not c.isspace() and c not in "_-.")
    return bare.casefold()


def _one_swap(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` with two adjacent characters swapped (``Chruned`` / ``Churned``)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _join(a: T, b: T) -> T:
    """The type of a field that is ``a`` for one event and ``b`` for another: itself when equal; two structs are
    one struct with the fields of both (joined where both have one); anything else is ``dyn``."""
    if a == b:
        return a
    if a.kind == "struct" and b.kind == "struct":
        fields = dict(a.fields)
        for k, v in b.fields.items():
            fields[k] = _join(fields[k], v) if k in fields else v
        return struct(f"{a.name} or {b.name}", fields, open=a.open or b.open)
    return DYN


def stream_of(event: str) -> str:
    """The stream of an event name: the built-in stream of a built-in type, else ``track``."""
    return _BUILTIN_STREAM.get(event, CUSTOM_STREAM)


@dataclass(frozen=True)
class EventDecl:
    """A declared event: its stream and the types of its properties (``properties`` in conditions)."""

    name: str
    stream: str
    properties: Mapping[str, T]


@dataclass(frozen=True)
class Declarations:
    """What an attributes file declares: events (name → :class:`EventDecl`), traits (name → type) and the result
    types of the computed attributes (name → type).  ``Declarations()`` is the built-in world only.  ``mapped``:
    the Segment event names a Segment mapping turns into built-in events (name → (stream, type)); a journey on
    such a name in stream ``track`` would never fire, so the loader rejects it (``journeys validate`` fills it from
    the mapping in use)."""

    events: Mapping[str, EventDecl] = field(default_factory=dict)
    traits: Mapping[str, T] = field(default_factory=dict)
    computed: Mapping[str, T] = field(default_factory=dict)
    mapped: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def knows_event(self, name: str) -> bool:
        """True for a built-in event type or a declared event."""
        return name in _BUILTIN_STREAM or name in self.events

    def near_miss(self, name: str) -> str | None:
        """The declared or mapped event name that ``name`` (a user-named event of stream ``track`` that is neither)
        (or a built-in Segment call type, :data:`TRACK_CALL_TYPES`) most likely misspells, else None: equal but for
        Unicode normalization, accents, case, spaces, ``_``, ``-`` and ``.`` (:func:`_folded`), or one swap of two
        adjacent characters away, or a difflib ratio of at least :data:`NEAR_MISS_RATIO`.  A Segment Spec semantic event name (:data:`SEMANTIC_EVENTS`) is never a near miss.
        The loaders reject a journey trigger or attribute on a near miss: it would silently never fire."""
        if name in self.events or name in self.mapped or name in SEMANTIC_EVENTS or name in TRACK_CALL_TYPES:
            return None
        known = sorted({*self.events, *self.mapped, *TRACK_CALL_TYPES})
        folded = _folded(name)
        for k in known:
            if _folded(k) == folded or _one_swap(_folded(k), folded):
                return k
        close = difflib.get_close_matches(name, known, n=1, cutoff=NEAR_MISS_RATIO)
        return close[0] if close else None

    def event_type(self, name: str, stream: str | None) -> T:
        """The ``event`` struct of events named ``name`` (in ``stream``, default: its own)."""
        s = stream or (self.events[name].stream if name in self.events else stream_of(name))
        fields = {**_COMMON, **BUILTIN_EVENT_FIELDS.get(s, {"properties": _OPEN_MAP})}
        decl = self.events.get(name)
        if decl is not None and decl.properties:
            fields["properties"] = struct(f"the properties of event '{name}'", decl.properties)
        return struct(f"event '{name}'", fields)

    def union_event_type(self, names: list[tuple[str, str | None]], timer: bool) -> T:
        """``event`` of a step condition: the fields of every event that may run the step (entry, wait-until)
        and, with ``timer``, those of a timer.  A field two events give different types is their join
        (:func:`_join`: two declared ``properties`` structs are one struct of both's fields; otherwise ``dyn``), so
        a condition valid for the event that ran the step (``event.properties.seats`` of the wait-until event) is
        not refused for the fields of another."""
        fields: dict[str, T] = {}
        for name, stream in names:
            for k, v in self.event_type(name, stream).fields.items():
                fields[k] = _join(fields[k], v) if k in fields else v
        if timer:
            for k, v in {**_COMMON, **BUILTIN_EVENT_FIELDS["timer"]}.items():
                fields[k] = _join(fields[k], v) if k in fields else v
        if not names:  # a step only timers run (after a wait or its timeout): the entry event is not at hand
            return struct("a timer's event (the step runs after a wait: the entry event's fields are not kept)",
                          fields)
        label = " or ".join(sorted({f"'{n}'" for n, _ in names}))
        return struct(f"event {label}" + (" (or a timer)" if timer else ""), fields)

    @staticmethod
    def same_as_entry_errors(fields: tuple[str, ...], event: T, entry_events: list[T]) -> list[str]:
        """Why a trigger's ``same_as_entry`` ``fields`` (paths: ``order_id``, ``properties.subscriptionId``) cannot
        be compared: each must be a field of the trigger's ``event`` and of at least one of the ``entry_events``
        (struct types from :meth:`event_type`; a path into an open map, e.g. undeclared ``properties``, is
        accepted).  A misspelled field would leave the trigger open for good (fail safe, but silently)."""
        errors = []
        for path in fields:
            err = _field_error(event, path)
            if err is None and entry_events and all(_field_error(t, path) for t in entry_events):
                err = _field_error(entry_events[0], path) + " (the entry event)"
            if err is not None:
                errors.append(err)
        return errors

    def customer_type(self) -> T:
        """The ``customer`` struct: built-in fields plus ``traits`` (declared traits and computed attributes)."""
        traits = struct("customer.traits", {**self.traits, **self.computed})
        return struct("customer", {**CUSTOMER_FIELDS, "traits": traits})

    def variables(self, event: T) -> dict[str, T]:
        """The variables of a condition whose ``event`` has type ``event``."""
        return {"event": event, "customer": self.customer_type()}


def _field_error(t: T, path: str) -> str | None:
    """None when ``path`` (dot-separated) names a field of ``t``, else what is wrong (with a close match)."""
    top, parts = t, path.split(".")
    for i, part in enumerate(parts):
        if t.kind != "struct":
            if t.kind in ("map", "dyn"):
                return None
            return f"'{'.'.join(parts[:i])}' of {top} is a {t}, not an object"
        if part not in t.fields:
            if t.open:
                return None
            hint = difflib.get_close_matches(part, list(t.fields), n=1)
            return f"unknown field '{'.'.join(parts[:i + 1])}' of {top}" + (
                f" (did you mean '{hint[0]}'?)" if hint else f" (fields: {', '.join(sorted(t.fields))})")
        t = t.fields[part]
    return None
