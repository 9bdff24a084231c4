"""A journey with a goal but no wait step (QA round 9): the goal is attributed while the customer is in the journey,
and without a wait a membership ends at entry, right after its last step, so the goal was never counted: the
report showed 0% in both arms and "no effect shown" for a journey that could not be measured at all (e.g. the
trial_ending example with a ``goal: Subscription Started``).  Loading now warns with file:line (the journey still
loads: its decisions are right, only its goal cannot be measured; refusing it stopped every run of a file that had
run before)."""
from __future__ import annotations

import logging
import textwrap

from journeyflow.stages.journeys import load_journeys_text

JOURNEY = """\
version: 1
journeys:
  - id: promo
    category: marketing
    priority: 100
    control_group_pct: 10
    entry: {{event: add_to_cart}}
    goal:
      - event: order_placed
    steps:
{steps}
"""


def _load(steps: str):
    return load_journeys_text(JOURNEY.format(steps=textwrap.indent(textwrap.dedent(steps), "      ")), "j.yaml")


def test_a_goal_without_any_wait_loads_with_a_warning_naming_its_line(caplog):
    with caplog.at_level(logging.WARNING):
        journeys = _load("- id: mail\n  send: {channel: email, content_id: promo}\n")
    assert journeys[0].goal[0].type == "order_placed"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("j.yaml:8: journeys[0].goal" in m and "no wait step" in m for m in warned), warned


def test_a_goal_with_a_wait_loads_without_that_warning(caplog):
    with caplog.at_level(logging.WARNING):
        _load("- id: mail\n  send: {channel: email, content_id: promo}\n- id: window\n  wait: 3d\n")
    assert not [r for r in caplog.records if "no wait step" in r.getMessage()]


def test_a_goal_with_a_wait_after_the_send_loads():
    journeys = _load("- id: mail\n  send: {channel: email, content_id: promo}\n- id: window\n  wait: 3d\n")
    assert journeys[0].goal[0].type == "order_placed"


def test_a_journey_without_goal_needs_no_wait():
    text = JOURNEY.replace("    goal:\n      - event: order_placed\n", "").format(
        steps="      - id: mail\n        send: {channel: email, content_id: promo}\n")
    assert load_journeys_text(text, "j.yaml")[0].goal == ()
