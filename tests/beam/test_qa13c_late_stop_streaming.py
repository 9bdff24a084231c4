"""qa13c hunt: a STOP (an SMS opt-out) that reaches the streaming pipeline after its customer has processed a later
event (beyond the allowed lateness) is one ``late_event`` dead letter *and* still applied: the dunning text due a
day later is not sent, whichever identifier the opt-out names (the number, the CRM id, or -- qa13c -- only the
device's anonymous id).  This held before this round (a regression guard for the hunt's question "late opt-out:
dead letter with reason, or applied?": both)."""
from __future__ import annotations

import pytest

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events

PHONE = "+14155550134"
AT = "2026-10-05T19:00:00Z"
STOPS = {
    "engagement unsubscribed by number": ("engagement", {"event_id": "s1", "ts": AT, "phone": PHONE,
                                                         "channel": "sms", "type": "unsubscribed"}),
    "consent revoke by anonymous id": ("consent", {"event_id": "s1", "ts": AT, "anonymous_id": "dev-9",
                                                   "channel": "sms", "status": "revoked"}),
    "consent revoke by CRM id": ("consent", {"event_id": "s1", "ts": AT, "crm_id": "A", "channel": "sms",
                                             "status": "revoked"}),
}


def story(stop: tuple[str, dict]) -> list[tuple[str, dict]]:
    """A (a Californian mobile, device dev-9) fails a payment at 18:00 UTC (dunning: an email at once, a text 24 h
    later), opts out of texts at 19:00 and views a page at 19:30."""
    return [("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "ann@example.com", "phone": PHONE, "timezone": "America/Los_Angeles"}),
            ("web", {"event_id": "l0", "ts": "2026-09-02T00:00:00Z", "type": "login", "anonymous_id": "dev-9",
                     "user_id": "A"}),
            ("orders", {"event_id": "o1", "ts": "2026-10-05T18:00:00Z", "type": "payment_failed", "crm_id": "A",
                        "order_id": "O1", "amount": 10, "currency": "USD"}),
            ("web", {"event_id": "pv", "ts": "2026-10-05T19:30:00Z", "type": "page_view", "anonymous_id": "dev-9",
                     "user_id": "A"}),
            stop]


@pytest.mark.parametrize("late", [False, True])
@pytest.mark.parametrize("kind", sorted(STOPS))
def test_a_late_stop_is_dead_lettered_and_still_blocks_the_next_text(kind, late, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(story(STOPS[kind])), key=lambda e: e.sort_key)
    stop = next(e for e in evs if e.uid.endswith("/s1"))
    loop = Loop(f"memory://qa13c-late-stop-{abs(hash(kind))}-{late}")
    for ev in evs:
        if ev is not stop or not late:
            loop.arrive(ev, ev.ts + 100)
    if late:
        loop.arrive(stop, stop.ts + 2 * 3_600_000)  # after the 19:30 page view was processed
    loop.finish(evs[-1].ts + 3 * 86_400_000)
    sent = [(d.channel, d.content_id) for d in loop.decisions if d.action == "send"]
    assert ("email", "payment_retry") in sent and not [c for c, _ in sent if c == "sms"]
    assert [(d.source, d.reason.value) for d in loop.dead] == ([(stop.uid, "late_event")] if late else [])
    # without the STOP the text goes out (the story is able to send it)
    plain = sorted(events(story(STOPS[kind])[:-1]), key=lambda e: e.sort_key)
    loop = Loop(f"memory://qa13c-late-stop-none-{abs(hash(kind))}-{late}")
    for ev in plain:
        loop.arrive(ev, ev.ts + 100)
    loop.finish(plain[-1].ts + 3 * 86_400_000)
    assert ("sms", "payment_retry_sms") in [(d.channel, d.content_id) for d in loop.decisions if d.action == "send"]


@pytest.mark.parametrize("delay_ms", [100, 2_900])
@pytest.mark.parametrize("kind", sorted(STOPS))
def test_a_stop_at_the_texts_due_millisecond_comes_first(kind, delay_ms, monkeypatch):
    """The STOP dated the very millisecond the dunning text is due (its 24 h wait ends), arriving within the allowed
    lateness: applied before the timer, as in replay (at equal times opt-outs first)."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    stop = (STOPS[kind][0], {**STOPS[kind][1], "ts": "2026-10-06T18:00:00Z"})
    evs = sorted(events(story(stop)), key=lambda e: e.sort_key)
    loop = Loop(f"memory://qa13c-tie-stop-{abs(hash(kind))}-{delay_ms}")
    for ev in evs:
        loop.arrive(ev, ev.ts + (delay_ms if ev.uid.endswith("/s1") else 100))
    until = evs[-1].ts + 3 * 86_400_000
    loop.finish(until)
    assert [d.channel for d in loop.decisions if d.action == "send"] == ["email"] and loop.dead == []
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
