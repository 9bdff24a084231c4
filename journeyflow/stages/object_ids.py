"""Ids of the objects an event is about -- orders, tickets, products -- read as one spelling each.

An order cancelled under ``"ORD-7\\u200b"`` (the id re-exported with a zero-width space) or ``" T-12 "`` (a padded
CSV column) must be the order placed as ``ORD-7``, the ticket opened as ``T-12``: otherwise a cancellation takes
nothing back, a resolved ticket stays open for ever (promos held back), a purchased product still looks abandoned.
Same rule as event ids and customer ids (:func:`journeyflow.stages.identity.keys.event_id_text`: surrounding
whitespace and invisible format characters removed).  Pure Python; the common plain ASCII id is returned at once."""
from __future__ import annotations

from typing import Any

from journeyflow.stages.identity.keys import event_id_text

__all__ = ["OBJECT_ID_FIELDS", "object_id", "object_ids"]

#: per stream, the fields holding one object id, and the field holding a list of them
OBJECT_ID_FIELDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "web": (("product_id",), None), "orders": (("order_id",), "product_ids"), "support": (("ticket_id",), None)}


def object_id(v: Any) -> Any:
    """``v`` in its one spelling when it is a string (possibly empty then), else ``v`` as it is."""
    if v.__class__ is not str or (v.isascii() and not (v[:1].isspace() or v[-1:].isspace())):
        return v
    return event_id_text(v)


def object_ids(stream: str, rec: dict) -> dict:
    """``rec``, or a copy with its object ids (:data:`OBJECT_ID_FIELDS`) in their one spelling; a list's items
    that are empty then are left out (they name no product)."""
    fields, listed = OBJECT_ID_FIELDS.get(stream, ((), None))
    out = rec
    for f in fields:
        v = rec.get(f)
        if (w := object_id(v)) is not v:
            out = out if out is not rec else dict(rec)
            out[f] = w
    items = rec.get(listed) if listed else None
    if isinstance(items, list) and any(object_id(x) is not x for x in items):
        out = out if out is not rec else dict(rec)
        out[listed] = [w for w in map(object_id, items) if w != ""]
    return out
