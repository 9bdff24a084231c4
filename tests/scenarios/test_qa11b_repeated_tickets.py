"""A ticket reported again is no new contact and no new escalation (qa11b, a lifecycle practitioner's scenarios).

Helpdesks report one ticket more than once: a webhook retried with a new event id, "opened" sent again with an
update, a second escalation of one case (tier 2, then tier 3).  The default ``service_escalation`` journey created a
second follow-up task for the owner of a ticket that was escalated twice, and ``repeat_contact`` routed the same case
to the priority queue again when the desk re-sent the ``ticket_opened`` of a ticket already counted.  Now a
``ticket_opened`` of an open ticket and a ``ticket_escalated`` of a ticket escalated since its last opening enter,
exit and convert nothing (``journeys.objects.repeated_ticket``); the same ticket escalated again after its
resolution and re-opening, or another ticket, is news.  Replayed through the public replay API.
"""
from __future__ import annotations

from datetime import timedelta as td

import pytest

from tests.scenarios import Scenario, decisions_of, replay_scenario

H, D = td(hours=1), td(days=1)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    for cid in ("ESC2", "ESCMS", "REOPEN", "TWO", "RESENT", "THIRD"):
        s.contact(-30 * D, cid, email=f"{cid.lower()}@example.com")
    # one open ticket escalated twice (tier 2 at 12:00, tier 3 at 15:00): one task
    s.add("support", td(0), crm_id="ESC2", ticket_id="E-1", type="ticket_opened", severity="high")
    s.add("support", 2 * H, crm_id="ESC2", ticket_id="E-1", type="ticket_escalated", severity="high")
    s.add("support", 5 * H, crm_id="ESC2", ticket_id="E-1", type="ticket_escalated", severity="critical")
    # the escalation reported twice in one millisecond (two event ids): one task
    s.add("support", td(0), crm_id="ESCMS", ticket_id="M-1", type="ticket_opened", severity="high")
    s.add("support", 2 * H, crm_id="ESCMS", ticket_id="M-1", type="ticket_escalated", event_id="esc-a")
    s.add("support", 2 * H, crm_id="ESCMS", ticket_id="M-1", type="ticket_escalated", event_id="esc-b")
    # escalated, resolved, re-opened and escalated again: the second escalation is news (two tasks)
    s.add("support", td(0), crm_id="REOPEN", ticket_id="R-1", type="ticket_opened", severity="high")
    s.add("support", H, crm_id="REOPEN", ticket_id="R-1", type="ticket_escalated")
    s.add("support", D, crm_id="REOPEN", ticket_id="R-1", type="ticket_resolved", csat=4)
    s.add("support", 3 * D, crm_id="REOPEN", ticket_id="R-1", type="ticket_opened", severity="high")
    s.add("support", 3 * D + H, crm_id="REOPEN", ticket_id="R-1", type="ticket_escalated")
    # two tickets escalated: two tasks
    for tid in ("A", "B"):
        s.add("support", td(0), crm_id="TWO", ticket_id=tid, type="ticket_opened", severity="high")
        s.add("support", H, crm_id="TWO", ticket_id=tid, type="ticket_escalated")
    # repeat contact routed once; the desk re-sends the second ticket's "opened" two days later: not routed again
    s.add("support", td(0), crm_id="RESENT", ticket_id="P-1", type="ticket_opened", severity="high")
    s.add("support", H, crm_id="RESENT", ticket_id="P-2", type="ticket_opened", severity="high")
    s.add("support", 2 * D, crm_id="RESENT", ticket_id="P-2", type="ticket_opened", severity="critical")
    # ... while a third contact (a new ticket) after the cooldown is routed again
    s.add("support", td(0), crm_id="THIRD", ticket_id="Q-1", type="ticket_opened", severity="high")
    s.add("support", H, crm_id="THIRD", ticket_id="Q-2", type="ticket_opened", severity="high")
    s.add("support", 2 * D, crm_id="THIRD", ticket_id="Q-3", type="ticket_opened", severity="high")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa11b_tickets"))
    return audit


def _acted(audit, cid, action):
    return [d for d in decisions_of(audit, f"crm:{cid}") if d["action"] == action]


@pytest.mark.parametrize("cid, tasks", [("ESC2", 1), ("ESCMS", 1), ("REOPEN", 2), ("TWO", 2)])
def test_one_follow_up_task_per_escalation_of_an_open_ticket(audit, cid, tasks):
    assert len(_acted(audit, cid, "create_task")) == tasks


@pytest.mark.parametrize("cid, cases", [("RESENT", 1), ("THIRD", 2)])
def test_a_ticket_opened_again_is_no_new_contact(audit, cid, cases):
    assert len(_acted(audit, cid, "route_case")) == cases
