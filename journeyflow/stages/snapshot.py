"""Per-customer state summaries for the ``customer_snapshots`` table (hashed identifiers only)."""
from __future__ import annotations

from typing import Any

from journeyflow.model.decisions import CHANNELS
from journeyflow.stages.json_text import dumps_finite
from journeyflow.stages.state import CART_MS, DAY, CustomerState


def snapshot_row(s: CustomerState, at: int | None, state_bytes: int | None = None,
                 attributes: Any = None, open_ticket_ms: int | None = None) -> dict[str, Any]:
    """The ``customer_snapshots`` row of ``s`` as of ``at`` (epoch ms; None: the customer's last event), with the
    columns of ``schemas/bigquery/customer_snapshots.json``.  Counts are taken at ``at`` (``messages_7d``: sends in
    the 7 days before it, ``cart_size``: cart lines of the 7 days before it, ``orders_90d``: orders of the 90); ``state_bytes``: the size of the serialized state, if the caller already has it.
    ``attributes``: the declared traits and computed attributes (an ``AttributeSet``); ``traits`` is the JSON
    object of their values at ``at`` (sorted keys; those without a value are left out), None when there are none.
    ``open_ticket_ms``: the policy's ``open_tickets.stale_after`` (``JourneyEngine.open_ticket_ms``; None: tickets
    count until resolved); ``open_tickets`` counts the tickets open at ``at`` by the rule the decisions use
    (``CustomerState.open_tickets_at``), not a stale one the daily expiry pass has not dropped yet."""
    now = at if at is not None else (s.last_event or 0)
    kinds: dict[str, int] = {}
    for k in s.ids:
        kind = k.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "customer_id": s.customer_id,
        "snapshot_at": now,
        "identifiers": list(s.ids),
        "crm_ids": kinds.get("crm", 0),
        "emails": kinds.get("email", 0),
        "phones": kinds.get("phone", 0),
        "devices": kinds.get("anon", 0),
        "timezone": s.tz,
        "lifecycle_stage": s.lifecycle,
        **{f"consent_{ch}": s.consent_status(ch) for ch in CHANNELS},
        "address_status": s.address_rows(),
        "open_tickets": len(s.open_tickets_at(now, open_ticket_ms)),
        # windowed like the decision facts (``CustomerState.facts``): expiry runs at most once a day, so the state
        # may still hold a cart line just past its 7 days or an order just past 90
        "orders_90d": sum(1 for o in s.orders if now - 90 * DAY < o[0] <= now),
        "cart_size": sum(1 for t in s.cart.values() if now - CART_MS < t <= now),
        "messages_7d": s.sends_within(now, 7 * DAY),
        "active_journeys": sorted(j for j, m in s.journeys.items() if m.get("step")),
        "pending_timers": len(s.timers),
        "first_seen": s.first_seen,
        "last_event": s.last_event,
        "state_bytes": len(s.to_bytes()) if state_bytes is None else state_bytes,
        "traits": _traits(s, now, attributes),
        # an erased profile (stages.deletion): only its hashed identifiers, opt-outs and this time are left
        "deleted_at": s.account[1] if s.account is not None and s.account[0] == "deleted" else None,
    }


def _traits(s: CustomerState, now: int, attributes: Any) -> str | None:
    if not attributes:
        return None
    values = attributes.values(s, now)
    # (a sum past the double range is null: JSON has no infinity, ``json_text.dumps_finite``)
    return dumps_finite(values, sort_keys=True, separators=(",", ":")) if values else None
