"""``CustomerState.facts``: the read-only summary journey conditions see as ``customer`` (its keys and values are
documented there and in the README's condition reference).

Split from :mod:`journeyflow.stages.state` (module size) and written as plain loops: it is worked out for every
activation whose condition reads a customer fact, and in the compiled core a loop costs a fraction of a generator
expression (``sum(1 for ...)``, ``any(...)``) or a method call per channel.  The values are those of the
expressions each loop replaces, noted beside it.
"""
from __future__ import annotations

from typing import Any

from journeyflow.model.decisions import CHANNELS
from journeyflow.stages.state import CART_MS, DAY, CustomerState

__all__ = ["fact", "facts"]

_WEEK = 7 * DAY
_HIGH = ("high", "critical")


def facts(s: CustomerState, now: int, stale_ms: int | None = None) -> dict[str, Any]:
    """:meth:`CustomerState.facts` of ``s`` at ``now`` (epoch ms); ``stale_ms``: open tickets stale at ``now`` are
    not counted (:meth:`CustomerState.open_tickets_at`)."""
    orders = s.orders
    last_order = orders[-1][0] if orders else None
    tickets = s.open_tickets_at(now, stale_ms)
    crm = False  # any(k.startswith("crm:") for k in s.ids)
    for k in s.ids:
        if k.startswith("crm:"):
            crm = True
            break
    held = s.consent  # {ch: s.has_consent(ch) for ch in CHANNELS}
    consent = {}
    for ch in CHANNELS:
        c = held.get(ch)
        consent[ch] = (c[0] if c else None) == "granted"
    escalated = high = 0  # sum(1 for t in tickets if t[2]), sum(1 for t in tickets if t[0] in _HIGH)
    for t in tickets:
        if t[2]:
            escalated += 1
        if t[0] in _HIGH:
            high += 1
    cart = 0  # sum(1 for t in s.cart.values() if now - CART_MS < t <= now)  (expiry is lazy)
    lo = now - CART_MS
    for t in s.cart.values():
        if lo < t <= now:
            cart += 1
    recent = 0  # sum(1 for o in s.orders if now - 90 * DAY < o[0] <= now)
    lo = now - 90 * DAY
    for o in orders:
        if lo < o[0] <= now:
            recent += 1
    views = 0  # sum(1 for ts, _ in s.views if now - 7 * DAY < ts <= now)
    week_lo = now - _WEEK
    for ts, _ in s.views:
        if week_lo < ts <= now:
            views += 1
    day = week = 0  # s.sends_within(now, DAY), s.sends_within(now, 7 * DAY)
    lo_day = now - DAY
    for snd in s.sends:
        t = snd[0]
        if week_lo < t <= now:
            week += 1
            if lo_day < t:
                day += 1
    last_activity = s.last_activity
    return {
        "customer_id": s.customer_id,
        "lifecycle_stage": s.lifecycle or "",
        "timezone": s.tz or "",
        "has_crm_id": crm,
        "consent": consent,
        "open_tickets": len(tickets),
        "escalated_tickets": escalated,
        "open_high_tickets": high,
        "cart_size": cart,
        "orders_90d": recent,
        "days_since_last_order": -1 if last_order is None else (now - last_order) // DAY,
        "days_since_last_activity": -1 if last_activity is None else (now - last_activity) // DAY,
        "payment_failed": s.payment_failed is not None,
        "views_7d": views,
        "messages_24h": day,
        "messages_7d": week,
    }


def fact(s: CustomerState, key: str, now: int, stale_ms: int | None = None) -> Any:
    """``facts(s, now, stale_ms)[key]``, the same value, working out that fact alone (a condition reads one or two of
    the sixteen: ``customer.days_since_last_order``); KeyError: not a fact's key."""
    if key == "days_since_last_order":
        orders = s.orders
        return (now - orders[-1][0]) // DAY if orders else -1
    if key == "lifecycle_stage":
        return s.lifecycle or ""
    if key == "consent":
        held, consent = s.consent, {}
        for ch in CHANNELS:
            c = held.get(ch)
            consent[ch] = (c[0] if c else None) == "granted"
        return consent
    if key == "open_tickets" or key == "escalated_tickets" or key == "open_high_tickets":
        tickets = s.open_tickets_at(now, stale_ms)
        if key == "open_tickets":
            return len(tickets)
        n = 0
        if key == "escalated_tickets":
            for t in tickets:
                if t[2]:
                    n += 1
        else:
            for t in tickets:
                if t[0] in _HIGH:
                    n += 1
        return n
    if key in _FACT_NAMES:
        return facts(s, now, stale_ms)[key]  # (the rarely read ones)
    raise KeyError(key)


_FACT_NAMES = frozenset(facts(CustomerState(), 0))
