"""What ``event`` is in a branch condition (qa8c): the event that ran the step -- the entry event right after entry,
the wait-until event after its ``on_event``, and a *timer* (``stream``/``type``/``ts`` and the entry's
``product_id`` only) after a plain wait or a wait's timeout.  A branch reached only by timers that reads the entry
event's fields (``event.amount`` a day after ``order_placed``) failed at every evaluation (counted, read as false:
every big spender got the plain email) although ``journeys validate`` accepted it; the checker now types ``event``
per step from the paths that reach it, so that is a load error with file:line."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.journeys.loader import load_journeys_text
from journeyflow.stages.conditions import JourneyError


def _journey(steps: str, entry: str = "{event: order_placed, stream: orders}") -> str:
    return textwrap.dedent("""\
        version: 1
        journeys:
          - id: big_order
            category: marketing
            priority: 300
            entry: %s
            steps:
        """) % entry + textwrap.indent(textwrap.dedent(steps), "      ")


BRANCH = """\
- id: b
  branch:
    cases:
      - {when: "%s", next: vip}
    else: plain
- {id: vip, send: {channel: email, content_id: vip}, next: done}
- {id: plain, send: {channel: email, content_id: plain}}
- {id: done, exit: true}
"""


def test_an_entry_field_read_after_a_plain_wait_is_refused_with_its_line():
    text = _journey("- {id: w, wait: 1d}\n" + BRANCH % "event.amount > 100.0")
    with pytest.raises(JourneyError) as e:
        load_journeys_text(text, "j.yaml")
    msg = str(e.value)
    assert "j.yaml:12: journeys[0].steps[1].branch.cases[0].when" in msg
    assert "'amount'" in msg and "timer" in msg


def test_an_entry_field_read_after_a_wait_timeout_is_refused():
    wait = "- {id: w, wait: {until: order_cancelled, timeout: 2d, on_event: done, on_timeout: b}}\n"
    with pytest.raises(JourneyError, match="'amount'"):
        load_journeys_text(_journey(wait + BRANCH % "event.amount > 100.0"), "j.yaml")


@pytest.mark.parametrize("steps", [
    BRANCH % "event.amount > 100.0",  # right after entry: the entry event
    "- {id: w, wait: 1d}\n" + BRANCH % "has(event.product_id) && event.ts > 0",  # what a timer has
    # after the wait-until's event: that event's fields
    "- {id: w, wait: {until: order_cancelled, timeout: 2d, on_event: b, on_timeout: done}}\n"
    + BRANCH % "event.type == 'order_cancelled' && event.order_id == 'x'",
])
def test_fields_of_the_event_that_runs_the_step_are_accepted(steps):
    (j,) = load_journeys_text(_journey(steps), "j.yaml")
    assert j.step_map["b"].kind == "branch"


def test_a_step_reached_by_the_entry_and_after_a_wait_sees_either():
    # b is reached from the entry and again after the wait (loop through the wait): fields of either are accepted
    steps = BRANCH.replace("- {id: done, exit: true}", "- {id: done, wait: 1d, next: b}") % "event.amount > 100.0"
    text = _journey(steps).replace("entry: {event", "max_duration: 30d\n    entry: {event")
    (j,) = load_journeys_text(text, "j.yaml")
    assert j.step_map["b"].kind == "branch"
