"""A data engineer's own events with values a declared type cannot hold (qa12c): each is dropped with a field
warning (``out_of_range``, the record kept), never read as another value (``stages.declared_types``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser

TS = "2026-10-05T10:00:00.000Z"
ATTRS = """version: 1
events:
  Plan Upgraded:
    properties: {seats: int, price: double, renews_at: timestamp, limits: 'map<int>', stamps: 'list<timestamp>'}
  product_view:
    properties: {rank: int, price: double}
traits:
  seats: int
  signed_up_at: timestamp
  score: double
"""


@pytest.fixture(scope="module")
def parser(tmp_path_factory) -> Parser:
    return parser_declaring(tmp_path_factory.mktemp("a"), ATTRS)


def parser_declaring(folder, attrs: str) -> Parser:
    """A parser that checks the declared types of ``attrs`` (an attributes file's text, written into ``folder``)."""
    path = folder / "attributes.yaml"
    path.write_text(attrs)
    return Parser(Hasher(b"k"), ParseConfig(declared_types=EngineConfig.from_files(attributes=str(path)).declared_types()))


def _track(props: dict | str, traits: dict | None = None) -> bytes:
    body = props if isinstance(props, str) else json.dumps(props)
    extra = f', "context": {{"traits": {json.dumps(traits)}}}' if traits is not None else ""
    return (f'{{"type": "track", "event": "Plan Upgraded", "messageId": "m1", "userId": "u1", "timestamp": "{TS}", '
            f'"properties": {body}{extra}}}').encode()


def _parse(parser: Parser, stream: str, line: bytes):
    res = parser.parse_full(stream, line, "t:1")
    assert isinstance(res.result, Event), res.result  # the record is kept
    return res.result, {w.field: (w.reason, w.detail) for w in res.warnings}


@pytest.mark.parametrize("props, field, words", [
    ('{"seats": 1180591620717411303424}', "seats", "64-bit"),
    ('{"seats": -9223372036854775809}', "seats", "64-bit"),
    ('{"price": NaN}', "price", "NaN"),
    ('{"price": 1e400}', "price", "infinite"),
    ('{"price": -Infinity}', "price", "infinite"),
    ('{"renews_at": 1790848800}', "renews_at", "epoch seconds"),
    ('{"renews_at": 0}', "renews_at", "epoch seconds"),
    ('{"renews_at": 100000000000000000000}', "renews_at", "64-bit"),
    ('{"renews_at": 253402300800000}', "renews_at", "9999"),
    ('{"renews_at": -62135596800001}', "renews_at", "0001-01-01"),
    ('{"limits": {"api": 18446744073709551616}}', "limits", "64-bit"),
    ('{"stamps": [1790848800000, 1790848800]}', "stamps", "epoch seconds"),
])
def test_a_declared_value_out_of_its_types_range_is_dropped_with_a_warning(parser, props, field, words):
    ev, warnings = _parse(parser, "track", _track(props[:-1] + ', "plan": "pro"}'))
    assert ev.attrs["properties"] == {"plan": "pro"}  # the other (undeclared) property is kept
    reason, detail = warnings[f"properties.{field}"]
    assert reason == "out_of_range" and words in detail, detail


def test_values_in_range_are_kept_as_they_are(parser):
    props = {"seats": 2 ** 63 - 1, "price": -0.5, "renews_at": -2208988800000, "limits": {"api": -(2 ** 63)},
             "stamps": [1790848800000]}
    ev, warnings = _parse(parser, "track", _track(json.dumps(props)))
    assert ev.attrs["properties"] == props and warnings == {}
    ev, warnings = _parse(parser, "track", _track({"renews_at": "2026-06-01T10:00:00+02:00"}))
    assert ev.attrs["properties"] == {"renews_at": 1780300800000} and warnings == {}


def test_traits_and_built_in_events_follow_the_same_ranges(parser):
    ev, warnings = _parse(parser, "track", _track({}, {"seats": 2 ** 64, "signed_up_at": 1790848800,
                                                       "score": float("inf"), "plan": "x"}))
    assert {f: r for f, (r, _) in warnings.items()} == {
        "traits.seats": "out_of_range", "traits.signed_up_at": "out_of_range", "traits.score": "out_of_range"}
    assert "seats" not in ev.attrs.get("traits", {}) and "signed_up_at" not in ev.attrs.get("traits", {})
    web = {"event_id": "w1", "ts": TS, "type": "product_view", "anonymous_id": "d", "product_id": "p1",
           "properties": {"price": float("nan"), "rank": 3}}
    ev, warnings = _parse(parser, "web", json.dumps(web).encode())  # (json writes NaN, as some exporters do)
    assert ev.attrs["properties"] == {"rank": 3} and warnings["properties.price"][0] == "out_of_range"


def test_a_timestamp_string_that_is_no_time_says_what_is_accepted(parser):
    _, warnings = _parse(parser, "track", _track({"renews_at": "2026-06-01"}))
    reason, detail = warnings["properties.renews_at"]
    assert reason == "wrong_type" and "ISO-8601" in detail and "zone" in detail, detail


DOUBLES = """version: 1
events:
  Quote Sent:
    properties: {total: double, seats: double, rates: 'list<double>', by_plan: 'map<double>', count: int}
traits:
  score: double
"""


def test_an_integer_declared_double_is_read_as_a_double(tmp_path):
    path = tmp_path / "attributes.yaml"
    path.write_text(DOUBLES)
    config = EngineConfig.from_files(attributes=str(path))
    p = Parser(Hasher(b"k"), ParseConfig(declared_types=config.declared_types()))
    msg = {"type": "track", "event": "Quote Sent", "messageId": "q1", "userId": "u1", "timestamp": TS,
           "properties": {"total": 7, "seats": 2, "rates": [1, 2.5], "by_plan": {"pro": 3}, "count": 4},
           "context": {"traits": {"score": 9}}}
    ev, warnings = _parse(p, "track", json.dumps(msg).encode())
    props = ev.attrs["properties"]
    assert warnings == {} and props == {"total": 7.0, "seats": 2.0, "rates": [1.0, 2.5], "by_plan": {"pro": 3.0},
                                        "count": 4}
    assert [type(v) for v in (props["total"], props["seats"], props["rates"][0], props["by_plan"]["pro"])] == [float] * 4
    assert type(props["count"]) is int and type(ev.attrs["traits"]["score"]) is float
    # so a condition does double arithmetic, as the type checker assumed: 7 / 2 is 3.5, not 3
    from journeyflow.stages.conditions import compile_condition
    decl = config.attributes().declarations
    c = compile_condition("event.properties.total / event.properties.seats == 3.5", "j.yaml:1",
                          decl.variables(decl.event_type("Quote Sent", None)))
    act = {"event": {"stream": "track", "type": "Quote Sent", "ts": 1, "properties": props}, "customer": {}}
    assert c.evaluate(act) is True and c.evaluate_slow(act) is True


def test_iso_times_in_a_list_or_map_of_timestamps_are_read_as_epoch_ms(parser):
    props = {"stamps": ["2026-06-01T10:00:00+02:00", 1790848800000], "renews_at": "2026-06-01T08:00:00Z"}
    ev, warnings = _parse(parser, "track", _track(json.dumps(props)))
    assert warnings == {} and ev.attrs["properties"] == {"stamps": [1780300800000, 1790848800000],
                                                         "renews_at": 1780300800000}
    ev, warnings = _parse(parser, "track", _track({"stamps": ["next tuesday"]}))
    assert "properties" not in ev.attrs and warnings["properties.stamps"][0] == "wrong_type"


def test_a_trait_the_traits_fold_would_not_keep_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "attributes.yaml"
    path.write_text("version: 1\ntraits:\n  note: string\n  extra: dyn\n  plan: string\n")
    p = Parser(Hasher(b"k"), ParseConfig(declared_types=EngineConfig.from_files(attributes=str(path)).declared_types()))
    msg = {"type": "identify", "messageId": "i1", "userId": "u1", "timestamp": TS,
           "traits": {"note": "x" * 300, "extra": ["a"], "plan": "pro"}}
    ev, warnings = _parse(p, "track", json.dumps(msg).encode())
    assert ev.attrs["traits"] == {"plan": "pro"}
    assert {f: r for f, (r, _) in warnings.items()} == {"traits.note": "out_of_range", "traits.extra": "wrong_type"}
    msg["traits"] = {"extra": float("nan"), "note": "short"}
    ev, warnings = _parse(p, "track", json.dumps(msg).encode())
    assert ev.attrs["traits"] == {"note": "short"} and warnings["traits.extra"][0] == "out_of_range"
