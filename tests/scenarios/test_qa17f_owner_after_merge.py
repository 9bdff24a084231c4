"""The escalation's follow-up task goes to the owner the CRM set last, after a merge too (qa17f, replayed).

A device's Segment ``identify`` named an owner and a stage a month ago (``ownerId: owner-anon``, ``lead``); the
CRM created the contact ten days later with its own owner and stage; the device kept browsing and then logged in
(the link).  Before, the merged customer took the device profile's owner and stage because the device had the later
*event* (a page view): the task went to ``owner-anon`` and the CRM's ``customer`` was a ``lead`` again in the
snapshot.  Now each is the value set last in event time (``stages/profile_fields.py``).
"""
from __future__ import annotations

from datetime import timedelta as td

import pyarrow.dataset as ds

from tests.scenarios import T0, Scenario, read_topic, replay_scenario

H, D = td(hours=1), td(days=1)


def test_the_task_goes_to_the_owner_set_last_whichever_profile_browsed_last(tmp_path):
    s = Scenario()
    s.add("track", td(0), type="identify", messageId="i1", anonymousId="dev-1", timestamp=T0.isoformat(),
          traits={"lifecycle_stage": "lead", "ownerId": "owner-anon"})
    s.add("crm", 5 * D, crm_id="C1", email="c1@example.com", type="contact_created", lifecycle_stage="customer",
          owner_id="owner-crm", timezone="UTC")
    for i in range(3):
        s.add("web", 8 * D + i * H, anonymous_id="dev-1", type="page_view")
    s.add("web", 10 * D, anonymous_id="dev-1", user_id="C1", type="login")
    s.add("support", 10 * D + H, crm_id="C1", ticket_id="T1", type="ticket_escalated", severity="high")
    _, _, out = replay_scenario(s, tmp_path)
    tasks = read_topic(out, "decisions-crm-task")
    assert [(t["customer_id"], t["context"]["owner_id"]) for t in tasks] == [("crm:C1", "owner-crm")]
    snaps = ds.dataset(out / "tables" / "customer_snapshots", partitioning="hive").to_table().to_pylist()
    assert {r["lifecycle_stage"] for r in snaps if r["customer_id"] == "crm:C1"} == {"customer"}
