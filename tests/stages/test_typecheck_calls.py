"""QA (issue 19, point 5): calls the type checker let through although they fail at every evaluation -- a method or
function with the wrong number of arguments, a conversion CEL has no overload for, a macro on a non-collection, an
invalid literal RE2 pattern, a date getter of a duration.  Each was accepted by ``journeys validate`` and the
condition then counted as an error (false) for every event."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.attributes_loader import load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition

DECL = load_attributes_text(textwrap.dedent("""\
    events:
      Trial Ending Soon:
        properties: {days_left: int, plan: string, tags: list<string>, meta: map<string>}
    """), "a.yaml").declarations
VARS = DECL.variables(DECL.event_type("Trial Ending Soon", "track"))


@pytest.mark.parametrize("text, message", [
    ("event.properties.plan.startsWith()", "startsWith() takes one string, got 0"),
    ("event.properties.plan.endsWith('a', 'b')", "endsWith() takes one string, got 2"),
    ("event.properties.plan.size(1) == 2", "size() takes no argument"),
    ("event.properties.days_left.size() == 2", "size() takes no argument and needs a string, list or map, got int"),
    ("int(event.properties.plan, 10) > 0", "int() takes one argument, got 2"),
    ("matches(event.properties.plan)", "matches() takes a string and a pattern"),
    ("event.properties.tags.exists(t)", "exists() takes a variable and an expression"),
    ("event.properties.plan.exists(c, c == 'a')", "on a string (event.properties.plan)"),
    ("event.properties.tags.map(t, t, t) == []", "map()'s filter (its second argument) needs a bool"),
    ("string(event.properties.tags) == '[]'", "string() has no overload for a list(string)"),
    ("bool(event.properties.days_left)", "bool() has no overload for an int"),
    ("double(event.properties.meta) > 1.0", "double() has no overload for a map(string, string)"),
    ("duration(event.properties.days_left) > duration('1h')", "duration() has no overload for an int"),
    ("event.properties.plan.matches('[a-z')", "invalid regular expression '[a-z' (RE2 syntax: missing ]"),
    ("matches(event.properties.plan, '(?=x)')", "invalid regular expression"),
    ("timestamp('2026-01-01T00:00:00Z').getHours(1) > 1", "takes at most a time zone"),
    ("duration('1h').getDayOfWeek() > 0", "getDayOfWeek() needs a CEL timestamp, got a duration"),
    ("duration('1h').getHours('UTC') > 0", "getHours() of a duration takes no argument"),
])
def test_a_call_that_always_fails_is_refused_at_load(text, message):
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "j.yaml:3: when", VARS)
    assert message in str(e.value) and str(e.value).startswith("j.yaml:3: when: ")


@pytest.mark.parametrize("text", [
    "event.properties.plan.startsWith('tr') && event.properties.plan.size() == 5",
    "matches(event.properties.plan, '^t') && event.properties.plan.matches('(?i)TRIAL')",
    "event.properties.tags.map(t, t != '', t + '!').size() == 2",
    "event.properties.meta.exists(k, k == 'a') || size(event.properties.meta) == 0",
    "int(event.properties.plan) > 0 || string(event.properties.days_left) == '3' || bool('true')",
    "timestamp('2026-01-01T10:00:00Z').getHours('Europe/Oslo') == 11 && duration('90m').getMinutes() == 90",
    "string(duration('1h')) == '3600s' && int(timestamp('2026-01-01T00:00:00Z')) > 0",
])
def test_the_right_calls_still_load(text):
    compile_condition(text, "j.yaml:3: when", VARS)
