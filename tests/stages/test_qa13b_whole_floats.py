"""A declared ``int`` (or ``timestamp``) sent as a whole float is that int (qa13b, lead 2): JavaScript has one number
type and a pandas int column with a gap is float64, so exports write ``3.0``; ids written so were already read as
their digits (``json_text.whole_digits``, up to 2**53), while a declared ``days_left: int`` of ``3.0`` was dropped
as ``wrong_type`` and the user's journey never fired.  ``3.5`` and a whole float beyond 2**53 (not exact) stay the
wrong type (``stages.declared_types``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.declared_types import as_declared, check_value, parse_type
from journeyflow.stages.parse import Parser
from tests.stages.test_qa12c_declared_values import parser_declaring

ATTRS = """version: 1
events:
  Trial Ending Soon:
    properties: {days_left: int, renews_at: timestamp, seats: 'list<int>', limits: 'map<int>', price: double}
traits:
  seats: int
"""


@pytest.fixture(scope="module")
def parser(tmp_path_factory) -> Parser:
    return parser_declaring(tmp_path_factory.mktemp("a"), ATTRS)


def _parse(parser: Parser, props: dict, traits: dict | None = None, call: str = "track"):
    msg = {"type": call, "messageId": "m1", "userId": "u1", "timestamp": "2026-10-05T10:00:00Z"}
    if call == "track":
        msg.update(event="Trial Ending Soon", properties=props)
    if traits is not None:
        msg["traits" if call == "identify" else "context"] = traits if call == "identify" else {"traits": traits}
    res = parser.parse_full("track", json.dumps(msg).encode(), "track.jsonl:1")
    assert isinstance(res.result, Event), res.result
    return res.result, {w.field: (w.reason, w.detail) for w in res.warnings}


@pytest.mark.parametrize("props, field, want", [
    ({"days_left": 3.0}, "days_left", 3),
    ({"days_left": -2.0}, "days_left", -2),
    ({"days_left": 9007199254740992.0}, "days_left", 2 ** 53),
    ({"renews_at": 1790848800000.0}, "renews_at", 1790848800000),
    ({"seats": [1.0, 2]}, "seats", [1, 2]),
    ({"limits": {"api": 10.0}}, "limits", {"api": 10}),
])
def test_a_whole_float_declared_int_is_the_int(parser, props, field, want):
    ev, warnings = _parse(parser, props)
    got = ev.attrs["properties"][field]
    assert warnings == {} and got == want
    assert json.dumps(got) == json.dumps(want)  # an int, not a float (CEL: int, integer arithmetic)


@pytest.mark.parametrize("props, field, words", [
    ({"days_left": 3.5}, "days_left", "got double"),
    ({"days_left": 18014398509481984.0}, "days_left", "2**53"),
    ({"seats": [1.0, 2.5]}, "seats", "list"),
    ({"renews_at": 1790848800.0}, "renews_at", "epoch seconds"),
])
def test_other_floats_stay_refused(parser, props, field, words):
    ev, warnings = _parse(parser, props)
    assert field not in ev.attrs.get("properties", {})
    reason, detail = warnings[f"properties.{field}"]
    assert reason in ("wrong_type", "out_of_range") and words in detail, detail


def test_a_whole_float_trait_declared_int_is_kept_as_an_int(parser):
    for call in ("identify", "track"):
        ev, warnings = _parse(parser, {}, {"seats": 4.0}, call)
        assert warnings == {} and ev.attrs["traits"]["seats"] == 4 and type(ev.attrs["traits"]["seats"]) is int


def test_the_rule_is_one_for_every_integer_kind():
    for text in ("int", "timestamp", "list<int>", "map<int>"):
        t = parse_type(text)
        assert check_value(1790848800000.5, t) is not None
    assert as_declared(5.0, parse_type("int")) == 5 and type(as_declared(5.0, parse_type("int"))) is int
    assert as_declared(5.0, parse_type("double")) == 5.0
