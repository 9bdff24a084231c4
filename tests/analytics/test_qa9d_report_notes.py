"""The report's notes state rules of the run's own journeys (QA round 9): the conversion note said "cart
abandonment: within the 24 h of its two reminders, not its 3-day max_duration" on every report, also for a run
whose journeys file has no cart abandonment journey (``examples/trial_ending``) or one with other waits: a fact of
the shipped journeys, stale for any other file.  The note now states the attribution rule itself."""
from __future__ import annotations

import json

from journeyflow.analytics.report import build_report
from journeyflow.analytics.tables import write_table
from journeyflow.model.tables import TABLES

TRIAL = {"id": "trial_ending", "name": "Trial ending", "category": "sales", "control_group_pct": 10.0,
         "has_goal": True, "steps": [{"id": "trial_email", "kind": "send", "channel": "email"}]}


def test_the_conversion_note_names_no_journey_the_run_does_not_have(tmp_path):
    for t in TABLES:
        write_table(tmp_path, t, [])
    (tmp_path / "run.json").write_text(json.dumps({"manifest_version": 1, "journeys": [TRIAL]}))
    report = build_report(tmp_path)
    note = next(c.note for c in report.charts if c.id == "conversion_by_arm")
    assert "max_duration" in note  # the rule is still stated
    assert "cart" not in note.lower() and "24 h" not in note
