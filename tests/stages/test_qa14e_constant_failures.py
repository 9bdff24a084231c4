"""QA round 14 (qa14e): parts of a condition that fail at every evaluation were accepted at load.

A data engineer writes ``event.properties.code.matches('^\\d{3}(?=-)')`` (a lookahead, as in Python or JavaScript),
``duration('1 hour')``, ``timestamp('2026-13-01T00:00:00Z')``, ``bool('yes')``, ``tags[-1]`` or ``seats / 0``:
``journeys validate`` accepted each, and at run time the condition was an error (false, counted) for every event --
a journey that never fires.  The type checker only checked ``matches`` patterns written without a backslash (so
``\\d`` patterns, the common ones, and raw strings ``r'...'`` were never checked).  Such parts now are load errors
naming the part (``stages.conditions_constants``).  Alongside: string literals with escapes, raw and triple-quoted
ones were outside the fast path (``matches('^\\d+$')`` cost cel-python, ~1 ms, per evaluation) and a map key written
so (``event.properties[r'Plan Type']``) was an unknown field at load."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition
from journeyflow.stages.journeys.loader import load_journeys_text

ATTRS = textwrap.dedent("""\
    version: 1
    events:
      Plan Upgraded:
        properties: {seats: int, price: double, code: string, tags: list<string>, Plan Type: string}
    traits:
      company: string
    """)
DECL = load_attributes_text(ATTRS, "attributes.yaml").declarations
VARS = DECL.variables(DECL.event_type("Plan Upgraded", None))
ACT = {"event": {"stream": "track", "type": "Plan Upgraded", "ts": 1_767_225_600_000,
                 "properties": {"seats": 3, "price": 9.5, "code": "123-45", "tags": ["a", "b"], "Plan Type": "pro"}},
       "customer": {"traits": {"company": "acme"}}}


def _refused(text: str) -> str:
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "journeys.yaml:7: when", VARS)
    return str(e.value)


@pytest.mark.parametrize("text, words", [
    # RE2 patterns, with escapes and raw strings, as CEL reads them (method and function forms)
    (r"event.properties.code.matches('^\\d{3}(?=-)')", "invalid regular expression"),
    (r"event.properties.code.matches(r'^\d{3}(?=-)')", "no lookarounds"),
    (r"matches(event.properties.code, '(\\w)\\1')", "invalid escape"),
    (r"event.properties.code.matches('\\')", "trailing"),
    (r"event.properties.code.matches('45\Z')", r"RE2 writes the end of the text \z"),
    (r"event.properties.code.matches('^\d++-')", "no possessive quantifiers"),
    ("event.properties.code.matches('(?<=a)' + 'b')", "invalid regular expression"),
    # conversions of a constant string that is no value of the type
    ("duration('1 hour') < duration('2h')", "'1 hour' is no duration"),
    ("event.ts > int(timestamp('2026-13-01T00:00:00Z')) * 1000", "is no timestamp"),
    ("event.properties.seats > int('3a')", "'3a' is no int"),
    ("event.properties.price > double('9,5')", "is no double"),
    ("bool('yes') && event.properties.seats > 1", "'yes' is no bool"),
    ("event.properties.seats > 9223372036854775807 + 1", "fails at every evaluation"),
    # a time zone no runtime knows
    ("timestamp('2026-01-01T00:00:00Z').getHours('Europe/Pariss') == 1", "fails at every evaluation"),
    ("timestamp(event.properties.code).getDayOfWeek('Mars/Olympus') == 1", "no time zone"),
    # an integer division by zero, a negative index
    ("event.properties.seats / 0 > 1", "division by zero"),
    ("event.properties.seats % (2 - 2) == 1", "division by zero"),
    ("event.properties.tags[-1] == 'b'", "outside every list"),
    # inside a macro's body, or beside a part that could decide alone: the part is still meaningless
    ("event.properties.tags.exists(t, t == string(1 / 0))", "fails at every evaluation"),
    ("event.properties.seats > 1 || int('x') == 1", "'x' is no int"),
])
def test_a_part_that_fails_at_every_evaluation_is_refused_at_load(text, words):
    message = _refused(text)
    assert message.startswith("journeys.yaml:7: when: ") and words in message, message


@pytest.mark.parametrize("text", [
    r"event.properties.code.matches('^\\d{3}-\\d+$')",
    r"event.properties.code.matches(r'^\d{3}-\d+$') && matches(event.properties.code, '\\p{N}')",
    "duration('90m') < duration('2h') && event.ts > int(timestamp('2026-01-01T00:00:00Z')) * 1000",
    "timestamp('2026-01-01T10:00:00Z').getHours('Europe/Oslo') == 11",
    "event.properties.price / 0.0 > 1.0 || event.properties.seats / 2 == 1",
    "event.properties.tags[1] == 'b' && int('42') == 42 && bool('true')",
    "type(event.properties.code) == string && [1, 2].exists(x, x > 1)",
])
def test_the_valid_forms_still_load_and_agree_on_both_paths(text):
    c = compile_condition(text, "journeys.yaml:7: when", VARS)
    assert c.evaluate(ACT) == c.evaluate_slow(ACT) and c.errors == 0, text


def test_a_journey_file_names_the_line_of_the_failing_part():
    text = textwrap.dedent("""\
        version: 1
        journeys:
          - id: upgrade
            category: sales
            priority: 100
            entry:
              event: Plan Upgraded
              when: >-
                event.properties.seats > 1
                && event.properties.code.matches('^\\\\d{3}(?=-)')
            steps:
              - id: mail
                send: {channel: email, content_id: upgraded}
        """)
    with pytest.raises(JourneyError) as e:
        load_journeys_text(text, "journeys.yaml", DECL)
    assert e.value.errors[0].startswith("journeys.yaml:10: journeys[0].entry.when: matches(): invalid regular "), \
        e.value.errors


def test_a_computed_attributes_where_is_checked_too():
    with pytest.raises(AttributesError) as e:
        load_attributes_text(ATTRS + textwrap.dedent("""\
            attributes:
              big: {op: count, event: Plan Upgraded, where: "event.properties.seats > int('ten')"}
            """), "attributes.yaml")
    assert "'ten' is no int" in str(e.value) and "attributes.yaml:8:" in str(e.value), str(e.value)


@pytest.mark.parametrize("text, expected", [
    (r"event.properties.code.matches('^\\d{3}-\\d{2}$')", True),
    (r"event.properties.code.matches(r'^\d{3}$')", False),
    ("event.properties.code == '\\x31\\u0032\\063-45'", True),
    ("event.properties.code == '''123-45'''", True),
    ("event.properties.code.startsWith(\"12\\x33\")", True),
])
def test_string_literals_with_escapes_take_the_fast_path(text, expected):
    c = compile_condition(text, "journeys.yaml:7: when", VARS)
    assert c.is_fast, text
    assert c.evaluate(ACT) is expected and c.fallbacks == 0, text
    assert c.evaluate_slow(ACT) is expected


@pytest.mark.parametrize("key", ["r'Plan Type'", "'Plan\\x20Type'", '"""Plan Type"""'])
def test_a_map_key_written_with_escapes_or_raw_is_the_declared_field(key):
    c = compile_condition(f"event.properties[{key}] == 'pro'", "journeys.yaml:7: when", VARS)
    assert c.evaluate(ACT) is True
    message = _refused(f"event.properties[{key}] == 1")  # (and it is type-checked as the declared string)
    assert "compared with an int" in message, message
