"""The streaming sibling of tests/scenarios/test_qa17f_owner_after_merge.py: the state hand-over of a merge keeps
the owner and lifecycle stage set last in event time, so the follow-up task streaming decides goes to the CRM's
owner, as replay's does (the real resolution, DoFn and state-transfer loop in process: ``test_arrival_order.Loop``).
Before, the device's older ``identify`` owner won, because the device had the later page view."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.beam.test_arrival_order import LATENESS, Loop, T, bounded_decisions, key, parse

S = 1000  # (seconds apart: the loop steps its watermark 250 ms at a time)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat()


def test_the_streamed_task_goes_to_the_owner_set_last():
    recs = [
        ("track", {"type": "identify", "messageId": "i1", "anonymousId": "dev-1", "timestamp": _iso(T - 30 * S),
                   "traits": {"lifecycle_stage": "lead", "ownerId": "owner-anon"}}),
        ("crm", {"event_id": "c1", "ts": _iso(T - 10 * S), "crm_id": "C1", "email": "c1@example.com",
                 "type": "contact_created", "lifecycle_stage": "customer", "owner_id": "owner-crm",
                 "timezone": "UTC"}),
        ("web", {"event_id": "v1", "ts": _iso(T - 2 * S), "anonymous_id": "dev-1", "type": "page_view"}),
        ("web", {"event_id": "l1", "ts": _iso(T), "anonymous_id": "dev-1", "user_id": "C1", "type": "login"}),
        ("support", {"event_id": "s1", "ts": _iso(T + 2 * S), "crm_id": "C1", "ticket_id": "T1",
                     "type": "ticket_escalated", "severity": "high"}),
    ]
    events = parse(recs)
    loop = Loop("memory://qa17f-owner")
    for ev in events:
        loop.arrive(ev, ev.ts + 100)
    end = T + 10 * S
    loop.finish(end)
    tasks = [d for d in loop.decisions if d.action == "create_task"]
    assert [(d.customer_id, d.context["owner_id"]) for d in tasks] == [("crm:C1", "owner-crm")]
    assert sorted(key(d) for d in loop.decisions) == bounded_decisions(events, end - LATENESS)
    assert loop.dead == []
