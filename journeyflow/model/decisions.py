"""Decisions: channels, actions and categories, the :class:`Candidate` a journey proposes, the :class:`Decision`
arbitration makes, and the destination (topic) of each execution target.

Times are event times in epoch milliseconds (``int``).
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, NamedTuple

#: Channels a customer can consent to (and be messaged on).
CHANNELS: tuple[str, ...] = ("email", "sms", "push", "call")
#: Execution targets that are not messages to the customer.
TASK_TARGETS: tuple[str, ...] = ("crm_task", "service_case")
#: What a decision does (``suppress``/``wait``/``none``: nothing is executed).
ACTIONS: tuple[str, ...] = ("send", "create_task", "route_case", "suppress", "wait", "none")
#: Categories in arbitration order: service beats transactional beats sales beats marketing.
CATEGORIES: tuple[str, ...] = ("service", "transactional", "sales", "marketing")
CATEGORY_RANK: Mapping[str, int] = {c: i for i, c in enumerate(CATEGORIES)}

#: Decision topics, one per execution target, plus the audit topic (every decision), the dead letters and the
#: field warnings.
TOPIC_FOR_TARGET: Mapping[str, str] = {
    "email": "decisions-email",
    "sms": "decisions-sms",
    "push": "decisions-push",
    "call": "decisions-call",
    "crm_task": "decisions-crm-task",
    "service_case": "decisions-service-case",
}
AUDIT_TOPIC = "decisions-audit"
DEAD_LETTER_TOPIC = "dead-letter"
#: Optional fields and identifiers dropped (or replaced) from records that were kept: one message each.
FIELD_WARNINGS_TOPIC = "field-warnings"
ALL_TOPICS: tuple[str, ...] = (*TOPIC_FOR_TARGET.values(), AUDIT_TOPIC, DEAD_LETTER_TOPIC, FIELD_WARNINGS_TOPIC)



class Candidate(NamedTuple):
    """An action a journey proposes. Arbitration decides whether it happens.

    A NamedTuple rather than a frozen dataclass: immutable and hashable alike, ~6x cheaper to build on the
    per-event hot path."""

    journey_id: str
    step_id: str
    category: str  # one of CATEGORIES
    priority: int  # journey priority, higher wins within a category
    action: str  # send | create_task | route_case
    channel: str  # email|sms|push|call for sends; crm_task|service_case for tasks/cases
    content_id: str | None
    trigger_id: str  # event uid, or the timer id that made the journey propose it
    proposed_at: int  # event time (ms)
    product_id: str | None = None  # product the content promotes, if any (recent-purchase rule)
    exclusion_group: str | None = None
    score: float = 0.0
    control: bool = False  # the customer is in the journey's control group: recorded, never executed
    entered: int | None = None  # entry time of the membership that proposed it (it owns the action while pending)
    #: The entry event's references (``order_id``, ``ticket_id``, ``severity``, ``amount``, ``currency``): sorted
    #: (name, value) pairs, copied into the message context of the decision (:mod:`..stages.arbitration.context`).
    refs: tuple[tuple[str, Any], ...] = ()


class CandidateOutcome(NamedTuple):
    """A candidate that was not chosen, with the reason code."""

    journey_id: str | None
    step_id: str | None
    action: str
    channel: str | None
    content_id: str | None
    category: str
    priority: int
    reason: str


class Decision(NamedTuple):
    """One decision (also NamedTuple for hot-path construction cost)."""

    decision_id: str
    customer_id: str
    decided_at: int
    journey_id: str | None
    step_id: str | None
    action: str  # one of ACTIONS
    channel: str | None
    content_id: str | None
    category: str | None
    priority: int
    reason_codes: tuple[str, ...]
    candidates: tuple[CandidateOutcome, ...]
    trigger_event_id: str
    #: Delivery address for the execution tool (email / E.164 phone).  Only ever written to the channel's own
    #: decision topic, never to the audit topic or a table.
    address: str | None = None
    #: Identifier key of that address (``email:<hmac>`` / ``phone:<hmac>``): in the audit topic and the tables, so
    #: that a send can be checked against the address's status without the raw address.
    address_key: str | None = None
    #: What the execution target needs to act (product ids, order / ticket / owner ids, ticket history, customer
    #: value; built by :func:`journeyflow.stages.arbitration.context.message_context`), only on chosen sends, tasks
    #: and cases; written to the target's topic only (``schemas/topics/<topic>.schema.json``).  No raw email or phone.
    context: Mapping[str, Any] | None = None
    #: A ``wait`` decision's due time (epoch ms): when its deferred candidate is decided again (the end of the
    #: customer's quiet hours); None on every other decision.  In the audit message of a ``wait`` only.
    due_at: int | None = None

    @property
    def target(self) -> str | None:
        """The execution target this decision goes to, or None for audit-only decisions."""
        if self.action in ("send", "create_task", "route_case") and self.channel in TOPIC_FOR_TARGET:
            return self.channel
        return None

    def to_dict(self, with_address: bool = False) -> dict[str, Any]:
        """The decision as a JSON object (audit topic, ``decisions`` row; candidates as objects).  The delivery
        ``address`` and the ``context`` (an object, empty when there is none) only ``with_address`` (the target's
        own topic); ``due_at`` only on a ``wait`` (the ``decisions`` table's ``due_at``, NULL on other rows)."""
        d = {
            "decision_id": self.decision_id,
            "customer_id": self.customer_id,
            "decided_at": self.decided_at,
            "journey_id": self.journey_id,
            "step_id": self.step_id,
            "action": self.action,
            "channel": self.channel,
            "content_id": self.content_id,
            "category": self.category,
            "priority": self.priority,
            "reason_codes": list(self.reason_codes),
            "candidates": [c._asdict() for c in self.candidates],
            "trigger_event_id": self.trigger_event_id,
            "address_key": self.address_key,
        }
        if self.action == "wait":
            d["due_at"] = self.due_at
        if with_address:
            d.update(self.address_fields())
        return d

    def sorted_dict(self) -> dict[str, Any] | None:
        """:meth:`to_dict` (without the address) with its keys, and its candidates' keys, in sorted order: encoded
        as it is (no ``sort_keys``) it is the text ``json.dumps(self.to_dict(), sort_keys=True)`` gives, without a
        sort per object (the audit message, issue 22).  None when a candidate is not a :class:`CandidateOutcome`."""
        cands = []
        for c in self.candidates:
            if c.__class__ is not CandidateOutcome:
                return None
            cands.append({"action": c.action, "category": c.category, "channel": c.channel,
                          "content_id": c.content_id, "journey_id": c.journey_id, "priority": c.priority,
                          "reason": c.reason, "step_id": c.step_id})
        d = {"action": self.action, "address_key": self.address_key, "candidates": cands, "category": self.category,
             "channel": self.channel, "content_id": self.content_id, "customer_id": self.customer_id,
             "decided_at": self.decided_at, "decision_id": self.decision_id}
        if self.action == "wait":
            d["due_at"] = self.due_at
        d["journey_id"] = self.journey_id
        d["priority"] = self.priority
        d["reason_codes"] = list(self.reason_codes)
        d["step_id"] = self.step_id
        d["trigger_event_id"] = self.trigger_event_id
        return d

    def address_fields(self) -> dict[str, Any]:
        """What :meth:`to_dict` adds ``with_address``: the delivery ``address`` and the ``context`` (an object,
        empty when there is none)."""
        return {"address": self.address, "context": dict(self.context) if self.context else {}}


#: Which contact entry a channel is delivered to.  Push has none: the push service addresses the app user by its
#: external id (the CRM id, which the web/app SDK sends as ``user_id``), see :data:`ADDRESSED_CHANNELS`.
ADDRESS_FOR_CHANNEL: Mapping[str, str] = {"email": "email", "sms": "phone", "call": "phone"}
#: Channels whose sends need an address to be executable: email/sms/call a contact entry, push the customer's
#: external id (``crm:<id>`` key, the raw id as ``address``; an id that looks like an email is never used).
ADDRESSED_CHANNELS: tuple[str, ...] = (*ADDRESS_FOR_CHANNEL, "push")
#: Address kinds (contact entries) and the contact entry holding each one's identifier key.
ADDRESS_KINDS: tuple[str, ...] = ("email", "phone")
ADDRESS_KEY_FIELD: Mapping[str, str] = {k: f"{k}_key" for k in ADDRESS_KINDS}


def decision_id(*parts: object) -> str:
    """Deterministic id: same inputs give the same id, so downstream tools can drop redeliveries."""
    h = hashlib.sha256("\x1f".join([p if p.__class__ is str else "" if p is None else str(p)  # (strings first:
                                     for p in parts]).encode()).hexdigest()  # most parts are)
    return "d_" + h[:24]
