"""CustomerState: facts, windows, expiry, merge (commutative union) and versioned encoding."""
from __future__ import annotations

import random

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.state import DAY, HOUR, STATE_VERSION, CustomerState, Retention

T0 = 1_790_000_000_000


def ev(stream, type_, ts, ids=("crm:C1",), uid=None, **attrs):
    return Event(uid or f"{stream}/{type_}/{ts}", stream, type_, ts, tuple(ids), attrs, {})


def test_facts_from_each_stream():
    s = CustomerState(customer_id="crm:C1")
    s.apply(ev("crm", "contact_created", T0, timezone="Europe/Paris", lifecycle_stage="lead", owner_id="o1"))
    s.apply(ev("consent", "consent_granted", T0 + 1, channel="email", status="granted"))
    s.apply(ev("web", "product_view", T0 + 2, product_id="SKU-1"))
    s.apply(ev("web", "add_to_cart", T0 + 3, product_id="SKU-1"))
    s.apply(ev("support", "ticket_opened", T0 + 4, ticket_id="T1", severity="high"))
    assert s.tz == "Europe/Paris" and s.lifecycle == "lead" and s.owner_id == "o1"
    assert s.has_consent("email") and not s.has_consent("sms")
    assert s.cart == {"SKU-1": T0 + 3} and len(s.open_tickets_at(T0 + 4)) == 1
    s.apply(ev("orders", "order_placed", T0 + 5, order_id="O1", product_ids=["SKU-1"], amount=10.0))
    assert s.cart == {} and s.bought_within("SKU-1", T0 + 6, 30 * DAY)
    s.apply(ev("support", "ticket_escalated", T0 + 6, ticket_id="T1"))
    assert s.has_escalated_ticket()
    s.apply(ev("support", "ticket_resolved", T0 + 7, ticket_id="T1", csat=2))
    assert len(s.open_tickets_at(T0 + 7)) == 0 and s.last_ticket_resolved() == T0 + 7
    s.apply(ev("engagement", "unsubscribed", T0 + 8, channel="email"))
    assert s.consent_status("email") == "unsubscribed" and not s.has_consent("email")


def test_consent_is_last_write_in_event_time_and_blocking_wins_ties():
    a, b = CustomerState(), CustomerState()
    grant = ev("consent", "consent_granted", T0 + 10, channel="sms", status="granted")
    revoke = ev("consent", "consent_revoked", T0 + 10, channel="sms", status="revoked")
    older_grant = ev("consent", "consent_granted", T0, channel="sms", status="granted")
    for e in (grant, revoke, older_grant):
        a.apply(e)
    for e in (older_grant, revoke, grant):
        b.apply(e)
    assert a.consent == b.consent == {"sms": ["revoked", T0 + 10]}


def test_sliding_windows_count_only_inside_the_window():
    s = CustomerState()
    for i in range(5):
        s.record_send(T0 + i * 12 * HOUR, "email", "marketing", f"c{i}")
    now = T0 + 4 * 12 * HOUR
    assert s.sends_within(now, DAY) == 2  # sends at now-12h and now (now-24h is outside: window is (now-24h, now])
    assert s.sends_within(now, 7 * DAY) == 5
    assert s.sends_within(now, 7 * DAY, channel="sms") == 0
    assert s.content_sent_within("c4", now, DAY) == ["email"]


def test_expire_drops_old_entries_and_a_silent_customer_keeps_almost_nothing():
    s = CustomerState(customer_id="crm:C1")
    s.apply(ev("crm", "contact_created", T0, timezone="UTC"))
    s.apply(ev("consent", "consent_granted", T0, channel="email", status="granted"))
    for i in range(40):
        t = T0 + i * HOUR
        s.apply(ev("web", "product_view", t, product_id=f"SKU-{i}", uid=f"web/{i}"))
        s.apply(ev("orders", "order_placed", t, order_id=f"O{i}", product_ids=[f"SKU-{i}"], uid=f"orders/{i}"))
        s.record_send(t, "email", "marketing", "x")
        s.is_duplicate(ev("web", "page_view", t, uid=f"dup/{i}"))
    busy = len(s.to_bytes())
    s.expire(T0 + 365 * DAY)
    quiet = len(s.to_bytes())
    assert not (s.views or s.sends or s.orders or s.purchases or s.seen)
    assert s.has_consent("email") and s.tz == "UTC"
    assert quiet < 300 < busy


