"""qa14a hunt on the in-process streaming graph (tests/beam/test_arrival_order.py's loop: identity store, a DoFn key
each, the state-transfer loop closed; the pipeline's hand-over grace, the watermark jumping to each arrival:
tests/beam/test_qa14a_handover_grace.py's ``GraceLoop``): at-least-once delivery after a restart, an opt-out and
its trigger at one millisecond arriving apart, and a late opt-out of a profile already merged away.  All held on
this branch (regression guards of the hunt)."""
from __future__ import annotations

from collections import Counter

import pytest

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam.test_arrival_order import bounded_decisions, key
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import events
from tests.beam.test_qa14a_handover_grace import GraceLoop
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa13c_anonymous_opt_outs import login, opt_out

DAY = 86_400_000


def story(kind: str | None = None):
    recs = holder("A", "ann@example.com") + holder("B", "bob@example.com") + [login("2026-10-05T12:01:59Z")]
    if kind:
        recs.append(opt_out(kind, "2026-10-04T12:00:00Z"))
    return sorted(events(recs), key=lambda e: e.sort_key)


@pytest.mark.parametrize("kind", [None, "unsubscribed"])
def test_redelivery_after_a_restart_decides_nothing_twice(kind, monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = story(kind)
    until = evs[-1].ts + 3 * DAY
    loop = GraceLoop(f"memory://qa14a-redeliver-{kind}", monkeypatch)
    loop.copies = 2  # every hand-over delivered twice
    half = len(evs) // 2
    for ev in evs[:half]:
        loop.arrive(ev, ev.ts + 100)
    loop.restart()
    again = evs[:half] + evs[half:half + 2]  # Pub/Sub redelivers what was not acked before the restart
    for ev in evs[half:half + 2]:
        loop.arrive(ev, ev.ts + 100)
    for ev in again:
        loop.arrive(ev, max(loop.wm, ev.ts + 100))
    for ev in evs[half + 2:]:
        loop.arrive(ev, ev.ts + 100)
    loop.arrive(evs[-1], evs[-1].ts + 200)  # and the last one once more, before its flush
    again.append(evs[-1])
    loop.finish(until)
    ids = [d.decision_id for d in loop.decisions]
    assert len(ids) == len(set(ids))  # nothing decided twice
    assert sorted(map(key, loop.decisions)) == bounded_decisions(evs, until)
    # each redelivered record is one dead letter (a duplicate, or late behind the processed horizon), nothing else
    assert Counter(d.source for d in loop.dead) == Counter(e.uid for e in again)
    assert {d.reason.value for d in loop.dead} <= {"duplicate_event", "late_event"}


TRIGGER_AT = "2026-10-05T12:02:00Z"  # A's third product view: the browse offer's trigger
UNSUB = ("engagement", {"event_id": "u1", "ts": TRIGGER_AT, "email": "ann@example.com", "channel": "email",
                        "type": "unsubscribed"})


@pytest.mark.parametrize("delay_ms", [200, test_arrival_order.LATENESS])
@pytest.mark.parametrize("opt_out_first", [False, True])
def test_an_opt_out_at_the_triggers_millisecond_arriving_apart_comes_first(opt_out_first, delay_ms, monkeypatch):
    """The unsubscribe and the trigger at one millisecond, arriving in either order, the second up to the allowed
    lateness after the first (each arrival its own bundle and watermark step): no offer to A, the replay's
    decisions."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(holder("A", "ann@example.com") + holder("B", "bob@example.com") + [UNSUB]),
                 key=lambda e: e.sort_key)
    unsub = next(e for e in evs if e.uid.endswith("/u1"))
    trigger = next(e for e in evs if e.uid.endswith("/v-A-2"))
    assert unsub.ts == trigger.ts
    first, second = (unsub, trigger) if opt_out_first else (trigger, unsub)
    loop = GraceLoop(f"memory://qa14a-tie-{opt_out_first}-{delay_ms}", monkeypatch)
    for ev in evs:
        if ev is first:
            loop.arrive(ev, ev.ts + 100)
        elif ev is second:
            loop.arrive(ev, ev.ts + delay_ms)
        elif ev.ts != trigger.ts:
            loop.arrive(ev, max(loop.wm, ev.ts + 100))
    loop.arrive(next(e for e in evs if e.uid.endswith("/v-B-2")), trigger.ts + delay_ms)
    until = evs[-1].ts + 3 * DAY
    loop.finish(until)
    assert loop.dead == []
    assert sorted(d.customer_id for d in loop.decisions if d.action == "send" and d.journey_id == "browse_offer") \
        == ["crm:B"]
    assert sorted(map(key, loop.decisions)) == bounded_decisions(evs, until)


def test_a_late_opt_out_of_a_profile_merged_away_blocks_the_survivors_next_trigger(monkeypatch):
    """dev-9's unsubscribe (dated the day before) arrives an hour after dev-9 logged in as A, its hand-over long
    done: one ``late_event`` dead letter, and the opt-out still goes on to A (a status-only hand-over), so A's
    trigger hours later is suppressed, as in replay."""
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    recs = holder("A", "ann@example.com") + holder("B", "bob@example.com") + [
        login("2026-10-05T06:00:00Z"), opt_out("unsubscribed", "2026-10-04T12:00:00Z")]
    evs = sorted(events(recs), key=lambda e: e.sort_key)
    late = next(e for e in evs if e.uid.endswith("/r1"))
    loop = GraceLoop("memory://qa14a-late-merged-away", monkeypatch)
    for ev in evs:
        if ev is not late:
            loop.arrive(ev, max(loop.wm, ev.ts + 100))
        if ev.uid.endswith("/l1"):
            loop.arrive(late, ev.ts + 3_600_000)
    until = evs[-1].ts + 3 * DAY
    loop.finish(until)
    assert [(d.source, d.reason.value) for d in loop.dead] == [(late.uid, "late_event")]
    assert sorted(d.customer_id for d in loop.decisions if d.action == "send" and d.journey_id == "browse_offer") \
        == ["crm:B"]
