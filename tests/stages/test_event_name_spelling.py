"""QA (issue 19, point 3): event names are matched exactly (the Segment Spec's ``event`` is case-sensitive), so a
journey file that spells one user-named event two ways -- entry on ``Trial Ending Soon``, exit on ``trial ending
soon `` -- has a trigger that never fires; without an attributes file nothing caught it."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.engine import JourneyEngine
from journeyflow.stages.journeys.loader import load_journeys_text
from journeyflow.stages.state import CustomerState

TEXT = textwrap.dedent("""\
    journeys:
      - id: trial
        category: marketing
        priority: 100
        entry: {event: Trial Ending Soon, stream: track}
        exit: {event: "{exit}", stream: track}
        steps:
          - {id: w, wait: {until: "{wait}", stream: track, timeout: 1d}}
          - {id: s, send: {channel: email, content_id: x}}
    """)


@pytest.mark.parametrize("exit_name, wait_name, bad_line", [
    ("trial ending soon ", "Plan Upgraded", 6), ("Trial_Ending_Soon", "Plan Upgraded", 6),
    ("Trial Ended", "trial ending soon", 8)])
def test_a_second_spelling_of_an_event_is_refused(exit_name, wait_name, bad_line):
    with pytest.raises(JourneyError) as e:
        load_journeys_text(TEXT.replace("{exit}", exit_name).replace("{wait}", wait_name), "j.yaml")
    assert e.value.errors[0].startswith(f"j.yaml:{bad_line}: ") and "is spelled 'Trial Ending Soon' at line 5" in str(
        e.value)


def test_names_are_matched_exactly_at_run_time():
    (j,) = load_journeys_text(TEXT.replace("{exit}", "Trial Ended").replace("{wait}", "Plan Upgraded"), "j.yaml")
    engine, s = JourneyEngine([j]), CustomerState(customer_id="u")
    for name in ("trial ending soon", "Trial Ending Soon "):
        assert engine.on_event(s, Event(f"track/{name}", "track", name, 1000, ("crm:u",), {}), "u").steps == []
    out = engine.on_event(s, Event("track/x", "track", "Trial Ending Soon", 1000, ("crm:u",), {}), "u")
    assert [st.kind for st in out.steps] == ["entered", "waiting"]