def _random_state(rng: random.Random, cid: str) -> CustomerState:
    s = CustomerState(customer_id=cid)
    for i in range(rng.randint(0, 20)):
        t = T0 + rng.randint(0, 10 * DAY)
        kind = rng.choice(["view", "cart", "order", "ticket", "resolve", "consent", "send"])
        if kind == "view":
            s.apply(ev("web", "product_view", t, ids=(cid,), uid=f"{cid}/{i}", product_id=f"P{rng.randint(1, 5)}"))
        elif kind == "cart":
            s.apply(ev("web", "add_to_cart", t, ids=(cid,), uid=f"{cid}/{i}", product_id=f"P{rng.randint(1, 5)}"))
        elif kind == "order":
            s.apply(ev("orders", "order_placed", t, ids=(cid,), uid=f"{cid}/{i}", order_id=f"{cid}-O{i}",
                       product_ids=[f"P{rng.randint(1, 5)}"]))
        elif kind == "ticket":
            s.apply(ev("support", "ticket_opened", t, ids=(cid,), uid=f"{cid}/{i}", ticket_id=f"T{rng.randint(1, 3)}"))
        elif kind == "resolve":
            s.apply(ev("support", "ticket_resolved", t, ids=(cid,), uid=f"{cid}/{i}", ticket_id=f"T{rng.randint(1, 3)}"))
        elif kind == "consent":
            st = rng.choice(["granted", "revoked"])
            s.apply(ev("consent", f"consent_{st}", t, ids=(cid,), uid=f"{cid}/{i}", channel=rng.choice(["email", "sms"]),
                       status=st))
        else:
            s.record_send(t, rng.choice(["email", "sms"]), "marketing", f"c{rng.randint(1, 3)}")
    return s


@pytest.mark.parametrize("seed", range(30))
def test_merge_is_commutative_and_idempotent(seed):
    rng = random.Random(seed)
    a, b = _random_state(rng, "crm:C1"), _random_state(rng, "anon:d1")
    ab, ba = a.merge(b), b.merge(a)
    assert ab.to_dict() == ba.to_dict()
    assert ab.customer_id == "anon:d1" or ab.customer_id == min("crm:C1", "anon:d1")
    assert ab.merge(ab).to_dict() == ab.to_dict()


def test_encoding_round_trip_and_version_check():
    s = _random_state(random.Random(1), "crm:C9")
    s.schedule(T0 + HOUR, "t1", "journey", {"j": "x"})
    s.schedule(T0 + HOUR, "t1", "journey", {"j": "x"})  # idempotent
    assert len(s.timers) == 1
    back = CustomerState.from_bytes(s.to_bytes())
    assert back.to_dict() == s.to_dict()
    d = s.to_dict()
    d["v"] = STATE_VERSION + 1
    with pytest.raises(ValueError, match="unsupported customer state version"):
        CustomerState.from_dict(d)


def test_timers_pop_in_time_order_and_cancel():
    s = CustomerState()
    for due, tid in [(30, "c"), (10, "a"), (20, "b")]:
        s.schedule(due, tid, "journey", {"j": tid})
    assert s.next_due() == 10
    assert s.cancel_timers("journey", j="b") == 1
    assert [s.pop_due(100)[1] for _ in range(2)] == ["a", "c"]
    assert s.pop_due(100) is None


def test_retention_caps_list_lengths():
    r = Retention(max_views=5)
    s = CustomerState()
    for i in range(20):
        s.apply(ev("web", "product_view", T0 + i, uid=f"v{i}", product_id="P"))
    s.expire(T0 + 100, r)
    assert len(s.views) == 5 and s.views[-1][0] == T0 + 19


def test_state_stays_bounded_through_a_year_of_activity():
    """Through the real processor (journeys, arbitration, timers): a very active customer's state stops growing
    once its windows are full, and stays under 2 KB."""
    from journeyflow.config.engine import EngineConfig
    from journeyflow.stages.bounded import ClusterFold

    fold = ClusterFold(EngineConfig.from_files().build_processor())
    events = [ev("crm", "contact_created", T0, uid="crm/c", timezone="Europe/Paris"),
              ev("consent", "consent_granted", T0 + 1, uid="consent/1", channel="email", status="granted")]
    n = 0
    for day in range(365):
        for h in range(12):
            kind = ["product_view", "product_view", "add_to_cart", "page_view"][h % 4]
            events.append(ev("web", kind, T0 + day * DAY + (8 + h) * HOUR, uid=f"web/{n}", product_id=f"SKU-{n % 37}"))
            n += 1
        if day % 3 == 0:
            events.append(ev("orders", "order_placed", T0 + day * DAY + 20 * HOUR, uid=f"orders/{day}",
                             order_id=f"O{day}", product_ids=[f"SKU-{day % 37}"], amount=10.0))
    sizes = {}
    for horizon_days in (60, 365):
        cut = [e for e in events if e.ts < T0 + horizon_days * DAY]
        out = fold.run([(e, ()) for e in cut], cut[-1].ts)
        sizes[horizon_days] = len(next(iter(out.final_states.values())).to_bytes())
    assert sizes[365] <= 2048
    assert sizes[365] <= sizes[60] * 1.25, sizes  # a year holds about what two months hold: entries expire
