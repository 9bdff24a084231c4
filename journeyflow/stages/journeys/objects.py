"""Which object an event names, for the journeys: an order reported again, and one id in two spellings.

**An order reported again** (:func:`resent_order`).  An ``order_placed`` naming an order the customer already
placed (``stages.state_orders``: kept, not cancelled since) is that order again: an order system
re-sending it with a new event id (a webhook retried after a timeout, a re-export of the day's orders) or the other
input form reporting it (the order system's ``orders`` record and Segment's ``Order Completed``).  De-duplication
by event id does not see it; for the journeys it enters, exits or converts nothing (a second cross-sell for one
order, a newer cart's reminder ended by last week's order), and the state does not count it again
(``CustomerState.apply``).  Placed again after a payment failure, it is news (the payment went through: the dunning
ends); the state then holds the order from that time, so it is not "placed before" here.

**A ticket reported again** (:func:`repeated_ticket`).  A ``ticket_opened`` of a ticket that is open (opened
before, not resolved since), or a ``ticket_escalated`` of one already escalated since it was last opened, is that
ticket again: a helpdesk webhook retried, a desk that sends "opened" with every update, a second escalation of one
case (tier 2, then tier 3).  It changes the ticket's severity and its last activity, but it is no new contact and no
new escalation: the owner already has the follow-up task (``service_escalation``), the case is already routed
(``repeat_contact``), so it enters, exits and converts nothing.  A ticket opened or escalated again after its
resolution is open again: news.

**One id, two spellings** (:func:`object_key`).  ``same_as_entry`` compares the entry event's value of a field with
the trigger event's.  The built-in object ids are read in one spelling at parse time (``stages/object_ids.py``), but
a property path (``properties.order_id``) holds what the source wrote: Segment sources write one id as a JSON number
in one event and a string in another (``12345`` / ``"12345"``), or padded from a CSV column.  Compared raw, the
review request never saw its order's delivery and a trial's nudges went on after its subscription's cancellation
(the exit never matched).  Plain Python, no Beam.
"""
from __future__ import annotations

from collections.abc import Sequence

import math
from typing import Any

from journeyflow.model.events import Event
from journeyflow.stages.object_ids import object_id
from journeyflow.stages.state import CustomerState
from journeyflow.stages.state_orders import order_placed_at

__all__ = ["object_key", "repeated_report", "repeated_ticket", "resent_order"]

#: The event types a source may report again about one object (:func:`repeated_report`).
REPORTED_AGAIN = frozenset({"order_placed", "ticket_opened", "ticket_escalated"})


def object_key(v: Any) -> Any:
    """``v`` as an object id compares: an integer (or an integral finite float: ``12345.0``) as its decimal digits,
    a string in its one spelling (``object_ids.object_id``: surrounding whitespace and invisible format characters
    dropped), anything else (booleans, other numbers, lists, maps, None) as it is.  ``"12345"``, ``12345``,
    ``12345.0`` and ``" 12345 "`` are one key; ``"012345"`` is another (an id's leading zeros are part of it)."""
    c = v.__class__
    if c is str:
        return object_id(v)
    if c is int:
        return str(v)
    if c is float and math.isfinite(v) and v.is_integer():
        return str(int(v))
    return v


def resent_order(state: CustomerState, event: Event, earlier: Sequence[Event] = ()) -> bool:
    """True when ``event`` (already folded into ``state``) is an ``order_placed`` of an order placed before it:
    earlier in event time (``state``), or earlier in its millisecond (``earlier``: the customer's events of that
    millisecond handled before it, whose first ``order_placed`` of the order is the order)."""
    if event.type != "order_placed":
        return False
    oid = event.attrs.get("order_id")
    placed = order_placed_at(state.orders, oid)
    if placed is None:
        return False
    return placed < event.ts or any(e.type == "order_placed" and e.attrs.get("order_id") == oid for e in earlier)


def repeated_ticket(state: CustomerState, event: Event, earlier: Sequence[Event] = ()) -> bool:
    """True when ``event`` (already folded into ``state``) is a ``ticket_opened`` of a ticket open since before it,
    or a ``ticket_escalated`` of a ticket escalated since before it (the ticket's record in ``state.tickets``:
    ``[severity, opened_ts, escalated_ts or 0, status_ts]``), or repeats an event of the ticket handled earlier in
    its millisecond (``earlier``)."""
    t = event.type
    if t != "ticket_opened" and t != "ticket_escalated":
        return False
    tid = event.attrs.get("ticket_id")
    rec = state.tickets.get(tid)
    if rec is None:
        return False
    since = rec[1] if t == "ticket_opened" else rec[2]
    if since and since < event.ts:
        return True
    return bool(since) and any(e.type == t and e.attrs.get("ticket_id") == tid for e in earlier)


def repeated_report(state: CustomerState, event: Event, earlier: Sequence[Event] = ()) -> bool:
    """True when ``event`` reports again an order or a ticket the customer's state already holds in that status
    (:func:`resent_order`, :func:`repeated_ticket`): no news for the journeys."""
    t = event.type
    if t == "order_placed":
        return resent_order(state, event, earlier)
    return repeated_ticket(state, event, earlier)
