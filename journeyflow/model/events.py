"""Input events: the streams, their event types and the validated :class:`Event` record.

Plain Python, no Beam import: the stages (identity, state, journeys, arbitration) are written against these types
and are unit-testable and benchmarkable on their own; the Beam transforms only move them around.

Times are event times in epoch milliseconds (``int``) everywhere.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

#: The input streams: one file (replay) or one subscription (streaming) each.  ``track`` carries Segment-Spec
#: messages (``identify``, ``track``, ``page``, ``screen``, ``group``, ``alias``; :mod:`journeyflow.stages.segment`).
STREAMS: tuple[str, ...] = ("web", "orders", "support", "crm", "engagement", "consent", "track")
#: The Segment-Spec stream: its event types are open (a ``track`` call's ``event`` name verbatim, ``Page Viewed``,
#: ``identify`` ...), and its e-commerce events are mapped onto the built-in streams
#: (:mod:`journeyflow.stages.segment.mapping`).  It has no Avro schema.
SEGMENT_STREAM = "track"
#: Streams whose event types are not a closed list (``EVENT_TYPES`` holds none for them).
OPEN_STREAMS: frozenset[str] = frozenset({SEGMENT_STREAM})
#: Streams with a closed list of event types and an Avro schema ``schemas/<stream>.avsc``.
BUILTIN_STREAMS: tuple[str, ...] = tuple(s for s in STREAMS if s not in OPEN_STREAMS)

#: Allowed event types per stream (the Avro schemas in ``schemas/`` have the same enums).
EVENT_TYPES: Mapping[str, tuple[str, ...]] = {
    "web": ("page_view", "product_view", "add_to_cart", "checkout_started", "login", "signup"),
    "orders": ("order_placed", "order_cancelled", "payment_failed"),
    "support": ("ticket_opened", "ticket_escalated", "ticket_resolved"),
    # contact_deleted: the account is deleted (a CRM deletion, a GDPR erasure, Segment's "Account Deleted"):
    # ``stages.deletion``
    "crm": ("contact_created", "contact_updated", "lifecycle_changed", "opportunity_opened", "opportunity_closed",
            "contact_deleted"),
    "engagement": ("delivered", "opened", "clicked", "bounced", "unsubscribed", "complained"),
    # The consent stream has a status instead of a type; the event type is derived from it.
    "consent": ("consent_granted", "consent_revoked"),
    # Open: any name (see OPEN_STREAMS).  Only the calls without a name of their own are fixed.
    "track": (),
}


#: Stream order used as a tie-break between events with the same timestamp (facts before reactions).  ``track``
#: (Segment messages that stay on their own stream: ``identify``, ``alias``, custom events) ranks right after
#: ``crm``: an ``identify`` is a profile fact like a CRM update, so at equal times the email it names is known before
#: the activity of that millisecond; mapped e-commerce events take the rank of the built-in stream they map to.
#: (Only the order matters: the numbers of the six original streams moved, their relative order did not.)
STREAM_RANK: Mapping[str, int] = {"consent": 0, "crm": 1, "track": 2, "support": 3, "orders": 4, "web": 5,
                                  "engagement": 6}

#: Pseudo-stream of address-status copies: the consent/deliverability effect of a record that names an address,
#: delivered to every other customer state holding that address (never read from input files; see
#: ``journeyflow.stages.deliverability``).
ADDRESS_STREAM = "_address"
#: Engagement types that change an address's or a channel's status (an opt-out or a bounce).
ENGAGEMENT_STATUS_TYPES: frozenset[str] = frozenset({"unsubscribed", "complained", "bounced"})
#: The crm type of an account deletion (``stages.deletion``): a status record too (it blocks every channel).
ACCOUNT_DELETED_TYPE = "contact_deleted"
#: Rank of status records in ``Event.sort_key``: every record that changes consent or deliverability (the consent
#: stream, engagement unsubscribes/complaints/bounces, address-status copies) sorts before every other event with the
#: same timestamp, so an opt-out at the very millisecond of a trigger is applied before the trigger.
STATUS_RANK = -1


def is_group_call(ev: "Event") -> bool:
    """True for an event made from a Segment ``group`` call (stream ``track``, type ``group``, with its ``groupId``;
    a ``track`` call whose event is named "group" has none): its ``traits`` describe the group (the company), not
    the user (segment.com/docs/connections/spec/group/)."""
    return ev.type == "group" and ev.stream == SEGMENT_STREAM and "groupId" in ev.attrs


def is_status_event(stream: str, type_: str) -> bool:
    """True for records that change consent or deliverability (they sort first among equal timestamps), an account
    deletion among them."""
    return stream == "consent" or stream == ADDRESS_STREAM or (
        stream == "engagement" and type_ in ENGAGEMENT_STATUS_TYPES) or (
        stream == "crm" and type_ == ACCOUNT_DELETED_TYPE)


def event_rank(stream: str, type_: str) -> int:
    """Tie-break rank among events with the same timestamp: status records first (``STATUS_RANK``), then
    ``STREAM_RANK`` (unknown streams: 9)."""
    return STATUS_RANK if is_status_event(stream, type_) else STREAM_RANK.get(stream, 9)


@dataclass(frozen=True, slots=True)
class Event:
    """A validated, normalized input event.

    ``ids`` holds identifier keys (``crm:…``, ``email:<hmac>``, ``phone:<hmac>``, ``anon:…``), never raw PII.
    ``contact`` holds the normalized raw email / E.164 phone *only* so that a later send on that channel can carry
    the address to its execution tool; it never reaches the identity graph, the audit topic or any table.  Next to
    each address it holds that address's identifier key (``email_key`` / ``phone_key``: ``email:<hmac>``), which
    the per-address consent and deliverability status is keyed by (``ids`` may lack it: a refused identity link
    removes the key from ``ids``, while the record still names the address).
    """

    uid: str  # "<stream>/<event_id>": unique across streams, used for de-duplication and decision ids
    stream: str
    type: str
    ts: int
    ids: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    contact: Mapping[str, str] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Processing order: event time (ms); at equal times status records first (``event_rank``: consent and
        deliverability changes), then ``STREAM_RANK`` (facts before reactions), then uid."""
        return (self.ts, event_rank(self.stream, self.type), self.uid)

    def __reduce__(self):
        # explicit and ~5x faster than the generic slots-dataclass pickling (fields() walk) in Beam shuffles
        return (Event, (self.uid, self.stream, self.type, self.ts, self.ids, self.attrs, self.contact))



# ------------------------------------------------------------------------------------------------ encoding
def encode_event(ev: Event) -> bytes:
    """Compact, deterministic encoding of an event (JSON array, sorted keys; Beam state and the streaming buffer)."""
    return json.dumps([ev.uid, ev.stream, ev.type, ev.ts, list(ev.ids), ev.attrs, ev.contact],
                      separators=(",", ":"), sort_keys=True).encode()


def decode_event(b: bytes) -> Event:
    """Inverse of :func:`encode_event`. Raises ``ValueError`` (JSON) or ``TypeError``/``ValueError`` on bad shape."""
    uid, stream, type_, ts, ids, attrs, contact = json.loads(b)
    return Event(uid, stream, type_, ts, tuple(ids), attrs, contact)
