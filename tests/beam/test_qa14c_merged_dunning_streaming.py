"""qa14c lead 2 in streaming: two profiles each reminded about its own order's failed payment merge (a CRM update
names the guest checkout's email); the merged customer's dunning holds the second order and reminds it after the
first (``journeys.held.settle_merged``, run by ``CustomerProcessor.after_merge`` on the streaming hand-over too),
and the streaming decisions equal the replay's.  The fault: tests/scenarios/test_qa14c_merged_dunning.py."""
from __future__ import annotations

from journeyflow.config.engine import EngineConfig
from tests.beam import test_arrival_order
from tests.beam.test_qa12a_anonymous_opt_outs_streaming import Loop, events

H = 3_600_000


def _records() -> list[tuple[str, dict]]:
    def at(hours: int) -> str:  # (hours after 2026-10-05 10:00 UTC, below 14)
        return f"2026-10-05T{10 + hours:02d}:00:00Z"

    return [
        ("crm", {"event_id": "c1", "ts": "2026-09-05T10:00:00Z", "crm_id": "TWO", "email": "two@work.example.com",
                 "type": "contact_created", "lifecycle_stage": "customer", "timezone": "UTC"}),
        ("consent", {"event_id": "g1", "ts": "2026-09-05T10:00:00Z", "crm_id": "TWO", "channel": "email",
                     "status": "granted"}),
        ("orders", {"event_id": "o1", "ts": at(0), "crm_id": "TWO", "order_id": "TWO-1", "type": "payment_failed",
                    "amount": 20, "currency": "USD"}),
        ("orders", {"event_id": "o2", "ts": at(1), "email": "two@example.com", "order_id": "TWO-2",
                    "type": "payment_failed", "amount": 30, "currency": "USD"}),
        ("crm", {"event_id": "c2", "ts": at(2), "crm_id": "TWO", "email": "two@example.com",
                 "type": "contact_updated"}),
    ]


def test_the_second_orders_dunning_survives_a_streaming_merge(monkeypatch):
    monkeypatch.setattr(test_arrival_order, "CONFIG", EngineConfig.from_files())
    evs = sorted(events(_records()), key=lambda e: e.sort_key)
    loop = Loop("memory://qa14c-merged-dunning")
    for ev in evs:
        loop.arrive(ev, ev.ts + 100)
    until = evs[-1].ts + 6 * 24 * H
    loop.finish(until)
    assert sorted(map(test_arrival_order.key, loop.decisions)) == test_arrival_order.bounded_decisions(evs, until)
    retries = [d for d in loop.decisions if d.customer_id == "crm:TWO" and d.content_id == "payment_retry"
               and d.action == "send"]
    assert len(retries) == 2  # TWO-1 at once, TWO-2 when TWO-1's dunning ends
