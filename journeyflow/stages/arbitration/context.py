"""The ``context`` of a decision message: what its execution target needs to act on it (issue 20).

Built once per chosen ``send`` / ``create_task`` / ``route_case`` from the candidate (its entry event's references,
:attr:`Candidate.refs`, and promoted product) and the customer's state at the decision, then written to the target's
own topic only (never to the audit topic or a table).  Field by field (every field is optional; the per-topic JSON
Schemas in ``schemas/topics/`` are the contract):

==================  ======================================================================================
field               content
==================  ======================================================================================
``crm_id``          the customer's CRM id (= the app's ``user_id``), the id a CRM, call centre or push
                    service knows the customer by; omitted when the customer has none or it looks like an email
``product_ids``     sends promoting a product (``product_from_event``): that product first, then the other
                    products still in the customer's cart, most recently added first, when it is in the cart
``order_id``        entry event of the journey was an order event: its order id, with ``amount`` and
                    ``currency`` when the event had them (dunning: the failed payment)
``ticket_id``       entry event was a support event: its ticket id (with ``severity``)
``owner_id``        tasks, cases and calls: the CRM owner (account manager) of the customer, when known
``ticket``          tasks, cases and calls about a ticket: ``{ticket_id, severity, status (open|escalated|
                    resolved), opened_at, updated_at, resolved_at, csat}`` from the customer's state
``ticket_history``  tasks, cases and calls: the customer's open and recently resolved tickets (state retention:
                    7 days after resolution; not a ticket stale under ``open_tickets.stale_after``), oldest
                    first, same shape as ``ticket``
``customer_value``  tasks, cases and calls: ``{orders_90d, currency, revenue_90d, revenue_90d_by_currency,
                    last_order_at, lifecycle_stage}``: amounts of different currencies are never added
                    (:func:`customer_value`)
==================  ======================================================================================

Times are epoch milliseconds.  No email address or phone number ever appears here: those go to the send's
``address`` only (README "Decision messages").
"""
from __future__ import annotations

import sys
from typing import Any

from journeyflow.model.decisions import TASK_TARGETS, Candidate
from journeyflow.stages.push_devices import push_address
from journeyflow.stages.state import CART_MS, DAY

__all__ = ["SERVICE_TARGETS", "UNKNOWN_CURRENCY", "customer_value", "message_context"]

#: Targets a person acts on (an agent, an account manager): they get the ticket, its history and the customer's
#: value.
SERVICE_TARGETS: frozenset[str] = frozenset((*TASK_TARGETS, "call"))


def message_context(c: Candidate, state: Any, now: int | None = None, stale_ms: int | None = None
                    ) -> dict[str, Any]:
    """The ``context`` object for a chosen candidate ``c`` of a customer whose state is ``state``
    (:class:`~journeyflow.stages.state.CustomerState`) at event time ``now`` (epoch ms; default: the candidate's
    ``proposed_at``).  Fields: see the module docstring; an empty dict when there is nothing to add.  Windowed
    entries are filtered by ``now`` here (state expiry runs at most once a day): cart lines older than
    ``CART_MS`` (7 days), orders older than 90 days and, with ``stale_ms`` (the policy's
    ``open_tickets.stale_after``), open tickets stale at ``now`` (``CustomerState.open_tickets_at``: no longer
    open for arbitration nor the journeys) are left out."""
    if now is None:
        now = c.proposed_at
    ctx: dict[str, Any] = {}
    crm = push_address(state)
    if crm.__class__ is tuple:
        ctx["crm_id"] = crm[1]
    pid = c.product_id
    if pid:
        pids = [pid]
        cart = {p: t for p, t in state.cart.items() if now - CART_MS < t <= now}
        if pid in cart:
            pids += [p for p, _ in sorted(cart.items(), key=lambda kv: (-kv[1], kv[0])) if p != pid]
        ctx["product_ids"] = pids
    refs = dict(c.refs)
    for f in ("order_id", "amount", "currency", "ticket_id", "severity"):
        if f in refs:
            ctx[f] = refs[f]
    if c.channel in SERVICE_TARGETS:
        if state.owner_id:
            ctx["owner_id"] = state.owner_id
        tid = refs.get("ticket_id")
        history = _tickets(state, now, stale_ms)
        if tid is not None:
            for t in history:
                if t["ticket_id"] == tid:
                    ctx["ticket"] = t
                    break
        ctx["ticket_history"] = history
        ctx["customer_value"] = customer_value(state, now)
    return ctx


