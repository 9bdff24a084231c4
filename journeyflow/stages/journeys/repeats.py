"""Events that repeat what the customer's state already holds, which journeys must not act on again.

An ``order_placed`` naming an order the customer already placed (:meth:`CustomerState.order_placed_at`: kept, not
cancelled since) is that order again: an order system re-sending it with a new event id (a webhook retried after a
timeout, a re-export of the day's orders) or the other input form reporting it (the order system's ``orders``
record and Segment's ``Order Completed``).  De-duplication by event id does not see it; for the journeys it enters,
exits or converts nothing (a second cross-sell for one order, a newer cart's reminder ended by last week's order),
and the state does not count it again (``CustomerState.apply``).  Plain Python, no Beam.
"""
from __future__ import annotations

from collections.abc import Sequence

from journeyflow.model.events import Event
from journeyflow.stages.state import CustomerState

__all__ = ["resent_order"]


def resent_order(state: CustomerState, event: Event, earlier: Sequence[Event] = ()) -> bool:
    """True when ``event`` (already folded into ``state``) is an ``order_placed`` of an order placed before it:
    earlier in event time (``state``), or earlier in its millisecond (``earlier``: the customer's events of that
    millisecond handled before it, whose first ``order_placed`` of the order is the order)."""
    if event.type != "order_placed":
        return False
    oid = event.attrs.get("order_id")
    placed = state.order_placed_at(oid)
    if placed is None:
        return False
    return placed < event.ts or any(e.type == "order_placed" and e.attrs.get("order_id") == oid for e in earlier)
