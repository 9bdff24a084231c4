"""QA round 14 (qa14e): configurations that loaded and meant nothing.

* ``{op: count, event: Coupon Applied, property: properties.code}`` loaded, and the property was read by no one:
  every event counted, with or without a code (a data engineer meant "the events that have one").  ``count`` now
  refuses a property and says to write ``where: "has(event.properties.code)"``.
* ``{op: sum, property: properties.renews_at}`` of a declared ``timestamp`` summed epoch milliseconds (a sum of
  times is no time); refused like a sum of a string.
* ``'plna' in event.properties`` (CEL's ``in`` on a map: a key test) with a typo in a declared, closed set of
  properties or traits was false for every event, where ``has(event.properties.plna)`` is refused as an unknown
  field; both now are."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition
from journeyflow.stages.state import CustomerState

EVENTS = textwrap.dedent("""\
    version: 1
    events:
      Coupon Applied:
        properties: {code: string, renews_at: timestamp, amount: double, meta: map<string>}
    traits:
      company: string
    """)


def _errors(attribute: str) -> str:
    with pytest.raises(AttributesError) as e:
        load_attributes_text(EVENTS + "attributes:\n  x: " + attribute + "\n", "attributes.yaml")
    return "\n".join(e.value.errors)


@pytest.mark.parametrize("attribute, words", [
    ("{op: count, event: Coupon Applied, property: properties.code}", "where: \"has(event.properties.code)\""),
    ("{op: count, event: Coupon Applied, property: properties.code, window: 7d}", "count counts events"),
    ("{op: sum, event: Coupon Applied, property: properties.renews_at}", "a sum of times is no time"),
])
def test_an_attribute_that_would_mean_nothing_is_refused(attribute, words):
    message = _errors(attribute)
    assert message.startswith("attributes.yaml:8: attributes.x.property: ") and words in message, message


def test_what_the_advice_says_counts_the_events_that_have_the_property():
    attrs = load_attributes_text(EVENTS + textwrap.dedent("""\
        attributes:
          with_code: {op: count, event: Coupon Applied, where: "has(event.properties.code)"}
          latest_renewal: {op: max, event: Coupon Applied, property: properties.renews_at}
        """), "attributes.yaml")
    s = CustomerState()
    for i, props in enumerate([{"code": "A"}, {"amount": 2.0}, {"code": "B", "renews_at": 1_767_225_600_000}]):
        attrs.observe(s, Event(f"track/c{i}", "track", "Coupon Applied", 1000 + i, ("crm:u",), {"properties": props}))
    assert attrs.values(s, 2000) == {"with_code": 2, "latest_renewal": 1_767_225_600_000}


@pytest.mark.parametrize("text, words", [
    ("'plna' in event.properties", "unknown field 'plna' of the properties of event 'Coupon Applied' (known: amount"),
    ("'compny' in customer.traits", "unknown field 'compny' of customer.traits (did you mean 'company'?)"),
    ("r'cod' in event.properties", "unknown field 'cod'"),
])
def test_a_key_test_on_a_declared_map_names_an_unknown_key(text, words):
    decl = load_attributes_text(EVENTS, "attributes.yaml").declarations
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "journeys.yaml:3: when", decl.variables(decl.event_type("Coupon Applied", None)))
    assert words in str(e.value), str(e.value)


def test_key_tests_of_declared_keys_and_of_open_maps_still_load():
    decl = load_attributes_text(EVENTS, "attributes.yaml").declarations
    c = compile_condition("'code' in event.properties && 'company' in customer.traits"
                          " && !('x' in event.properties.meta)",
                          "journeys.yaml:3: when", decl.variables(decl.event_type("Coupon Applied", None)))
    act = {"event": {"properties": {"code": "A", "meta": {"y": "1"}}}, "customer": {"traits": {"company": "acme"}}}
    assert c.evaluate(act) is True


def test_has_of_a_key_with_spaces_says_how_to_test_it():
    """``has(event.properties['Plan Type'])`` is no CEL (``has()`` takes a field selection ``a.b``); the error now
    says to write ``'Plan Type' in event.properties``, which is checked against the declaration and works."""
    decl = load_attributes_text(EVENTS.replace("{code: string,", "{Plan Type: string, code: string,"),
                                "attributes.yaml").declarations
    variables = decl.variables(decl.event_type("Coupon Applied", None))
    with pytest.raises(JourneyError) as e:
        compile_condition("has(event.properties['Plan Type'])", "journeys.yaml:3: when", variables)
    assert "test a key with 'Plan Type' in event.properties" in str(e.value), str(e.value)
    c = compile_condition("'Plan Type' in event.properties", "journeys.yaml:3: when", variables)
    assert c.evaluate({"event": {"properties": {"Plan Type": "pro"}}, "customer": {}}) is True


@pytest.mark.parametrize("text", ["(event.properties.amount > 1.0 ? 1 : 2.5) % 2 == 1",
                                  "(has(event.properties.amount) ? event.properties.amount : 0) * 2.0 > 1.0"])
def test_a_ternary_with_an_int_and_a_double_branch_is_refused(text):
    """``c ? 1 : 2.5`` was typed as its first branch (an int), so ``% 2`` loaded and met a double at run time,
    which CEL has no ``%`` for; cel-go's checker refuses branches of two number types, as ``1 + 1.0``.  Refused
    now, naming the fix; one type in both branches loads."""
    decl = load_attributes_text(EVENTS, "attributes.yaml").declarations
    variables = decl.variables(decl.event_type("Coupon Applied", None))
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "journeys.yaml:3: when", variables)
    assert "branches of ?: have different types" in str(e.value) and "0.0 for a double" in str(e.value)
    fixed = compile_condition(text.replace(": 0)", ": 0.0)").replace("? 1 :", "? 1.0 :").replace("% 2", "/ 2.0"),
                              "journeys.yaml:3: when", variables)
    fixed.evaluate({"event": {"properties": {"amount": 3.0}}, "customer": {}})
    assert fixed.errors == 0 and fixed.non_bool == 0
