"""The same login pair seen again with an *earlier* event time, arriving after the later one was applied (issue
23.4; a known limitation until now).

A customer known by email (with email consent) logs in on device ``d1`` at 10 s and again at 11 s, and adds a cart
on ``d1`` at 10.5 s (a send at once).  Replay: the device joins the email customer at 10 s, so the cart is the email
customer's and is sent.  When the 11 s login arrives first, the store records the device's merge at 11 s and the
10 s login (the same pair, already joined) changed nothing: the cart was decided under the device id (no consent:
suppressed).  Now a link between identifiers already joined, dated before the merge that joined them, moves that
merge back to its time (``IdentityStore.rejoin``) and sends the control events again at that time; a later
``merge_into`` of the absorbed key is stale and never forwarded.  Every arrival order; memory and SQLite stores.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from tests.beam.test_arrival_order import LATENESS, T, bounded_decisions, key, parse
from tests.beam.test_handover_to_merged_customer import RoutedLoop


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def records(base: int) -> list:
    return [
        ("consent", {"event_id": "k1", "ts": iso(base), "email": "ann@example.com", "channel": "email",
                     "status": "granted"}),
        ("web", {"event_id": "l0", "ts": iso(base + 1000), "anonymous_id": "d0", "type": "login",
                 "email": "ann@example.com"}),
        ("web", {"event_id": "l1", "ts": iso(base + 10_000), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
        ("web", {"event_id": "a1", "ts": iso(base + 10_500), "anonymous_id": "d1", "type": "add_to_cart",
                 "product_id": "SKU-1"}),
        ("web", {"event_id": "l2", "ts": iso(base + 11_000), "anonymous_id": "d1", "type": "login",
                 "email": "ann@example.com"}),
    ]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_a_repeated_login_pair_arriving_late_with_an_earlier_time_gives_the_replay_decisions(order, store,
                                                                                             tmp_path):
    events = parse(records(T))
    url = (f"memory://repeated-pair-{''.join(map(str, order))}" if store == "memory"
           else f"sqlite://{tmp_path}/ids.db")
    loop = RoutedLoop(url)
    for ev in events[:2]:
        loop.arrive(ev, ev.ts + 100)
    at = events[-1].ts + 100
    for k, i in enumerate(order):  # 0.3 s apart, within the 3 s allowed lateness
        loop.arrive(events[2 + i], at + 300 * k)
    until = at + 5000
    loop.finish(until)
    assert sorted(key(d) for d in loop.decisions) == bounded_decisions(events, until - LATENESS)
    assert loop.dead == []
    cart = [(d.customer_id.split(":")[0], d.action) for d in loop.decisions if d.trigger_event_id == "web/a1"
            and d.action != "wait"]
    assert cart == [("email", "send")]  # before: ("anon", "suppress") when the 11 s login arrived first

