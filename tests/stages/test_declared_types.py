"""Declared property and trait types are enforced on input (``journeyflow.stages.declared_types``): a value of
another type is dropped with a ``wrong_type`` field warning naming ``properties.<name>`` / ``traits.<name>``, the
event is kept; without declarations the parser keeps values as they are."""
from __future__ import annotations

import json
from pathlib import Path

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.declared_types import DeclaredTypes, fits
from journeyflow.stages.fields import is_warning_field
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.typecheck import parse_type
from tests.stages.test_qa12c_declared_values import parser_declaring

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
TS = "2026-10-05T10:00:00.000Z"


def parser() -> Parser:
    declared = EngineConfig.from_files(attributes=str(EXAMPLE / "attributes.yaml")).declared_types()
    assert declared is not None
    return Parser(Hasher(b"k"), ParseConfig(declared_types=declared))


def parse(p, stream, rec):
    res = p.parse_full(stream, json.dumps(rec).encode(), "t:1")
    assert isinstance(res.result, Event), res.result
    assert all(is_warning_field(stream, w.field) for w in res.warnings), res.warnings
    return res.result, [(w.field, w.reason, w.action, w.detail, w.value) for w in res.warnings]


def test_a_property_of_the_wrong_declared_type_is_dropped_with_a_warning():
    msg = {"type": "track", "event": "Trial Ending Soon", "messageId": "m1", "userId": "u1", "timestamp": TS,
           "properties": {"days_left": "3", "plan": "trial", "other": {"free": "form"}}}
    ev, warnings = parse(parser(), "track", msg)
    assert ev.type == "Trial Ending Soon" and ev.attrs["properties"] == {"plan": "trial", "other": {"free": "form"}}
    assert warnings == [("properties.days_left", "wrong_type", "dropped", "declared int, got string", '"3"')]
    ev, warnings = parse(Parser(Hasher(b"k")), "track", msg)  # nothing declared: kept as given
    assert ev.attrs["properties"]["days_left"] == "3" and warnings == []
    ok = {**msg, "properties": {"days_left": 3, "plan": None}}
    ev, warnings = parse(parser(), "track", ok)  # a null is an absent value: removed, no warning
    assert ev.attrs["properties"] == {"days_left": 3} and warnings == []


def test_a_trait_of_the_wrong_declared_type_is_dropped_with_a_warning():
    msg = {"type": "identify", "messageId": "m2", "userId": "u1", "timestamp": TS,
           "traits": {"plan": "trial", "company_size": "10", "email": "ann@example.com", "free": [1]}}
    ev, warnings = parse(parser(), "track", msg)
    assert ev.attrs["traits"] == {"plan": "trial", "free": [1]}
    assert warnings == [("traits.company_size", "wrong_type", "dropped", "declared int, got string", '"10"')]
    msg["traits"] = {"company_size": True}
    ev, warnings = parse(parser(), "track", msg)
    assert "traits" not in ev.attrs and [w[:2] for w in warnings] == [("traits.company_size", "wrong_type")]


def test_a_mapped_event_is_checked_against_its_built_in_declaration(tmp_path):
    p = parser_declaring(tmp_path, "version: 1\nevents:\n  product_view:\n    properties: {category: string, price: double}\n")
    seg = {"type": "track", "event": "Product Viewed", "messageId": "m3", "anonymousId": "d", "timestamp": TS,
           "properties": {"product_id": "p1", "category": 7, "price": 10}}
    ev, warnings = parse(p, "track", seg)
    assert (ev.stream, ev.type, ev.attrs["properties"]) == ("web", "product_view", {"product_id": "p1", "price": 10})
    assert [w[0] for w in warnings] == ["properties.category"]
    web = {"event_id": "w1", "ts": TS, "type": "product_view", "anonymous_id": "d", "product_id": "p1",
           "properties": {"category": False}}
    ev, warnings = parse(p, "web", web)
    assert "properties" not in ev.attrs and [w[:2] for w in warnings] == [("properties.category", "wrong_type")]


def test_fits_follows_the_declared_types():
    cases = [("int", 3, True), ("int", True, False), ("int", 3.0, True), ("int", 3.5, False), ("double", 3, True), ("double", 2.5, True),
             ("double", "2.5", False), ("string", "x", True), ("string", 1, False), ("bool", False, True),
             ("bool", 0, False), ("timestamp", 1_700_000_000_000, True), ("timestamp", TS, False),
             ("list<int>", [1, 2], True), ("list<int>", [1, "2"], False), ("map<string>", {"a": "b"}, True),
             ("map<string>", {"a": 1}, False), ("dyn", {"x": [1]}, True)]
    for t, v, ok in cases:
        assert fits(v, parse_type(t)) is ok, (t, v)


def test_no_declared_types_without_an_attributes_file():
    assert EngineConfig.from_files().declared_types() is None
    assert DeclaredTypes.of(EngineConfig.from_files().attributes().declarations) is None


def test_the_quality_check_accepts_configured_paths_only():
    from journeyflow.analytics.quality import OPTIONAL_STREAM_FIELDS
    from journeyflow.stages.fields import warning_field_family
    ok = [("track", "properties.days_left"), ("track", "traits.plan"), ("track", "properties.products[].sku"),
          ("web", "properties.category"), ("track", "userId"), ("web", "properties")]
    for stream, field in ok:
        assert f"{stream}.{warning_field_family(stream, field)}" in OPTIONAL_STREAM_FIELDS, field
        assert is_warning_field(stream, field)
    for stream, field in [("track", "bogus"), ("orders", "properties.x"), ("track", "properties."), ("web", "traits.x")]:
        assert f"{stream}.{warning_field_family(stream, field)}" not in OPTIONAL_STREAM_FIELDS, field
        assert not is_warning_field(stream, field)


def test_a_group_calls_traits_are_not_checked_against_the_customers_declared_traits():
    """The group's ``plan: 3`` is the company's, not a wrong-typed customer trait: kept as sent, no warning (and
    never folded into the customer's traits: test_computed_attributes.py)."""
    msg = {"type": "group", "groupId": "acme", "messageId": "g1", "userId": "u1", "timestamp": TS,
           "traits": {"plan": 3, "company_size": "large"}}
    ev, warnings = parse(parser(), "track", msg)
    assert ev.attrs["traits"] == {"plan": 3, "company_size": "large"} and warnings == []
    identify = {**msg, "type": "identify", "messageId": "i1"}
    ev, warnings = parse(parser(), "track", identify)
    assert sorted(w[0] for w in warnings) == ["traits.company_size", "traits.plan"]  # the user's: checked