def _tickets(state: Any, now: int, stale_ms: int | None) -> list[dict[str, Any]]:
    out = []
    live = {id(t) for t in state.open_tickets_at(now, stale_ms)} if stale_ms is not None else None
    for tid, t in state.tickets.items():  # [severity, opened_ts, escalated, status_ts?]
        if live is not None and id(t) not in live:
            continue  # stale: not open any more (the expiry pass drops it later)
        out.append({"ticket_id": tid, "severity": t[0], "status": "escalated" if t[2] else "open",
                    "opened_at": t[1], "updated_at": t[3] if len(t) > 3 else t[1]})
    for tid, (ts, csat) in state.resolved.items():
        r = {"ticket_id": tid, "status": "resolved", "resolved_at": ts, "updated_at": ts}
        if csat is not None:
            r["csat"] = csat
        out.append(r)
    out.sort(key=lambda t: (t.get("opened_at", t["updated_at"]), str(t["ticket_id"])))
    return out


#: The largest finite double (IEEE 754 binary64): where a revenue sum saturates.
_MAX_DOUBLE = sys.float_info.max
#: The key of ``revenue_90d_by_currency`` for the amounts of orders reported without a currency (lower-case: never
#: an order's currency code, which :func:`~journeyflow.stages.state_orders.currency_code` upper-cases).
UNKNOWN_CURRENCY = "unknown"


def customer_value(state: Any, now: int) -> dict[str, Any]:
    """The ``customer_value`` of a task, case or call for a customer whose state is ``state`` at ``now`` (epoch ms).

    Of the orders of the 90 days before ``now`` (``CustomerState.orders``, entries as
    :mod:`journeyflow.stages.state_orders` describes; cancelled ones are gone from it):

    * ``orders_90d``: how many (int);
    * ``currency``: the currency (ISO 4217 code, upper-cased) of the latest of them with both an amount and a
      currency; absent when none has both;
    * ``revenue_90d``: the sum of their amounts in ``currency`` only -- amounts of different currencies, or of a
      known and an unknown one, are never added; with no ``currency``, the sum of the amounts reported without a
      currency (0.0 without any);
    * ``revenue_90d_by_currency``: only when their amounts are in more than one currency (orders without one counted
      as their own, under the key :data:`UNKNOWN_CURRENCY`, ``"unknown"``): ``{code: sum}`` of every currency, so
      none is hidden; ``revenue_90d`` is its ``currency`` entry;
    * ``last_order_at``: epoch ms of the latest order kept (any age), when there is one; ``lifecycle_stage``: the
      CRM stage, when known.

    Each sum is rounded to 2 decimals and saturates at the largest double (amounts are finite each, the message
    contract wants a number, and JSON has no infinity).  Orders without a numeric amount count in ``orders_90d``
    only.  Returns a new dict; raises nothing for a well-formed state."""
    lo = now - 90 * DAY
    n = 0
    by: dict[Any, list] = {}  # currency (None: unknown) -> amounts, in time order
    cur = None
    for o in state.orders:  # (time-sorted: the last order with an amount and a currency sets ``cur``)
        if lo < o[0] <= now:
            n += 1
            amount = o[2] if len(o) > 2 else None
            if isinstance(amount, (int, float)):
                c = o[4] if len(o) > 4 else None
                by.setdefault(c, []).append(amount)
                if c is not None:
                    cur = c
    v: dict[str, Any] = {"orders_90d": n, "revenue_90d": _total(by.get(cur, ()))}
    if cur is not None:
        v["currency"] = cur
    if len(by) > 1:
        v["revenue_90d_by_currency"] = {UNKNOWN_CURRENCY if c is None else c: _total(a) for c, a in by.items()}
    if state.orders:
        v["last_order_at"] = state.orders[-1][0]
    if state.lifecycle:
        v["lifecycle_stage"] = state.lifecycle
    return v


def _total(amounts: Any) -> float:
    """``amounts`` (numbers) summed, at most the largest double, rounded to 2 decimals."""
    return round(min(float(sum(amounts)), _MAX_DOUBLE), 2)
