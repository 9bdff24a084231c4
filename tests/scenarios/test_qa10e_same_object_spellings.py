"""``same_as_entry`` on a property path compares ids in their one spelling, as the built-in object ids are read.

Segment sources write one id as a JSON number in one event and as a string in another (Shopify's ``order_id``
12345 in ``Order Completed``, the carrier's "12345" in ``Order Delivered``; a subscription id typed by a backend in
one place and a tag template in another), or padded with a space from a CSV export.  The built-in ids
(``order_id``, ``ticket_id`` ...) are read as one spelling (``stages/object_ids.py``: integers as their digits,
surrounding whitespace and invisible characters dropped), but a ``same_as_entry: properties.<id>`` trigger compared
the raw values: the review request waiting for *its* order's delivery never came (``12345 != "12345"``), and,
worse, a trial's reminders went on after *its* subscription was cancelled (the exit never matched: fail unsafe).
A different id still does not match.  Replayed through the public replay API (``run_replay``).
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, T0, decisions_of, replay_scenario

D, H = td(days=1), td(hours=1)

JOURNEYS = """version: 1
journeys:
  - id: review_request
    name: Review request after the order's delivery
    category: marketing
    priority: 200
    entry: {event: order_placed, stream: orders}
    reentry: {mode: always}
    max_duration: 30d
    steps:
      - id: wait_delivery
        wait: {until: Order Delivered, stream: track, same_as_entry: properties.order_id, timeout: 14d,
               on_event: ask, on_timeout: done}
      - {id: ask, send: {channel: email, content_id: review_ask}}
      - {id: done, exit: true}
  - id: trial_nudge
    name: Trial nudge, unless the trial's subscription was cancelled
    category: marketing
    priority: 300
    entry: {event: Trial Started, stream: track}
    exit:
      - {event: Subscription Cancelled, stream: track, same_as_entry: properties.subscription_id}
    reentry: {mode: always}
    steps:
      - {id: wait_3d, wait: 3d}
      - {id: nudge, send: {channel: email, content_id: trial_nudge}}
"""

#: (customer, the id in the first event, the id in the second event, do they name one object?)
PAIRS = [
    ("STR", "5001", "5001", True),
    ("INT_STR", 5002, "5002", True),
    ("STR_INT", "5003", 5003, True),
    ("INT_FLOAT", 5004, 5004.0, True),
    ("PADDED", "A-5", " A-5\u200b", True),
    ("OTHER", 5006, "5007", False),
]


def _track(s: Scenario, at, user: str, event: str, mid: str, **properties) -> None:
    s.records["track"].append({"type": "track", "messageId": mid, "event": event, "userId": user,
                               "timestamp": (T0 + at).isoformat(), "properties": properties})


def build() -> Scenario:
    s = Scenario()
    for name, first, second, _ in PAIRS:
        r, t = f"R_{name}", f"T_{name}"
        s.contact(-30 * D, r, email=f"{r.lower()}@example.com")
        _track(s, td(0), r, "Order Completed", f"oc-{r}", order_id=first, total=20.0,
               products=[{"product_id": "SKU-1"}])
        _track(s, 2 * D, r, "Order Delivered", f"od-{r}", order_id=second)
        s.contact(-30 * D, t, email=f"{t.lower()}@example.com")
        _track(s, td(0), t, "Trial Started", f"ts-{t}", subscription_id=first)
        _track(s, D, t, "Subscription Cancelled", f"sc-{t}", subscription_id=second)
    return s


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    return replay_scenario(build(), tmp_path_factory.mktemp("qa10e_same_object"), JOURNEYS)[1]


def _sent(audit, customer: str, content: str) -> int:
    return sum(1 for d in decisions_of(audit, customer) if d["action"] == "send" and d["content_id"] == content)


@pytest.mark.parametrize("name, first, second, same", PAIRS, ids=[p[0] for p in PAIRS])
def test_the_delivery_of_the_order_resumes_its_review_request(audit, name, first, second, same):
    assert _sent(audit, f"crm:R_{name}", "review_ask") == (1 if same else 0)


@pytest.mark.parametrize("name, first, second, same", PAIRS, ids=[p[0] for p in PAIRS])
def test_the_cancellation_of_the_trials_subscription_ends_its_nudges(audit, name, first, second, same):
    assert _sent(audit, f"crm:T_{name}", "trial_nudge") == (0 if same else 1)
