"""qa17e: what a merge cancels is triggered by the linking record in streaming as in replay.

A customer's cart reminder SMS is held by quiet hours when they log in on a phone with an anonymous cart of its own:
the merge keeps the phone's active cart membership and cancels the held SMS (a ``suppress`` decision,
``journey_exited``, and a ``cancelled`` journey step).  Bounded replay names the login as its trigger; streaming
named the state hand-over's absorb event (``absorb:anon:phone-1:merge:anon:phone-1:web/login``), so the decision had
another id (decision ids hash the trigger) and the audit and ``journey_steps`` another trigger.  Found by a
streaming-vs-replay fuzz of the in-process graph (tests/beam/test_arrival_order.py's loop, the pipeline's hand-over
grace)."""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from tests.beam import test_arrival_order
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import events
from tests.beam.test_qa14a_handover_grace import GraceLoop

DAY = 86_400_000
RECORDS = [
    ("crm", {"event_id": "c-A", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
             "email": "ann@example.com", "phone": "+14155550101", "timezone": "UTC"}),
    ("consent", {"event_id": "g-A", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "email",
                 "status": "granted"}),
    ("consent", {"event_id": "s-A", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "sms",
                 "status": "granted"}),
    # the desktop cart: email reminder deferred to 08:00, the SMS 24 h later held by quiet hours (the number's
    # zone, Pacific) until 15:00 UTC
    ("web", {"event_id": "cart1", "ts": "2026-10-05T21:30:00Z", "type": "add_to_cart", "anonymous_id": "desk",
             "user_id": "A", "product_id": "P1"}),
    # meanwhile an anonymous cart on the phone, then the login that links it
    ("web", {"event_id": "cart2", "ts": "2026-10-07T09:00:00Z", "type": "add_to_cart", "anonymous_id": "phone-1",
             "product_id": "P2"}),
    ("web", {"event_id": "login", "ts": "2026-10-07T09:30:00Z", "type": "login", "anonymous_id": "phone-1",
             "user_id": "A"}),
]


def test_the_merge_cancels_with_the_login_as_trigger_in_streaming_as_in_replay(monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(RECORDS), key=lambda e: e.sort_key)
    until = evs[-1].ts + 3 * DAY
    replay = []
    for _c, o in fold_clusters(resolve_clusters(evs, test_arrival_order.CONFIG.link_rules()),
                               test_arrival_order.CONFIG.build_processor(), until):
        replay += o.decisions
    cancelled = [d for d in replay if d.reason_codes == ("journey_exited",)]
    assert [(d.customer_id, d.trigger_event_id) for d in cancelled] == [("crm:A", "web/login")]
    loop = GraceLoop("memory://qa17e-merge-trigger", monkeypatch)
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    loop.finish(until)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    assert [d.trigger_event_id for d in loop.decisions if d.reason_codes == ("journey_exited",)] == ["web/login"]
