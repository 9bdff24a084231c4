"""``state_bounds.expire_state``'s session-21 paths give what the plain rules give (issue 22, no behaviour change):
``seen`` and ``purchases`` are cut as ``_recent`` cuts them (the pass skips the call when a few entries have nothing
to drop), the address statuses as before (one pass, deletions after it), the journeys by ``expire_journeys``, and the
windows read once per ``Retention`` follow a new ``Retention``."""
from __future__ import annotations

import copy
import random

from journeyflow.stages.state import CustomerState, Retention
from journeyflow.stages.state_bounds import _recent, expire_journeys, expire_state

DAY = 86_400_000
NOW = 400 * DAY


def _soft_ts(t):
    return t[0] if isinstance(t, list) else t


def _reference_address_status(s: CustomerState, now: int, soft_bounces_ms: int) -> None:
    """``deliverability.expire_address_status`` before session 21."""
    lo = now - soft_bounces_ms
    for key in list(s.addr_status):
        per = s.addr_status[key]
        for ch in list(per):
            rec = per[ch]
            if rec[3] and _soft_ts(rec[3][0]) <= lo:
                rec[3] = [t for t in rec[3] if _soft_ts(t) > lo]
            if rec[0] is None and rec[2] is None and not rec[3]:
                del per[ch]
        if not per:
            del s.addr_status[key]


def _times(rng: random.Random, n: int, span: int) -> dict[str, int]:
    return {f"k{rng.randrange(40)}": NOW - rng.randrange(span) for _ in range(n)}


def _state(rng: random.Random) -> CustomerState:
    s = CustomerState(customer_id="c1")
    s.seen = _times(rng, rng.choice([0, 1, 3, 10, 16, 17, 30]), 4 * DAY)
    s.purchases = _times(rng, rng.choice([0, 1, 3, 16, 17, 30]), 60 * DAY)
    for i in range(rng.randrange(4)):
        per = s.addr_status.setdefault(f"email:{i}", {})
        for ch in rng.sample(["email", "sms", "call"], rng.randrange(3)):
            soft = sorted(NOW - rng.randrange(60 * DAY) for _ in range(rng.randrange(3)))
            per[ch] = [rng.choice([None, "opt_in", "opt_out"]), NOW - DAY, rng.choice([None, NOW - 2 * DAY]), soft]
    for j in rng.sample(["a", "b", "gone"], rng.randrange(4)):
        entries = sorted(NOW - rng.randrange(400 * DAY) for _ in range(rng.randrange(4)))
        s.journeys[j] = {"step": rng.choice([None, "w"]), "entered": entries[-1] if entries else None,
                         "entries": entries, **({"n": 1} if rng.random() < 0.3 else {})}
    return s


def test_expire_state_cuts_as_the_plain_rules_do():
    rng = random.Random(2112)
    for i in range(3000):
        r = Retention(max_seen=rng.choice([2, 5, 500]), max_purchases=rng.choice([2, 50]),
                      max_entries_per_journey=rng.choice([1, 20]),
                      journey_ids=rng.choice([None, frozenset({"a", "b"})]))
        s = _state(rng)
        want = copy.deepcopy(s)
        want.seen = _recent(want.seen, NOW - r.seen_ms, r.max_seen) if want.seen else want.seen
        want.purchases = (_recent(want.purchases, NOW - r.purchases_ms, r.max_purchases) if want.purchases
                          else want.purchases)
        _reference_address_status(want, NOW, r.soft_bounces_ms)
        if want.journeys:
            expire_journeys(want.journeys, NOW, r)
        expire_state(s, NOW, r)
        assert s.expired_at == NOW
        assert list(s.seen.items()) == list(want.seen.items()), i
        assert list(s.purchases.items()) == list(want.purchases.items()), i
        assert s.addr_status == want.addr_status and list(s.addr_status) == list(want.addr_status), i
        assert s.journeys == want.journeys, i


def test_the_windows_follow_a_new_retention():
    s1, s2 = CustomerState(customer_id="c1"), CustomerState(customer_id="c2")
    s1.seen, s2.seen = {"u1": NOW - 3 * DAY, "u2": NOW - DAY // 2}, {"u1": NOW - 3 * DAY, "u2": NOW - DAY // 2}
    expire_state(s1, NOW, Retention(seen_ms=2 * DAY))
    expire_state(s2, NOW, Retention(seen_ms=4 * DAY))
    assert list(s1.seen) == ["u2"] and list(s2.seen) == ["u1", "u2"]
