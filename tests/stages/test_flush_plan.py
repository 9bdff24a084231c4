"""The flush plan of a streaming customer key around identity merges (issue 23.4), as a pure function."""
from __future__ import annotations

from journeyflow.model.events import Event
from journeyflow.stages.identity.flush_plan import plan_flush
from journeyflow.stages.identity.online import ABSORB, IDENTITY_STREAM, MERGE_FROM, MERGE_INTO

T = 1_791_194_400_000
WAIT = 30_000


def web(uid: str, ts: int, *ids: str) -> Event:
    return Event(uid, "web", "page_view", ts, ids, {}, {})


def merge_from(ts: int) -> Event:
    return Event("mergefrom:anon:d:web/l", IDENTITY_STREAM, MERGE_FROM, ts, ("crm:U",),
                 {"from": "anon:d", "members": ["anon:d"]})


def absorb(ts: int) -> Event:
    return Event("absorb:anon:d:x", IDENTITY_STREAM, ABSORB, ts, ("crm:U",), {"from": "anon:d", "state": ""})


def test_the_survivor_holds_after_the_link_until_the_absorb_arrives():
    evs = [web("a", T - 5, "crm:U"), merge_from(T), web("b", T + 1, "crm:U")]
    plan = plan_flush(evs, T + 2, "crm:U", WAIT)
    assert [e.uid for e in plan.main] == ["a"] and plan.hold is evs[1] and plan.until == T - 1
    assert {e.uid for e in plan.keep} == {evs[1].uid, "b"} and plan.next_at == T + WAIT
    plan = plan_flush(plan.keep + [absorb(T)], T + 2, "crm:U", WAIT)  # arrived: merged at the link's time, in order
    assert sorted(e.uid for e in plan.main[:2]) == ["absorb:anon:d:x", evs[1].uid] and plan.main[2].uid == "b"
    assert plan.hold is None


def test_the_survivor_goes_on_without_the_absorb_after_the_wait():
    evs = [merge_from(T), web("b", T + 1, "crm:U")]
    plan = plan_flush(evs, T + WAIT, "crm:U", WAIT)
    assert [e.uid for e in plan.main] == [evs[0].uid, "b"] and plan.timed_out == [evs[0]]


def test_older_events_of_the_absorbed_identifiers_go_to_a_sub_profile():
    cart = web("cart", T - 1000, "anon:d")  # keyed to the survivor because the link arrived first
    own = web("own", T - 500, "crm:U")
    evs = [cart, own, merge_from(T), absorb(T)]
    early = plan_flush(evs, T - 1, "crm:U", WAIT)  # the link's time not reached: the cart waits for it
    assert [e.uid for e in early.main] == ["own"] and cart in early.keep and early.next_at == T
    plan = plan_flush(early.keep, T, "crm:U", WAIT)
    assert plan.subs == [(evs[2], [cart])] and cart not in plan.main


def test_the_absorbed_key_forwards_what_it_held_past_the_link():
    mi = Event("merge:anon:d:web/l", IDENTITY_STREAM, MERGE_INTO, T, ("anon:d",), {"into": "crm:U"})
    later = web("cart", T + 1000, "anon:d")  # arrived before the link
    plan = plan_flush([later, mi, web("x", T - 1, "anon:d")], T, "anon:d", WAIT)
    assert [e.uid for e in plan.main] == ["x", mi.uid] and plan.forward == (mi, [later]) and plan.keep == []
