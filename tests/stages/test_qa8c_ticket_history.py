"""The ``ticket_history`` of a task/case/call message follows the open-ticket rule (qa8c): a ticket with no
opened/escalated event for the policy's ``open_tickets.stale_after`` no longer counts as open for arbitration and
the journey facts; the message to the agent listed it as ``open`` -- or not, depending on whether the daily expiry
pass had already dropped it.  It is now left out as of the decision's time, whatever the expiry did."""
from __future__ import annotations

import pytest

from tests.stages.test_lifecycle import at, e, fold, profile


def _escalation_context(stale_days: int, hhmm: str = "10:00") -> dict:
    evs = profile() + [
        e("t1", "support", "ticket_opened", at(0, "10:00"), ticket_id="T-OLD", severity="low"),
        e("t2", "support", "ticket_opened", at(stale_days, "09:00"), ticket_id="T-NEW", severity="high"),
        e("t3", "support", "ticket_escalated", at(stale_days, hhmm), ticket_id="T-NEW", severity="high"),
    ]
    out = fold(evs)
    (task,) = [d for d in out.decisions if d.journey_id == "service_escalation" and d.action == "create_task"
               and d.decided_at == at(stale_days, hhmm)]
    return task.context


@pytest.mark.parametrize("days, hhmm", [(30, "10:00"), (30, "18:00"), (31, "09:30"), (40, "10:00")])
def test_a_stale_ticket_is_not_listed_as_open_to_the_agent(days, hhmm):
    # T-OLD untouched for 30 days or more: stale under the default stale_after (30d), dropped by expiry later
    ctx = _escalation_context(days, hhmm)
    assert [(t["ticket_id"], t["status"]) for t in ctx["ticket_history"]] == [("T-NEW", "escalated")]
    assert ctx["ticket"]["ticket_id"] == "T-NEW"


def test_a_ticket_within_stale_after_is_still_listed_open():
    ctx = _escalation_context(20)
    assert [(t["ticket_id"], t["status"]) for t in ctx["ticket_history"]] == [("T-OLD", "open"),
                                                                              ("T-NEW", "escalated")]
