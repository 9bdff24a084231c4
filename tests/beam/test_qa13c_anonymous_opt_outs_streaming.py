"""qa13c: a built-in opt-out naming only an anonymous id (consent revoke, engagement unsubscribe/complaint), linked
to the customer by a later, same-millisecond or earlier web login: no browse offer in streaming either, and the
streaming decisions equal the replay's; late, beyond the allowed lateness, too.  (The fault is shown in
tests/stages/test_qa13c_anonymous_opt_outs.py: before, such a record was a ``missing_identifier`` dead letter and
the offer went out.)"""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam import test_qa9a_late_optout_merged as qa9a
from tests.beam.test_handover_to_merged_customer import RoutedLoop
from tests.beam.test_qa11a_mailboxes_streaming import offered
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events, streamed_offers
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa13c_anonymous_opt_outs import EARLIER, LATER, T, login, opt_out

CASES = {
    "consent revoke, login after": [opt_out("consent revoke"), login(LATER)],
    "unsubscribed, login at the same ms": [opt_out("unsubscribed"), login(T)],
    "complained, login at the same ms, arriving first": [login(T), opt_out("complained")],
    "consent revoke, login before": [login(EARLIER), opt_out("consent revoke")],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_anonymous_built_in_opt_out_blocks_the_customer_in_streaming(case, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    base = holder("A", "ann@example.com") + holder("B", "bob@example.com")
    evs = sorted(events(base + CASES[case]), key=lambda e: e.sort_key)
    assert offered(evs) == {"crm:B"}
    assert streamed_offers(Loop(f"memory://qa13c-anon-{abs(hash(case))}"), evs) == {"crm:B"}


ANON_REVOKES = {
    "consent": ("consent", {"event_id": "r1", "ts": qa9a.iso(qa9a.T + 10_000), "anonymous_id": "d1",
                            "channel": "sms", "status": "revoked"}),
    "unsubscribe": ("engagement", {"event_id": "r1", "ts": qa9a.iso(qa9a.T + 10_000), "anonymous_id": "d1",
                                   "channel": "sms", "type": "unsubscribed"}),
}


@pytest.mark.parametrize("kind", sorted(ANON_REVOKES))
@pytest.mark.parametrize("late", [False, True])
def test_a_late_anonymous_opt_out_of_a_merged_away_device_blocks_the_survivor(kind, late, monkeypatch):
    """qa9a's story (an anonymous signup naming ann@ merged into C1 by a CRM update; a payment text at once) with
    the opt-out naming only the device: applied at its time, or -- arriving 20 s after the merge was processed,
    beyond the allowed lateness -- carried to the survivor by a status hand-over and still one ``late_event`` dead
    letter (decided + dead letters = records read)."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", qa9a.CONFIG)
    monkeypatch.setattr(qa9a, "CONFIG", qa9a.CONFIG)
    events = test_arrival_order.parse(qa9a.records(ANON_REVOKES[kind]))
    revoke = events[3]
    assert revoke.ids == ("anon:d1",)
    loop = RoutedLoop(f"memory://qa13c-late-anon-{kind}-{late}")
    for ev in events:
        if ev is revoke and late:
            continue
        loop.arrive(ev, ev.ts + 100)
        if late and ev is events[4]:
            loop.arrive(revoke, ev.ts + 30_000)
    until = qa9a.T + 180_000 + test_arrival_order.LATENESS
    loop.finish(until)
    assert [d.customer_id for d in loop.decisions if d.action == "send" and d.channel == "sms"] == []
    assert ("crm:C1", "suppress", ("consent",)) in [(d.customer_id, d.action, d.reason_codes) for d in loop.decisions]
    assert sorted(test_arrival_order.key(d) for d in loop.decisions) == qa9a.bounded(
        events, until - test_arrival_order.LATENESS)
    assert [(d.source, d.reason) for d in loop.dead] == ([(revoke.uid, "late_event")] if late else [])


@pytest.mark.parametrize("opt_out_first", [False, True])
@pytest.mark.parametrize("kind", ["consent revoke", "unsubscribed"])
def test_an_anonymous_opt_out_at_the_triggers_millisecond_in_a_test_stream(kind, opt_out_first):
    """The device linked the day before; its opt-out at the very millisecond of A's third product view (the browse
    offer's trigger), fed to a TestStream in either order in one step: the streaming pipeline's decisions equal the
    replay's, which apply the opt-out first (``Event.sort_key``)."""
    from tests.beam.test_address_consent import _stream_decisions

    third = "2026-10-05T12:02:00Z"  # holder's third view
    evs = sorted(events(holder("A", "ann@example.com") + holder("B", "bob@example.com")
                        + [login("2026-10-04T00:00:00Z")]), key=lambda e: e.sort_key)
    (oo,) = events([opt_out(kind, third)])
    at = next(i for i, e in enumerate(evs) if e.uid == "web/v-A-2")
    evs = evs[:at] + [oo] + evs[at:] if opt_out_first else evs[:at + 1] + [oo] + evs[at + 1:]
    assert offered(evs) == {"crm:B"}
    _stream_decisions(evs, f"memory://qa13c-anon-tie-{kind.replace(' ', '-')}-{opt_out_first}")
