"""Load-time errors a data engineer gets for conditions over their own events (qa12c): each names what to write
instead (``stages.typecheck``).  Times here are ints of epoch ms (``event.ts``, declared timestamps), so CEL
durations and timestamps met with them get a hint in milliseconds; a trait read as ``customer.<name>`` or a
property as ``event.<name>`` (and back) names the path where the field is."""
from __future__ import annotations

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition

ATTRS = """version: 1
events:
  Plan Upgraded:
    properties: {seats: int, renews_at: timestamp, plan: string}
traits:
  company: string
attributes:
  upgrades_30d: {op: count, event: Plan Upgraded, window: 30d}
"""


def _error(text: str) -> str:
    decl = load_attributes_text(ATTRS, "attributes.yaml").declarations
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "journeys.yaml:7", decl.variables(decl.event_type("Plan Upgraded", None)))
    return "\n".join(e.value.errors)


@pytest.mark.parametrize("text, advice", [
    ("event.ts - duration('24h') > 0", "event.ts - 86400000"),
    ("event.properties.renews_at < event.ts + duration('168h')", "milliseconds"),
    ("event.properties.renews_at > timestamp('2026-01-01T00:00:00Z')", "int(timestamp('2026-01-01T00:00:00Z')) * 1000"),
    ("timestamp(event.ts) > timestamp('2026-01-01T00:00:00Z')", "int(timestamp('2026-01-01T00:00:00Z')) * 1000"),
    ("duration(event.properties.renews_at - event.ts) < duration('24h')", "milliseconds"),
])
def test_epoch_ms_met_with_cel_times_says_how_to_write_it(text, advice):
    message = _error(text)
    assert "epoch ms" in message and advice in message, message
    assert "number types" not in message  # (the old advice, int()/double(), does not help here)


@pytest.mark.parametrize("text, path", [
    ("customer.company == 'acme'", "customer.traits.company"),
    ("customer.upgrades_30d >= 2", "customer.traits.upgrades_30d"),
    ("event.seats > 1", "event.properties.seats"),
    ("customer.traits.seats > 1", "event.properties.seats"),
    ("event.properties.company == 'acme'", "customer.traits.company"),
    ("customer.traits.lifecycle_stage == 'lead'", "customer.lifecycle_stage"),
])
def test_a_field_read_in_the_wrong_place_names_where_it_is(text, path):
    message = _error(text)
    assert "unknown field" in message and f"did you mean '{path}'" in message, message


def test_the_accepted_forms_load():
    decl = load_attributes_text(ATTRS, "attributes.yaml").declarations
    for text in ["event.ts - 86400000 > 0", "event.ts > int(timestamp('2026-01-01T00:00:00Z')) * 1000",
                 "customer.traits.company == 'acme' && event.properties.seats > 1"]:
        compile_condition(text, "journeys.yaml:7", decl.variables(decl.event_type("Plan Upgraded", None)))


@pytest.mark.parametrize("text, advice", [
    ("event.properties.plan.lowerAscii() == 'pro'", "matches('(?i)^pro$')"),
    ("event.properties.plan.toLowerCase() == 'pro'", "matches('(?i)^pro$')"),
    ("len(event.properties.plan) > 2", "size(x)"),
    ("event.properties.plan.trim() == 'pro'", "matches('regex')"),
    ("event.ts > now() - 86400000", "event.ts"),
])
def test_a_function_cel_does_not_have_says_what_it_has(text, advice):
    message = _error(text)
    assert ("unknown method" in message or "unknown function" in message) and advice in message, message


def test_the_case_insensitive_match_the_hint_gives_works_on_both_paths():
    decl = load_attributes_text(ATTRS, "attributes.yaml").declarations
    c = compile_condition("event.properties.plan.matches('(?i)^pro$')", "journeys.yaml:7",
                          decl.variables(decl.event_type("Plan Upgraded", None)))
    for plan, expected in (("PRO", True), ("Pro", True), ("pro plus", False)):
        act = {"event": {"stream": "track", "type": "Plan Upgraded", "ts": 1, "properties": {"plan": plan}},
               "customer": {"traits": {}}}
        assert c.evaluate(act) is expected and c.evaluate_slow(act) is expected


def test_customer_in_a_computed_attributes_where_says_what_it_sees():
    text = ATTRS + "  pro_upgrades: {op: count, event: Plan Upgraded, where: \"customer.traits.company == 'x'\"}\n"
    with pytest.raises(JourneyError) as e:
        load_attributes_text(text, "attributes.yaml")
    assert e.value.errors == ["attributes.yaml:9: attributes.pro_upgrades.where: unknown variable 'customer' (this "
                              "condition sees event only)"]
