"""Segment-Spec messages (the ``track`` stream): event time, identifiers, attributes, the mapping onto the built-in
streams, batch envelopes and dead letters (``journeyflow.stages.segment``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.errors import UserError
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.fields import is_warning_field
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.identity.rules import links_for
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.segment.batch import split_batch
from journeyflow.stages.segment.mapping import load_mapping_text
from journeyflow.stages.segment.times import event_time, shift_times
from journeyflow.stages.timeparse import parse_ts

HASHER = Hasher(b"test-key")
P = Parser(HASHER)
TS = "2026-10-05T10:00:00.000Z"


def parse(msg, parser=P):
    res = parser.parse_full("track", json.dumps(msg).encode(), "test:1")
    # every warning names a declared optional field of the stream (the quality checks of the field_warnings table)
    assert all(is_warning_field("track", w.field) and w.stream == "track" for w in res.warnings), res.warnings
    return res


def msg(**kw):
    return {"type": "track", "messageId": "m-1", "anonymousId": "dev-1", "event": "Clicked", "timestamp": TS, **kw}


# ------------------------------------------------------------------------------------------------ times
def test_event_time_prefers_timestamp_then_corrects_the_device_clock():
    t = parse_ts(TS)
    assert event_time({"timestamp": TS, "originalTimestamp": "2026-10-05T11:00:00Z"})[:2] == (t, "timestamp")
    # device clock 5 minutes fast: sent 2 s after the call, received (server clock) at 10:00:02
    skewed = {"originalTimestamp": "2026-10-05T10:05:00Z", "sentAt": "2026-10-05T10:05:02Z",
              "receivedAt": "2026-10-05T10:00:02Z"}
    assert event_time(skewed)[:2] == (t, "skew_corrected")
    assert event_time({"originalTimestamp": TS, "receivedAt": "2026-10-05T10:09:00Z"})[:2] == (t, "originalTimestamp")
    assert event_time({"receivedAt": TS})[:2] == (t, "receivedAt")
    shifted = shift_times(skewed, t + 60_000)
    assert event_time(shifted)[0] == t + 60_000 and shifted["sentAt"] == "2026-10-05T10:06:02.000Z"


def test_a_bad_optional_time_is_a_field_warning_no_usable_time_a_dead_letter():
    ev, warnings = parse(msg(timestamp=None, originalTimestamp=TS, sentAt="soon"))
    assert isinstance(ev, Event) and ev.ts == parse_ts(TS)
    assert [(w.field, w.reason) for w in warnings] == [("sentAt", "wrong_type")]
    dead, _ = parse(msg(timestamp="yesterday"))  # (a bad timestamp beside a good time: test_qa10f_segment_times)
    assert isinstance(dead, DeadLetter) and dead.reason == "bad_timestamp"
    dead, _ = parse(msg(timestamp=None))
    assert dead.reason == "bad_timestamp"
    dead, _ = parse(msg(timestamp="2226-10-05T10:00:00Z"))
    assert dead.reason == "timestamp_out_of_range"


# ------------------------------------------------------------------------------------------------ calls
def test_identify_hashes_email_keeps_public_traits_and_the_timezone_and_links():
    ev, warnings = parse({"type": "identify", "messageId": "id-1", "anonymousId": "dev-1", "userId": "u-7",
                          "timestamp": TS, "context": {"timezone": "Europe/Amsterdam", "traits": {"plan": "free"}},
                          "traits": {"email": " Ann@Example.COM ", "phone": "+1 415 555 0134", "plan": "trial",
                                     "firstName": "Ann", "address": {"city": "X"}, "logins": 4}})
    email_key, _ = HASHER.email("ann@example.com")
    phone_key, _ = HASHER.phone("+14155550134")
    assert (ev.uid, ev.stream, ev.type) == ("track/id-1", "track", "identify") and warnings == ()
    assert set(ev.ids) == {"anon:dev-1", "crm:u-7", email_key, phone_key}
    assert ev.attrs == {"traits": {"plan": "trial", "logins": 4}, "timezone": "Europe/Amsterdam"}
    assert ev.contact["email"] == "ann@example.com" and ev.contact["phone"] == "+14155550134"
    assert "Ann" not in json.dumps(ev.attrs) and "example" not in json.dumps(ev.attrs)
    assert len(links_for(ev.stream, ev.type, ev.ids)) == 3  # identify links all four keys (a star)


def test_track_page_screen_group_alias():
    ev, _ = parse(msg(event="Trial Ending Soon", properties={"days": 3, "plan": {"id": "t"}, "email": "a@b.co"},
                      context={"traits": {"plan": "trial", "email": "x@example.com"}}, userId=42))
    assert (ev.type, ev.attrs) == ("Trial Ending Soon", {"properties": {"days": 3, "plan": {"id": "t"}},
                                                         "traits": {"plan": "trial"}})
    assert "crm:42" in ev.ids and ev.contact["email"] == "x@example.com"
    assert links_for(ev.stream, ev.type, ev.ids) == []  # a track call links nothing
    ev, _ = parse({"type": "page", "messageId": "p", "anonymousId": "d", "name": "Pricing", "timestamp": TS,
                   "properties": {"path": "/pricing"}})
    assert (ev.type, ev.attrs) == ("Page Viewed", {"name": "Pricing", "properties": {"path": "/pricing"}})
    ev, _ = parse({"type": "screen", "messageId": "s", "userId": "u", "timestamp": TS})
    assert (ev.stream, ev.type, ev.ids) == ("track", "Screen Viewed", ("crm:u",))
    ev, _ = parse({"type": "group", "messageId": "g", "userId": "u", "groupId": "acme", "timestamp": TS,
                   "traits": {"name": "Acme", "employees": 50}})
    assert (ev.type, ev.attrs) == ("group", {"groupId": "acme", "traits": {"employees": 50}})
    ev, _ = parse({"type": "alias", "messageId": "a", "previousId": "dev-9", "userId": "u", "timestamp": TS})
    assert (ev.type, set(ev.ids)) == ("alias", {"anon:dev-9", "crm:u"})
    assert links_for(ev.stream, ev.type, ev.ids) == [("crm:u", "anon:dev-9")]


@pytest.mark.parametrize("bad, reason", [
    ({"type": None, "event": None}, "unknown_type"),  # (no type, no field naming the call: qa11c)
    ({"type": "launch"}, "unknown_type"),
    ({"messageId": {"id": "m1"}}, "schema_violation"),  # (none at all gets its own id: qa11c)
    ({"event": None}, "schema_violation"),
    ({"event": ["Clicked"]}, "schema_violation"),  # (properties that are no object: kept, tests/stages/test_qa9b_*)
    ({"anonymousId": None}, "missing_identifier"),
    ({"anonymousId": None, "context": {"traits": {"email": "ann@example.com"}}}, "missing_identifier"),
    ({"anonymousId": {"id": 1}}, "invalid_identifier"),
    ({"properties": {"blob": "x" * 33_000}}, "payload_too_large"),
])
def test_bad_messages_are_dead_letters_with_their_reason(bad, reason):
    m = {k: v for k, v in {**msg(), **bad}.items() if v is not None}
    dead, warnings = parse(m)
    assert isinstance(dead, DeadLetter) and (dead.stream, dead.reason) == ("track", reason), dead
    assert warnings == ()


def test_bad_optional_fields_are_dropped_with_warnings():
    ev, warnings = parse(msg(userId={"id": 1}, context="web", name=7))
    assert isinstance(ev, Event) and ev.ids == ("anon:dev-1",)
    assert sorted((w.field, w.reason) for w in warnings) == [("context", "wrong_type"),
                                                              ("userId", "invalid_identifier")]
    ev, warnings = parse({"type": "identify", "messageId": "i", "userId": "u", "timestamp": TS,
                          "traits": {"email": "nope", "timezone": "Eastern Standard Time"}})
    assert ev.attrs["timezone"] == "America/New_York"
    assert sorted((w.field, w.reason, w.value) for w in warnings) == [
        ("traits.email", "invalid_identifier", None), ("traits.timezone", "windows_timezone",
                                                        '"Eastern Standard Time"')]


# ------------------------------------------------------------------------------------------------ mapping
def test_a_mapped_attribute_that_does_not_convert_names_the_path_it_was_read_from():
    """``properties.product_id`` given as an object: the warning names that path (the mapping's), not ``properties``;
    an array path is written as in the mapping file."""
    ev, warnings = parse(msg(event="Product Viewed", properties={"product_id": {"id": 7}}))
    assert (ev.stream, ev.type, "product_id" in ev.attrs) == ("web", "product_view", False)
    assert [(w.field, w.reason, w.action) for w in warnings] == [("properties.product_id", "wrong_type", "dropped")]
    assert "product_id: expected a string or an integer, got dict" in warnings[0].detail
    ev, warnings = parse(msg(event="Checkout Started", properties={"products": [{"product_id": [1]}]}))
    assert [w.field for w in warnings] == ["properties.products[].product_id"]


def test_semantic_events_map_onto_the_built_in_events_the_journeys_read():
    ev, _ = parse(msg(event="Product Added", properties={"product_id": 507, "quantity": 2}))
    assert (ev.uid, ev.stream, ev.type, ev.attrs["product_id"]) == ("web/m-1", "web", "add_to_cart", "507")
    assert ev.attrs["properties"] == {"product_id": 507, "quantity": 2}
    ev, _ = parse(msg(event="Order Completed", userId="u", properties={
        "order_id": "o-1", "total": 30.5, "revenue": 25, "currency": "EUR",
        "products": [{"product_id": "A"}, {"product_id": 12}, {"name": "no id"}]}))
    assert (ev.stream, ev.type) == ("orders", "order_placed")
    assert {k: ev.attrs[k] for k in ("order_id", "product_ids", "amount", "currency")} == {
        "order_id": "o-1", "product_ids": ["A", "12"], "amount": 30.5, "currency": "EUR"}
    dead, _ = parse(msg(event="Order Completed", properties={"total": 3}))
    assert dead.reason == "schema_violation" and "order_id" in dead.detail
    ev, warnings = parse(msg(event="Order Cancelled", properties={"order_id": "o-1", "total": "lots"}))
    assert (ev.type, "amount" in ev.attrs) == ("order_cancelled", False)
    assert [(w.field, w.reason) for w in warnings] == [("properties.total", "wrong_type")]
    ev, _ = parse(msg(event="Unsubscribed", userId="u"))
    assert (ev.stream, ev.type, ev.attrs["channel"]) == ("engagement", "unsubscribed", "email")
    ev, _ = parse(msg(event="Signed In", userId="u"))
    assert (ev.stream, ev.type) == ("web", "login") and len(links_for(ev.stream, ev.type, ev.ids)) == 1


def test_an_overriding_mapping_replaces_the_default():
    text = ("version: 1\nevents:\n  Added To Bag:\n    stream: web\n    type: add_to_cart\n    attrs:\n"
            "      product_id: {from: [properties.sku], as: string}\n")
    load_mapping_text(text, "m.yaml")
    p = Parser(HASHER, ParseConfig(segment_mapping=text, segment_mapping_source="m.yaml"))
    ev, _ = parse(msg(event="Added To Bag", properties={"sku": "S-1"}), p)
    assert (ev.stream, ev.type, ev.attrs["product_id"]) == ("web", "add_to_cart", "S-1")
    ev, _ = parse(msg(event="Product Added", properties={"product_id": "X"}), p)
    assert (ev.stream, ev.type) == ("track", "Product Added")  # not in this mapping: stays a custom event


@pytest.mark.parametrize("body, line, message", [
    ("  X:\n    stream: shop\n    type: add_to_cart\n", 4, "not a built-in stream"),
    ("  X:\n    stream: web\n    type: add_to_bag\n", 5, "not a web event type"),
    ("  X:\n    stream: orders\n    type: order_placed\n", 3, "need the attribute 'order_id'"),
    ("  X:\n    stream: web\n    type: login\n    colour: red\n", 6, "Extra inputs"),
    ("  X:\n    stream: engagement\n    type: opened\n    attrs:\n      channel: {value: fax}\n", 7, "channel"),
])
def test_mapping_errors_name_file_and_line(body, line, message):
    with pytest.raises(UserError) as e:
        load_mapping_text("version: 1\nevents:\n" + body, "m.yaml")
    assert str(e.value).startswith(f"m.yaml:{line}:") and message in str(e.value), str(e.value)


# ------------------------------------------------------------------------------------------------ batches
def test_batch_envelopes_split_with_the_shared_fields():
    env = {"batch": [{"type": "track", "event": "A", "messageId": "1"}, {"type": "page", "messageId": "2",
                                                                          "sentAt": "x"}, 7],
           "sentAt": TS, "context": {"library": {"name": "http"}}}
    parts = [json.loads(b) for b in split_batch(json.dumps(env).encode())]
    assert parts[0] == {"type": "track", "event": "A", "messageId": "1", "sentAt": TS,
                        "context": {"library": {"name": "http"}}}
    assert parts[1]["sentAt"] == "x" and parts[2] == 7
    assert split_batch(json.dumps(msg()).encode()) is None
    assert split_batch(b'{"type": "track", "batch": []}') is None and split_batch(b"not json") is None


def test_a_batch_that_is_not_an_array_says_so():
    """``{"batch": "..."}`` is one record, dead-lettered as a message without a type -- naming the envelope."""
    assert split_batch(b'{"batch": "nope"}') is None
    dead, _ = parse({"batch": "nope"})
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown_type"
    assert "batch must be an array of messages, got str" in dead.detail


# ------------------------------------------------------------------------------------------------ fuzz
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                     max_leaves=8)
_value = st.one_of(_json, st.sampled_from([TS, "2026-10-05T10:00:00+02:00", 1791194400000, "ann@example.com",
                                           "Product Added", "Order Completed", "identify", "track", "page",
                                           "alias", "group", "screen", {"email": "ann@example.com", "plan": "x"},
                                           {"product_id": 5, "order_id": "o", "products": [{"product_id": 1}]}]))
_keys = st.sampled_from(["type", "messageId", "userId", "anonymousId", "previousId", "event", "name", "groupId",
                         "properties", "traits", "context", "timestamp", "originalTimestamp", "sentAt",
                         "receivedAt", "batch"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(_keys, _value, max_size=10), base=st.booleans())
def test_any_message_is_an_event_or_a_dead_letter_and_no_email_reaches_attrs(fields, base):
    m = {**(msg() if base else {}), **fields}
    res = P.parse_full("track", json.dumps(m).encode(), "fuzz:1")
    assert isinstance(res.result, (Event, DeadLetter))
    if isinstance(res.result, Event):
        ev = res.result
        assert ev.uid.startswith(f"{ev.stream}/") and isinstance(ev.ts, int) and ev.ids
        assert "ann@example.com" not in json.dumps(ev.attrs)
        assert all(is_warning_field("track", w.field) for w in res.warnings)
    else:
        assert "ann@example.com" not in res.result.payload + res.result.detail
