"""One order reported more than once: which report places it, and what a later report adds (plain Python, no Beam).

An ``order_placed`` of an order the customer already placed (same ``order_id``, kept in ``CustomerState.orders``,
not cancelled since) is that order again: an order system re-sending it with a new event id (a retried webhook, a
re-export) or the other input form (the ``orders`` record and Segment's ``Order Completed``).  It is no new order
(``orders_90d``, ``customer_value``, carts and payment failures as they were; the journeys do not hear it:
``journeys.objects.resent_order``), but it completes the first report: a first copy whose ``product_ids`` were
dropped as malformed leaves its items to the copy that has them (else a product just bought looks unbought and is
offered), one without an amount or currency takes the later copy's.  Placed again after a payment failure, the order
is the payment going through: ``CustomerState.apply`` then places it anew.  Used by ``CustomerState.apply`` and
``state_merge`` (one entry per order id).

Order entries (``CustomerState.orders``, time-sorted): ``[ts, order_id, amount, [product_ids], currency]`` --
``ts`` epoch ms of the placement, ``amount`` the event's number or None, ``currency`` its ISO 4217 code as
:func:`currency_code` gives it (upper-cased) or None (unknown).  Entries stored by earlier builds are shorter and
keep working: ``[ts, order_id, amount, [product_ids]]`` (before orders kept their currency: currency unknown) and
``[ts, order_id, amount]`` (before they kept their items: no items, currency unknown; such an entry has no item
slot, so a later report cannot give it a currency either).  Amounts of different currencies are never added
together (``arbitration.context``'s ``customer_value``).
"""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["complete_order", "currency_code", "merge_reports", "order_placed_at"]


def currency_code(value: Any) -> str | None:
    """The currency an order entry keeps for an event's ``currency`` field ``value``: the text stripped and
    upper-cased (``" usd"`` and ``"USD"`` are one currency, ``"USD"``; ISO 4217 codes are upper-case), or None (no
    currency known) for a missing, blank or non-text value.  The parse already dropped a non-string currency with a
    field warning; no list of codes is enforced (an unlisted code is still its own currency, never added to
    another)."""
    if value.__class__ is str:
        value = value.strip().upper()
        if value:
            return value
    return None


def order_placed_at(orders: list[list], order_id: Any) -> int | None:
    """When the kept order ``order_id`` was placed (ms: its first ``order_placed``, or the one after a payment
    failure) among ``orders`` (``CustomerState.orders``: ``[ts, order_id, amount, [product_ids], currency]``,
    time-sorted), or None: not placed, or cancelled or expired since."""
    if order_id is None:
        return None
    return next((o[0] for o in orders if o[1] == order_id), None)


def merge_reports(kept: list, other: list) -> None:
    """Completes ``kept`` (an order entry, module docstring) with what ``other`` (a later report of the order) adds:
    the amount when ``kept`` has none, the items it lacks (entries written before orders kept their items have none
    to add), the currency when ``kept`` has none -- or ``other``'s currency whenever ``kept`` takes ``other``'s
    amount and ``other`` has one (an amount keeps the currency it was reported in).  A ``kept`` entry of the
    4-element layout (stored before orders kept their currency) grows a fifth element when it gains one; one of
    the 3-element layout is left without (no item slot: module docstring)."""
    took_amount = kept[2] is None and other[2] is not None
    if kept[2] is None:
        kept[2] = other[2]
    if len(kept) > 3 and len(other) > 3:
        kept[3] = [*kept[3], *(p for p in other[3] if p not in kept[3])]
    cur = other[4] if len(other) > 4 else None
    if cur is not None and len(kept) > 3:
        if len(kept) == 4:
            kept.append(cur)
        elif kept[4] is None or took_amount:
            kept[4] = cur


def complete_order(state: Any, order_id: Any, attrs: Mapping[str, Any]) -> None:
    """A re-sent ``order_placed`` (``attrs``) of the kept order ``order_id`` of ``state`` (a ``CustomerState``):
    its amount, currency and items where the first report lacked them (:func:`merge_reports`); a newly known item
    is bought at the order's time and leaves the cart when it was added before that."""
    o = next(o for o in state.orders if o[1] == order_id)
    known = set(o[3]) if len(o) > 3 else set()
    merge_reports(o, [o[0], order_id, attrs.get("amount"), [str(p) for p in attrs.get("product_ids") or ()],
                      currency_code(attrs.get("currency"))])
    for pid in (o[3] if len(o) > 3 else ()):
        if pid not in known:
            state.purchases[pid] = max(state.purchases.get(pid, o[0]), o[0])
            if state.cart.get(pid, o[0] + 1) <= o[0]:
                del state.cart[pid]
