"""QA (issue 19, point 5): what the type checker accepts evaluates by CEL's rules on every evaluation path, and a
declared ``timestamp`` (an int of epoch ms at run time) is checked as what it is."""
from __future__ import annotations

import textwrap

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.attributes import TraitsView
from journeyflow.stages.attributes_loader import AttributesError, load_attributes_text
from journeyflow.stages.conditions import JourneyError, compile_condition
from journeyflow.stages.state import CustomerState

TS = 1_780_308_000_000
ATTRS = load_attributes_text(textwrap.dedent("""\
    version: 1
    events:
      Order Placed Custom:
        properties: {amount: double, items: int, renews_at: timestamp, note: string,
                     products: list<map<dyn>>, scores: map<int>}
    traits: {renews_at: timestamp}
    attributes:
      last_renewal: {op: last, event: Order Placed Custom, property: properties.renews_at}
    """), "a.yaml")
DECL = ATTRS.declarations
VARS = DECL.variables(DECL.event_type("Order Placed Custom", None))
PROPS = {"amount": 120, "items": 12, "renews_at": TS + 1000, "note": "x",
         "products": [{"price": 120, "sku": "a"}, {"price": 20, "sku": "b"}], "scores": {"a": 3}}


def _activation():
    s = CustomerState()
    ev = Event("track/o", "track", "Order Placed Custom", TS, ("crm:u",), {"properties": PROPS})
    ATTRS.observe(s, ev)
    s.traits["renews_at"] = [TS + 5000, TS]
    return {"event": {"stream": "track", "type": ev.type, "ts": TS, "properties": PROPS},
            "customer": {"traits": TraitsView(ATTRS, s, TS)}}


@pytest.mark.parametrize("text", [
    # arithmetic, ternaries and macros are evaluated by cel-python (no fast path): CEL's numeric comparison there too
    "event.properties.amount * 2.0 > 200",
    "event.properties.items + 0 == 12u",
    "(event.properties.amount > 99.5) ? true : false",
    "event.properties.products.exists(p, p.price > 99.5)",
    "event.properties.products.all(p, p.price >= 20.0)",
    "event.properties.items in [11.0, 12.0]",
    "event.properties.items in [12u]",
    # presence of a declared property is has() (== null on one is refused at load: qa13b)
    "has(event.properties.items)",
    "!(!has(event.properties.amount))",
    "has(event.properties.scores) && has(event.properties.products)",
    # a declared timestamp is an int of epoch ms, like event.ts
    "event.properties.renews_at > event.ts",
    "customer.traits.renews_at - event.ts == 5000",
    "customer.traits.last_renewal >= event.ts + 1000",
])
def test_accepted_conditions_evaluate_by_cels_rules(text):
    c = compile_condition(text, "j.yaml:1: when", VARS)
    act = _activation()
    assert c.evaluate(act) is True and c.errors == 0, (text, c.errors)
    assert c.evaluate_slow(act) is True


@pytest.mark.parametrize("text, message", [
    ("event.properties.renews_at > timestamp('2026-01-01T00:00:00Z')", "an int of epoch ms"),
    ("event.properties.renews_at.getHours() > 8", "needs a CEL timestamp"),
    ("customer.traits.last_renewal < timestamp('2026-01-01T00:00:00Z')", "an int of epoch ms"),
    ("event.properties.items < null", "cannot be ordered"),
    ("event.properties.items != null", "write has(event.properties.items)"),
    ("!(event.properties.amount == null)", "write !has(event.properties.amount)"),
    ("event.properties.note.startsWith(1)", "got string, int"),
])
def test_conditions_that_could_never_succeed_are_rejected_at_load_time(text, message):
    with pytest.raises(JourneyError) as e:
        compile_condition(text, "j.yaml:1: when", VARS)
    assert message in str(e.value)


def test_a_computed_attribute_where_clause_follows_the_same_rules():
    attrs = load_attributes_text(textwrap.dedent("""\
        events:
          Paid: {properties: {amount: int}}
        attributes:
          big: {op: count, event: Paid, where: "event.properties.amount * 1 > 99.5"}
        """), "b.yaml")
    s = CustomerState()
    attrs.observe(s, Event("track/p", "track", "Paid", TS, ("crm:u",), {"properties": {"amount": 120}}))
    assert attrs.values(s, TS)["big"] == 1
    with pytest.raises(AttributesError):
        load_attributes_text("events:\n  Paid: {properties: {at: timestamp}}\nattributes:\n"
                             "  n: {op: count, event: Paid, where: \"event.properties.at.getHours() > 1\"}\n", "c.yaml")


