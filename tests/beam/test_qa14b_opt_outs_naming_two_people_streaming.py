"""qa14b in streaming: an opt-out keyed by B's CRM id that also names A's device, address or number opts out A too,
whenever and in whatever order the device's link to A arrives, late too; the streaming decisions are the replay's.
(The fault and the replay side: tests/stages/test_qa14b_opt_outs_naming_two_people.py.)"""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam.test_handover_to_merged_customer import RoutedLoop
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events, streamed_offers
from tests.stages.test_qa13c_anonymous_opt_outs import EARLIER, LATER, T, identify, login
from tests.stages.test_qa14b_opt_outs_naming_two_people import A_NUMBER, A_PHONE, ANN, BASE, opt_out

CASES = {
    "consent revoke, login after": [opt_out("consent revoke", anonymous_id="dev-9"), login(LATER)],
    "unsubscribed, login at the same ms": [opt_out("unsubscribed", anonymous_id="dev-9"), login(T)],
    "complained, login at the same ms, arriving first": [login(T), opt_out("complained", anonymous_id="dev-9")],
    "consent revoke, login before": [login(EARLIER), opt_out("consent revoke", anonymous_id="dev-9")],
    "Segment Unsubscribed, identify after": [opt_out("Segment Unsubscribed", anonymous_id="dev-9"),
                                             identify(LATER)],
    "unsubscribed naming A's address": [opt_out("unsubscribed", email=ANN)],
    "consent revoke naming A's number": [opt_out("consent revoke", phone=A_PHONE)],
}


def story(case: str):
    # in time order; records of one millisecond in the order listed (the order they are fed in)
    return sorted(events(BASE + A_NUMBER + CASES[case]), key=lambda e: e.ts)


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_opt_out_naming_two_people_blocks_both_in_streaming(case, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story(case)
    assert offered(evs) == set()
    # before: {"crm:A"} (B alone was opted out); the decisions are the replay's (streamed_offers checks)
    assert streamed_offers(Loop(f"memory://qa14b-{abs(hash(case))}"), evs) == set()


@pytest.mark.parametrize("kind", ["consent revoke", "unsubscribed"])
def test_a_late_opt_out_naming_a_merged_away_device_blocks_its_survivor(kind, monkeypatch):
    """The device was linked to A (login on the 25th) before the opt-out dated the 20th arrived (on the 26th,
    far behind A's processed horizon): the device's customer at the opt-out's time was merged into A already, so
    the copy goes to A as well and is applied at A's next moment; B decides the record itself (B's key is not past
    its time).  No dead letter: a copy is never a late event (decided + dead letters = records read)."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(BASE + [login(LATER)]), key=lambda e: e.ts)
    (oo,) = events([opt_out(kind, anonymous_id="dev-9")])
    loop = RoutedLoop(f"memory://qa14b-late-{kind.replace(' ', '-')}")
    loop.to = Loop.to.__get__(loop)  # (hour steps: the story spans weeks)
    arrive_oo = next(e.ts for e in evs if e.uid == "web/l1") + 86_400_000  # after the login, before 5 Oct's views
    for ev in evs:
        if oo is not None and ev.ts > arrive_oo:
            loop.arrive(oo, arrive_oo)
            oo = None
        loop.arrive(ev, ev.ts + 100)
    loop.finish(evs[-1].ts + 3 * 86_400_000)
    sent = {d.customer_id for d in loop.decisions if d.action == "send" and d.journey_id == "browse_offer"}
    assert sent == set()  # before: {"crm:A"}
    assert loop.dead == []


@pytest.mark.parametrize("opt_out_first", [False, True])
def test_an_opt_out_at_as_triggers_millisecond_in_a_test_stream(opt_out_first):
    """The real streaming transforms (ResolveIdentitiesOnline, the address router, the per-customer stage) on a
    TestStream: B's unsubscribe naming A's device (linked the day before), at the very millisecond of A's third
    product view, fed in either order in one step: no offer to A (nor B), the replay's decisions."""
    from tests.beam.test_address_consent import _stream_decisions

    third = "2026-10-05T12:02:00Z"  # holder's third view
    evs = sorted(events(BASE + [login("2026-10-04T00:00:00Z")]), key=lambda e: e.sort_key)
    (oo,) = events([opt_out("unsubscribed", third, anonymous_id="dev-9")])
    at = next(i for i, e in enumerate(evs) if e.uid == "web/v-A-2")
    evs = evs[:at] + [oo] + evs[at:] if opt_out_first else evs[:at + 1] + [oo] + evs[at + 1:]
    assert offered(evs) == set()  # (B's third view is at that millisecond too) before: {"crm:A"}
    _stream_decisions(evs, f"memory://qa14b-tie-{opt_out_first}")


def test_an_opt_out_naming_a_device_of_the_same_customer_not_yet_linked_in_streaming(monkeypatch):
    """B's second browser is a customer of its own (x@) until B's CRM record names x@ after the offer: the revoke
    naming B and that browser blocks both in streaming too (the copy goes to the browser's customer then)."""
    from tests.stages.test_qa10d_two_addresses import holder
    from tests.stages.test_qa14b_opt_outs_naming_two_people import BOB, SECOND_DEVICE

    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(holder("B", BOB) + SECOND_DEVICE + [opt_out("consent revoke", anonymous_id="dev-B2")]),
                 key=lambda e: e.ts)
    assert streamed_offers(Loop("memory://qa14b-second-device"), evs) == set()  # before: {"email:<x@>"}
