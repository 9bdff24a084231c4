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


def multiline_layouts(key: str, indent: int, guard: str, other: str, fault: str, line: int) -> dict:
    """A condition ``guard && other && fault`` (in some order) under ``key:`` written in each YAML layout, with the
    line of ``fault`` when the key is on line ``line``: {layout: (YAML text, line of the fault)}.  Shared with the
    attributes file's test (tests/stages/test_attribute_where_lines.py)."""
    a, b = " " * indent, " " * (indent + 2)
    return {
        "literal block": (f"{a}{key}: |\n{b}{guard}\n{b}&& {other}\n{b}&& {fault}\n", line + 3),
        "folded block": (f"{a}{key}: >-\n{b}{guard} &&\n{b}{fault} &&\n{b}{other}\n", line + 2),
        "plain, continued": (f"{a}{key}: {guard} &&\n{b}{other} &&\n{b}{fault}\n", line + 2),
        "double-quoted, continued": (f"{a}{key}: \"{guard} &&\n{b}{other} &&\n{b}{fault}\"\n", line + 2),
        "one line": (f"{a}{key}: \"{guard} && {fault}\"\n", line),
        "first line": (f"{a}{key}: >-\n{b}{fault} &&\n{b}{guard}\n", line + 1),
    }


LAYOUTS = multiline_layouts("when", 6, "has(event.csat)", "event.ticket_id != ''", FAULT, 7)


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
