"""The file:line of an error in an attribute's ``where:`` condition written over several YAML lines is the line
holding the faulty part (it was the ``where:`` key's line), as for the journeys' conditions
(``journeys.positions.condition_line``, tests/stages/test_condition_lines.py)."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from tests.stages.test_condition_lines import multiline_layouts

HEAD = "version: 1\nattributes:\n  big_orders:\n    op: count\n    event: order_placed\n"
FAULT = "event.amount > 'high'"

LAYOUTS = multiline_layouts("where", 4, "has(event.amount)", "event.order_id != ''", FAULT, 6)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_where_error_names_the_line_of_the_faulty_part(layout):
    where, line = LAYOUTS[layout]
    text = HEAD + where
    with pytest.raises(AttributesError) as e:
        load_attributes_text(text, "a.yaml")
    assert len(e.value.errors) == 1, e.value.errors
    assert e.value.errors[0].startswith(f"a.yaml:{line}: attributes.big_orders.where: "), (layout, e.value.errors)
    assert "string" in e.value.errors[0]
    assert FAULT in text.splitlines()[line - 1]


def test_a_syntax_error_without_a_position_stays_on_the_where_line():
    text = HEAD + "    where: >-\n      has(event.amount) &&\n"
    with pytest.raises(AttributesError) as e:
        load_attributes_text(text, "a.yaml")
    assert e.value.errors[0].startswith("a.yaml:6: attributes.big_orders.where: "), e.value.errors


def test_a_journey_with_schema_errors_still_names_the_faulty_line_of_a_condition():
    """Sibling: a journey whose schema check failed gets its conditions checked by ``loader._lint_broken``, which
    pointed at the ``when:`` line."""
    from journeyflow.stages.conditions import JourneyError
    from journeyflow.stages.journeys.loader import load_journeys_text
    text = ("journeys:\n  - id: j\n    category: marketing\n    priority: 100\n    colour: red\n"
            "    entry:\n      event: ticket_resolved\n      when: >-\n        has(event.csat) &&\n"
            "        customer.open_tickets > 'high'\n    steps:\n      - {id: s, send: {channel: email, content_id: x}}\n")
    with pytest.raises(JourneyError) as e:
        load_journeys_text(text, "j.yaml")
    cond = [m for m in e.value.errors if "entry.when" in m]
    assert len(cond) == 1 and cond[0].startswith("j.yaml:10: journeys[0].entry.when: "), e.value.errors
    assert any("colour" in m for m in e.value.errors)
