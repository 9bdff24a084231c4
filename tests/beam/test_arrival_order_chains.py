"""Identity chains whose links arrive in another order than their event times (issue 23.4, two merges at one key).

An anonymous device logs in with an email (10.0 s), adds a cart (10.2 s), and the CRM record naming that email
arrives at 11.0 s: replay decides the cart under the email's customer (the CRM id joins it only at 11 s).  When the
CRM record *arrives* first, the store already has the email under the CRM id, so the device's link reaches the CRM
customer as a ``merge_from`` at 10.0 s: the flush plan used to decide the cart in the CRM customer's own state (a
different customer id and, there, no address: ``no_address`` instead of replay's ``consent``).  The plan now replays
the key's links in event time (``merge_from`` carries its link ``pair``; links of merges already applied stay in the
buffer while events wait).  Every arrival order, on the real resolution, DoFn and transfer loop in process.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from tests.beam.test_arrival_order import LATENESS, T, Loop, bounded_decisions, key, parse


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def chain_records(base: int) -> tuple[list, list]:
    """(facts, the three records whose arrival order varies)."""
    facts = [("consent", {"event_id": "k1", "ts": iso(base + 1000), "crm_id": "U1", "channel": "email",
                          "status": "granted"})]
    varying = [
        ("web", {"event_id": "el1", "ts": iso(base + 10_000), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
        ("web", {"event_id": "cart1", "ts": iso(base + 10_200), "anonymous_id": "d1", "type": "add_to_cart",
                 "product_id": "SKU-1"}),
        ("crm", {"event_id": "c1", "ts": iso(base + 11_000), "crm_id": "U1", "email": "ann@example.com",
                 "type": "contact_created", "lifecycle_stage": "customer", "timezone": "UTC"}),
    ]
    return facts, varying


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_chain_gives_the_replay_decisions_whatever_the_arrival_order(order):
    facts, varying = chain_records(T)
    events = parse(facts + varying)
    fevs, pevs = events[:1], events[1:]
    loop = Loop(f"memory://chain-{''.join(map(str, order))}")
    for ev in fevs:
        loop.arrive(ev, ev.ts + 100)
    at = max(e.ts for e in pevs) + 100
    for k, idx in enumerate(order):  # 0.35 s apart, the last within 0.8 s of the latest event time (< lateness)
        loop.arrive(pevs[idx], at + 350 * k)
    until = at + 120_000
    loop.finish(until)
    want = bounded_decisions(events, until - LATENESS)
    assert sorted(key(d) for d in loop.decisions) == want
    assert loop.dead == []
    # the cart is the email customer's at 10.2 s (no consent of its own yet): replay's reason
    assert [(d.customer_id.split(":")[0], d.action, d.reason_codes) for d in loop.decisions] == \
        [("email", "suppress", ("consent",))]