def test_properties_and_traits_named_as_sources_name_them_can_be_declared():
    """Segment properties and traits are often "Plan Type" / "plan-type": the declarations refused every name but
    identifiers, so such an event could not be type-checked at all.  Declared, they are read by index."""
    from journeyflow.stages.declared_types import DeclaredTypes
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import ParseConfig, Parser
    attrs = load_attributes_text(textwrap.dedent("""\
        events:
          Trial Started: {properties: {Plan Type: string, seat-count: int}}
        traits: {Company Size: int}
        attributes:
          seats: {op: max, event: Trial Started, property: properties.seat-count}
        """), "p.yaml")
    decl = attrs.declarations
    variables = decl.variables(decl.event_type("Trial Started", None))
    c = compile_condition("event.properties['Plan Type'] == 'pro' && customer.traits['Company Size'] > 10",
                          "j.yaml:1: when", variables)
    with pytest.raises(JourneyError, match="unknown field 'Plan Typ'"):
        compile_condition("event.properties['Plan Typ'] == 'pro'", "j.yaml:1: when", variables)
    parser = Parser(Hasher(b"k"), ParseConfig(declared_types=DeclaredTypes.of(decl)))
    res = parser.parse_full("track", __import__("json").dumps({
        "type": "track", "event": "Trial Started", "messageId": "m", "userId": "u", "timestamp": "2026-06-01T10:00:00Z",
        "properties": {"Plan Type": "pro", "seat-count": "12"}, "context": {"traits": {"Company Size": 50}}}))
    assert [(w.field, w.reason) for w in res.warnings] == [("properties.seat-count", "wrong_type")]
    ev = res.result
    s = CustomerState()
    attrs.observe(s, ev)
    act = {"event": {**ev.attrs, "stream": ev.stream, "type": ev.type, "ts": ev.ts},
           "customer": {"traits": TraitsView(attrs, s, ev.ts)}}
    assert c.evaluate(act) is True
    for bad in ("a.b", " lead", "tab\there", ""):
        with pytest.raises(AttributesError):
            load_attributes_text(f"traits: {{'{bad}': string}}\n", "q.yaml")


def test_a_step_condition_may_use_the_fields_of_the_wait_until_event():
    """A branch after ``wait: {until: Seat Added}`` runs on that event: ``event.properties.seats`` (declared on
    Seat Added) was refused as an unknown field of the entry event's declared properties."""
    from journeyflow.stages.journeys.loader import load_journeys_text
    decl = load_attributes_text("events:\n  Trial Started: {properties: {plan: string}}\n"
                                "  Seat Added: {properties: {seats: int}}\n", "a.yaml").declarations
    text = textwrap.dedent("""\
        journeys:
          - id: t1
            name: T1
            category: sales
            priority: 100
            entry: {event: Trial Started, stream: track}
            steps:
              - id: w
                wait: {until: Seat Added, stream: track, timeout: 3d}
              - id: b
                branch:
                  cases:
                    - {when: "event.type == 'Seat Added' && event.properties.seats > 3", next: s1}
              - id: s1
                send: {channel: email, content_id: x1}
        """)
    (journey,) = load_journeys_text(text, "j.yaml", decl)
    assert journey.id == "t1"
    with pytest.raises(JourneyError, match="j.yaml:13: .*unknown field 'seatz'.*did you mean 'seats'"):
        load_journeys_text(text.replace("seats > 3", "seatz > 3"), "j.yaml", decl)
    with pytest.raises(JourneyError, match="compared with a string"):
        load_journeys_text(text.replace("seats > 3", "seats > '3'"), "j.yaml", decl)


def test_a_declared_timestamp_given_as_an_iso_string_is_its_epoch_ms():
    """The Segment Spec writes dates as ISO-8601 strings (``traits.createdAt``, a ``renews_at`` property): declared
    ``timestamp`` (an int of epoch ms), every such value was dropped with a wrong_type warning."""
    import json as _json

    from journeyflow.stages.declared_types import DeclaredTypes
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.stages.parse import ParseConfig, Parser
    from journeyflow.stages.timeparse import parse_ts
    attrs = load_attributes_text("events:\n  Trial Started: {properties: {renews_at: timestamp}}\n"
                                 "traits: {createdAt: timestamp}\n", "t.yaml")
    parser = Parser(Hasher(b"k"), ParseConfig(declared_types=DeclaredTypes.of(attrs.declarations)))
    base = {"messageId": "m", "userId": "u", "timestamp": "2026-06-01T10:00:00Z"}
    res = parser.parse_full("track", _json.dumps({**base, "type": "track", "event": "Trial Started",
                                                  "properties": {"renews_at": "2026-07-01T00:00:00+02:00"},
                                                  "context": {"traits": {"createdAt": "2025-01-31T23:59:59.999Z"}}}))
    assert res.warnings == ()
    assert res.result.attrs["properties"]["renews_at"] == parse_ts("2026-06-30T22:00:00Z")
    assert res.result.attrs["traits"]["createdAt"] == parse_ts("2025-01-31T23:59:59.999Z")
    res = parser.parse_full("track", _json.dumps({**base, "type": "group", "groupId": "g", "traits": {},
                                                  "context": {"traits": {"createdAt": "2025-01-31T00:00:00Z"}}}))
    assert res.result.attrs["user_traits"]["createdAt"] == parse_ts("2025-01-31T00:00:00Z")
    res = parser.parse_full("track", _json.dumps({**base, "type": "identify", "traits": {"createdAt": "last May"}}))
    assert [(w.field, w.reason) for w in res.warnings] == [("traits.createdAt", "wrong_type")]
