"""An event dated before the link that merged its customer away, arriving after that link (inside the allowed
lateness), is decided in that customer's own state, as replay decides it (issue 23.4, customers with a history).

An email-only customer logs in on a device and grants email consent; it adds a cart (a send at once) and, two
seconds after the cart, the CRM record naming the email arrives.  Replay sends the cart email to the email
customer (its consent).  When the CRM record *arrives* before the cart, the store already has the device under the
CRM id: streaming used to key the cart to the CRM customer, whose flush plan decided it in an *empty* sub-profile
under the email id (no consent: suppressed ``consent``, and no address) instead of the email customer's state.
Events are now keyed by the customer their identifier belonged to at the event's time (``IdentityStore.root_at``):
the cart goes to the email customer's key, before its hand-over.  Every arrival order; SQLite and memory stores.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from tests.beam.test_arrival_order import LATENESS, T, Loop, bounded_decisions, key, parse


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def history_records(base: int) -> tuple[list, list]:
    """(the email customer's history, the three records whose arrival order varies: cart, a page view, the CRM
    record 2 s after the cart)."""
    facts = [
        ("web", {"event_id": "l1", "ts": iso(base), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
        ("consent", {"event_id": "k1", "ts": iso(base + 1000), "email": "ann@example.com", "channel": "email",
                     "status": "granted"}),
    ]
    at = base + 10_000
    varying = [
        ("web", {"event_id": "cart1", "ts": iso(at), "anonymous_id": "d1", "type": "add_to_cart",
                 "product_id": "SKU-1"}),
        ("web", {"event_id": "pv1", "ts": iso(at + 500), "anonymous_id": "d1", "type": "page_view", "url": "/"}),
        ("crm", {"event_id": "c9", "ts": iso(at + 2000), "crm_id": "C9", "email": "ann@example.com",
                 "type": "contact_created", "lifecycle_stage": "customer", "timezone": "UTC"}),
    ]
    return facts, varying


def run(order, store: str) -> tuple[list, list, list]:
    facts, varying = history_records(T)
    events = parse(facts + varying)
    fevs, pevs = events[:len(facts)], events[len(facts):]
    loop = Loop(store)
    for ev in fevs:
        loop.arrive(ev, ev.ts + 100)
    at = max(e.ts for e in pevs) + 100
    for k, idx in enumerate(order):  # 0.3 s apart: the last within 0.8 s of the latest event time (< lateness)
        loop.arrive(pevs[idx], at + 300 * k)
    until = at + 5000
    loop.finish(until)
    return loop.decisions, loop.dead, bounded_decisions(events, until - LATENESS)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_an_event_before_the_link_is_decided_in_its_customers_own_state(order, tmp_path):
    decisions, dead, want = run(order, f"sqlite://{tmp_path}/ids.db")
    assert sorted(key(d) for d in decisions) == want
    assert dead == []
    cart = [(d.customer_id.split(":")[0], d.action, d.address, d.reason_codes) for d in decisions
            if d.trigger_event_id == "web/cart1" and d.action != "wait"]
    # the cart is the email customer's (the CRM id joins it 2 s later): sent to its address with its consent
    # (before: suppressed ``consent`` in an empty sub-profile when the CRM record arrived first)
    assert cart == [("email", "send", "ann@example.com", ("chosen",))]


def test_the_memory_store_keys_by_the_customer_at_the_events_time():
    decisions, dead, want = run((2, 0, 1), "memory://history-memory")
    assert sorted(key(d) for d in decisions) == want and dead == []
