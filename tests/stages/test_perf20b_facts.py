"""``CustomerState.facts`` (``stages.state_facts``, plain loops since session 20) gives what the expressions it
replaced give, for random states: ids with and without a CRM id, consent records (granted, revoked, empty), open and
stale tickets (escalated, high, critical), cart lines, orders, views and sends inside, at the edge of and outside
their windows, activity times and payment failures."""
from __future__ import annotations

import random
from typing import Any

from journeyflow.model.decisions import CHANNELS
from journeyflow.stages.state import CART_MS, DAY, CustomerState

NOW = 1_790_000_000_000


def _reference(s: CustomerState, now: int, stale_ms: int | None = None) -> dict[str, Any]:
    """``CustomerState.facts`` before session 20."""
    last_order = s.orders[-1][0] if s.orders else None
    tickets = s.open_tickets_at(now, stale_ms)
    return {
        "customer_id": s.customer_id,
        "lifecycle_stage": s.lifecycle or "",
        "timezone": s.tz or "",
        "has_crm_id": any(k.startswith("crm:") for k in s.ids),
        "consent": {ch: s.has_consent(ch) for ch in CHANNELS},
        "open_tickets": len(tickets),
        "escalated_tickets": sum(1 for t in tickets if t[2]),
        "open_high_tickets": sum(1 for t in tickets if t[0] in ("high", "critical")),
        "cart_size": sum(1 for t in s.cart.values() if now - CART_MS < t <= now),
        "orders_90d": sum(1 for o in s.orders if now - 90 * DAY < o[0] <= now),
        "days_since_last_order": -1 if last_order is None else (now - last_order) // DAY,
        "days_since_last_activity": -1 if s.last_activity is None else (now - s.last_activity) // DAY,
        "payment_failed": s.payment_failed is not None,
        "views_7d": sum(1 for ts, _ in s.views if now - 7 * DAY < ts <= now),
        "messages_24h": s.sends_within(now, DAY),
        "messages_7d": s.sends_within(now, 7 * DAY),
    }


def _when(rng: random.Random, span: int) -> int:
    """A time around the window ``span`` before NOW: inside, on its edges, outside, or after NOW."""
    return NOW - rng.choice((0, 1, span - 1, span, span + 1, span // 2, 2 * span, -1, -DAY))


def _state(rng: random.Random) -> CustomerState:
    s = CustomerState(customer_id="crm:x", lifecycle=rng.choice((None, "", "lead")), tz=rng.choice((None, "UTC")))
    s.ids = sorted(rng.sample(["crm:a", "email:b", "anon:c", "phone:d", "crmx:e"], rng.randint(0, 4)))
    for ch in rng.sample(list(CHANNELS), rng.randint(0, len(CHANNELS))):
        s.consent[ch] = rng.choice((["granted", 1], ["revoked", 2], [], ["unsubscribed", 3]))
    for i in range(rng.randint(0, 4)):
        s.tickets[f"t{i}"] = [rng.choice(("low", "high", "critical", None)), NOW - DAY, rng.choice((0, 1, NOW)),
                              _when(rng, 3 * DAY)]
    s.cart = {f"p{i}": _when(rng, CART_MS) for i in range(rng.randint(0, 5))}
    s.orders = sorted([_when(rng, 90 * DAY), f"o{i}", 9.5, []] for i in range(rng.randint(0, 5)))
    s.views = sorted([_when(rng, 7 * DAY), f"p{i % 3}"] for i in range(rng.randint(0, 8)))
    s.sends = sorted([rng.choice((_when(rng, DAY), _when(rng, 7 * DAY))), rng.choice(CHANNELS), "c", None]
                     for _ in range(rng.randint(0, 8)))
    s.last_activity = rng.choice((None, NOW - 3 * DAY - 5, NOW))
    s.payment_failed = rng.choice((None, NOW - DAY))
    return s


def test_facts_equal_the_expressions_they_replaced():
    rng = random.Random(2020)
    for _ in range(3000):
        s = _state(rng)
        stale = rng.choice((None, DAY, 3 * DAY))
        got = s.facts(NOW, stale)
        want = _reference(s, NOW, stale)
        assert got == want and list(got) == list(want)
        assert all(type(got[k]) is type(want[k]) for k in want)


def test_each_fact_read_alone_is_that_fact():
    """``state_facts.fact`` (a condition's ``customer.<fact>``, worked out alone since session 20) is the value of
    ``facts`` for every key, of the same type; the ``customer`` of a condition's context reads it."""
    import pytest

    from journeyflow.stages.journeys.context import _Ctx
    from journeyflow.stages.state_facts import fact
    rng = random.Random(2021)
    for _ in range(1500):
        s = _state(rng)
        stale = rng.choice((None, DAY, 3 * DAY))
        want = s.facts(NOW, stale)
        customer = _Ctx(s, NOW, None, None, stale_ms=stale).customer_activation()["customer"]
        for k, v in want.items():
            got = fact(s, k, NOW, stale)
            assert got == v and type(got) is type(v), k
            assert customer[k] == v and type(customer[k]) is type(v), k
    with pytest.raises(KeyError):
        fact(CustomerState(), "views_30d", NOW)
