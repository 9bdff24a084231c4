"""QA (issue 19, point 5): the file:line of a type error in a condition written over several YAML lines is the line
holding the faulty part (it was the ``when:`` key's line, whatever the condition's length)."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.conditions import JourneyError
from journeyflow.stages.journeys.loader import load_journeys_text

HEAD = textwrap.dedent("""\
    journeys:
      - id: j
        category: marketing
        priority: 100
        entry:
          event: ticket_resolved
    """)
STEPS = "    steps:\n      - {id: s, send: {channel: email, content_id: x}}\n"
FAULT = "event.csat > 'high'"

LAYOUTS = {
    "literal block": (f"      when: |\n        has(event.csat)\n        && event.ticket_id != ''\n"
                      f"        && {FAULT}\n", 10),
    "folded block": (f"      when: >-\n        has(event.csat) &&\n        {FAULT} &&\n"
                     f"        event.ticket_id != ''\n", 9),
    "plain, continued": (f"      when: has(event.csat) &&\n        event.ticket_id != '' &&\n"
                         f"        {FAULT}\n", 9),
    "double-quoted, continued": (f"      when: \"has(event.csat) &&\n        event.ticket_id != 'a' &&\n"
                                 f"        {FAULT}\"\n", 9),
    "one line": (f"      when: \"has(event.csat) && {FAULT}\"\n", 7),
    "first line": (f"      when: >-\n        {FAULT} &&\n        has(event.csat)\n", 8),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_error_names_the_line_of_the_faulty_part(layout):
    when, line = LAYOUTS[layout]
    text = HEAD + when + STEPS
    with pytest.raises(JourneyError) as e:
        load_journeys_text(text, "j.yaml")
    assert len(e.value.errors) == 1
    assert e.value.errors[0].startswith(f"j.yaml:{line}: journeys[0].entry.when: event.csat is an int, compared "
                                        "with a string"), (layout, e.value.errors)
    assert "event.csat > 'high'" in text.splitlines()[line - 1]


def test_a_branch_case_over_several_lines():
    text = textwrap.dedent("""\
        journeys:
          - id: j
            category: marketing
            priority: 100
            entry: {event: ticket_resolved}
            steps:
              - id: b
                branch:
                  cases:
                    - next: s
                      when: |
                        has(event.csat) &&
                        event.csat.startsWith('x')
              - {id: s, send: {channel: email, content_id: x}}
        """)
    with pytest.raises(JourneyError) as e:
        load_journeys_text(text, "j.yaml")
    assert e.value.errors[0].startswith("j.yaml:13: ") and "startsWith() works on strings" in e.value.errors[0]
