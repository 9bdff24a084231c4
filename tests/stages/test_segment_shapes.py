"""QA (issue 19): Segment messages as real libraries write them -- PHP's empty arrays, empty time strings, the skew
correction with every valid ISO-8601 spelling and offset, a batch's shared sentAt."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch
from journeyflow.stages.timeparse import parse_ts

P = Parser(Hasher(b"test-key"))
TS = "2026-06-01T10:00:00.000Z"
T0 = parse_ts(TS)


def parse(msg):
    return P.parse_full("track", json.dumps(msg).encode(), "t:1")


@pytest.mark.parametrize("call, extra", [
    ("track", {"event": "Clicked", "properties": []}),
    ("page", {"properties": [], "context": []}),
    ("identify", {"traits": [], "context": {"traits": []}}),
    ("group", {"groupId": "acme", "traits": []}),
    ("track", {"event": "Clicked", "context": {"traits": [], "library": {"name": "analytics-php"}}}),
])
def test_phps_empty_arrays_are_empty_objects(call, extra):
    """PHP's json_encode writes an empty array as ``[]``: a PHP backend's ``"properties": []`` was a
    schema_violation dead letter (and ``"context": []`` a field warning)."""
    ev, warnings = parse({"type": call, "messageId": "m", "userId": "u1", "timestamp": TS, **extra})
    assert isinstance(ev, Event), ev
    assert warnings == ()
    assert ev.attrs.get("properties", {}) == {} and "traits" not in ev.attrs


def test_an_empty_time_string_is_an_absent_time():
    """``"timestamp": ""`` (a library that leaves the field empty) fell through to a bad_timestamp dead letter
    although the device times give the event time."""
    msg = {"type": "track", "event": "E", "messageId": "m", "anonymousId": "a", "timestamp": "",
           "originalTimestamp": "2026-06-01T10:05:00Z", "sentAt": "2026-06-01T10:05:02Z",
           "receivedAt": "2026-06-01T10:00:02Z"}
    ev, warnings = parse(msg)
    assert isinstance(ev, Event) and ev.ts == T0 and warnings == ()
    ev, warnings = parse({**msg, "sentAt": "", "originalTimestamp": "2026-06-01T09:59:00Z"})
    assert ev.ts == T0 - 60_000 and warnings == ()  # no sentAt: the device's originalTimestamp
    # (a device time after the arrival is not used: qa10g, tests/stages/test_qa10g_segment_times.py)


@pytest.mark.parametrize("original, sent", [
    ("2026-06-01T15:35:00.250+05:30", "2026-06-01T15:35:02.250+05:30"),  # India, extended
    ("20260601T020500.25-0800", "20260601T020502.25-0800"),               # basic format, fraction of a second
    ("2026-06-01t10:05:00,250z", "2026-06-01 10:05:02,250Z"),             # RFC 3339 t/z/space, decimal comma
    ("2026-152T10:05:00.25Z", "2026-W23-1T10:05:02.250Z"),                # ordinal and week dates (1 June 2026)
    ("2026-06-01T11:05:00.250+01", "2026-06-01T10:05:02.250\u221200:00"),  # hour-only offset, U+2212 minus
])
def test_the_skew_correction_is_exact_in_every_iso_spelling(original, sent):
    """Device clock 5 minutes fast, sent 2 s after the call, received at 10:00:02.250 (server): the event happened
    at 10:00:00.250 whatever the spellings and offsets of the device's times."""
    ev, warnings = parse({"type": "track", "event": "E", "messageId": "m", "anonymousId": "a",
                          "originalTimestamp": original, "sentAt": sent, "receivedAt": "2026-06-01T10:00:02.250Z"})
    assert warnings == () and ev.ts == T0 + 250


def test_a_batchs_sent_at_corrects_each_message():
    batch = {"sentAt": "2026-06-01T10:05:10Z", "batch": [
        {"type": "track", "event": "E", "messageId": f"m{i}", "anonymousId": "a",
         "originalTimestamp": f"2026-06-01T10:05:0{i}Z", "receivedAt": "2026-06-01T10:00:10Z"} for i in range(3)]}
    times = [P.parse("track", m).ts for m in split_batch(json.dumps(batch).encode())]
    assert times == [T0, T0 + 1000, T0 + 2000]


def test_a_mapped_attribute_falls_back_to_the_next_path_when_one_does_not_convert():
    """``product_id`` sent as an object but ``sku`` usable: the product view kept no product (the first path with a
    value won even though it did not convert); an order whose ``order_id`` is an object but ``checkout_id`` usable
    was a dead letter; a ``total`` that is no number (``"12,50"``; ``"12.50"`` is 12.5) hid a numeric ``revenue``."""
    ev, warnings = parse({"type": "track", "event": "Product Viewed", "messageId": "m", "anonymousId": "a",
                          "timestamp": TS, "properties": {"product_id": {"id": 7}, "sku": "SKU-7"}})
    assert (ev.stream, ev.type, ev.attrs["product_id"]) == ("web", "product_view", "SKU-7")
    assert [(w.field, w.reason) for w in warnings] == [("properties.product_id", "wrong_type")]
    ev, warnings = parse({"type": "track", "event": "Order Completed", "messageId": "o", "anonymousId": "a",
                          "timestamp": TS, "properties": {"order_id": {"x": 1}, "checkout_id": "CO-1",
                                                          "total": "12,50", "revenue": 12.5}})
    assert isinstance(ev, Event), ev
    assert (ev.attrs["order_id"], ev.attrs["amount"]) == ("CO-1", 12.5)
    assert sorted(w.field for w in warnings) == ["properties.order_id", "properties.total"]
    dead, _ = parse({"type": "track", "event": "Order Completed", "messageId": "o2", "anonymousId": "a",
                     "timestamp": TS, "properties": {"order_id": {"x": 1}}})
    assert dead.reason == "schema_violation" and "order_id" in dead.detail


@pytest.mark.parametrize("locale, phone, e164", [
    ("en-GB", "020 7946 0958", "+442079460958"),      # a UK number written nationally on a UK device
    ("de_DE", "030 1234567", "+49301234567"),         # Android writes de_DE
    ("en-GB", "(415) 555-0134", "+14155550134"),      # not a UK number: read in --default_region (US)
    ("en-GB", "+1 415 555 0134", "+14155550134"),     # international: the same anywhere
    ("fr", "(415) 555-0134", "+14155550134"),         # a language without a region: the default region
])
def test_a_national_phone_is_read_in_the_region_of_the_devices_locale(locale, phone, e164):
    """Segment's ``context.locale`` names the device's region: ``020 7946 0958`` from an ``en-GB`` device is a UK
    number; with ``--default_region US`` it was dropped as invalid and the customer had no phone."""
    ev, warnings = parse({"type": "identify", "messageId": "i", "userId": "u", "timestamp": TS,
                          "traits": {"phone": phone}, "context": {"locale": locale}})
    assert ev.contact["phone"] == e164 and warnings == ()
    assert P.hasher.phone(e164)[0] in ev.ids


def test_a_single_product_object_where_the_spec_has_an_array_is_one_product():
    """``"products": {"product_id": "p1"}`` (one product, not wrapped in an array): the order kept no product ids,
    silently, so cross-sell and the purchase facts missed it."""
    ev, warnings = parse({"type": "track", "event": "Order Completed", "messageId": "o", "userId": "u",
                          "timestamp": TS, "properties": {"order_id": "o1", "products": {"product_id": "p1"}}})
    assert ev.attrs["product_ids"] == ["p1"] and warnings == ()
    ev, _ = parse({"type": "track", "event": "Checkout Started", "messageId": "c", "userId": "u", "timestamp": TS,
                   "properties": {"products": {"sku": "S-1"}}})
    assert ev.attrs["product_id"] == "S-1"
