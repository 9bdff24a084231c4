"""qa10f: Segment-Spec messages as Segment, RudderStack, Jitsu and the server libraries really send them.

Shapes modelled on the public docs' example payloads (Segment spec common fields and e-commerce v2, RudderStack's
event spec with ``channel``/``rudderId`` and ``+05:30`` arrival times, a Ruby library batch with ``null`` fields,
Jitsu's ``writeKey``/``clientIds``) -- the values are made up.  Three things broke (each test below failed before):

* an opt-out whose event name a tool writes its own way (``unsubscribed``, ``UNSUBSCRIBED``,
  ``email_marked_as_spam``) was an unmapped track event: the address stayed open (``stages.segment.optouts``);
* an ``Unsubscribed`` whose ``properties.channel`` is ``sms`` (an SMS tool) opted out of email only, the mapped
  channel: now both (email and sms: every channel, as the built-in streams read several);
* ``Order Completed`` with one product given by ``product_id`` and another by ``sku`` only lost the second
  (``mapping.lookup_per_item``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch
from tests.stages.test_input_edge_cases import HASHER

TS = "2026-11-29T10:00:00.000Z"


def parse(message: dict) -> list[Event]:
    raw = json.dumps(message).encode()
    out = []
    for part in split_batch(raw) or [raw]:
        full = Parser(HASHER).parse_full("track", part, "t:1").result
        assert Parser(HASHER).parse("track", part, "t:1") == full
        assert isinstance(full, Event), full
        out.append(full)
    return out


REAL = {
    "analytics.js": {
        "anonymousId": "23adfd82-aa0f-45a7-a756-24f2a7a4c895", "type": "track", "event": "Course Clicked",
        "context": {"library": {"name": "analytics.js", "version": "2.11.1"}, "locale": "en-US",
                    "page": {"path": "/academy/", "referrer": "", "search": "", "title": "Academy",
                             "url": "https://example.com/academy/"}, "userAgent": "Mozilla/5.0", "ip": "203.0.113.9"},
        "integrations": {"All": True}, "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
        "properties": {"title": "Intro"}, "receivedAt": "2026-11-29T10:00:01.266Z", "sentAt": "2026-11-29T10:00:01.169Z",
        "timestamp": "2026-11-29T10:00:01.249Z", "originalTimestamp": "2026-11-29T10:00:01.152Z", "userId": "AiUG",
        "_metadata": {"bundled": ["Segment.io"], "unbundled": []}, "version": 2},
    "rudderstack": {
        "type": "track", "event": "Product Reviewed", "channel": "web", "rudderId": "8f8fa6b5",
        "properties": {"review_id": "86ac1cd43", "product_id": "9578257311", "rating": 3.0},
        "context": {"app": {"name": "RudderLabs JavaScript SDK"}, "traits": {"email": "alex@example.com"},
                    "os": {"name": "", "version": ""}, "screen": {"density": 2}},
        "messageId": "2116ef8c", "anonymousId": "bc73bb87", "userId": "1hKO",
        "originalTimestamp": "2026-11-29T09:03:17.562Z", "sentAt": "2026-11-29T09:03:22.563Z",
        "receivedAt": "2026-11-29T14:33:22.580+05:30", "request_ip": "[::1]:53709",
        "timestamp": "2026-11-29T14:33:17.579+05:30"},
    "ruby batch": {"sentAt": "2026-11-29T14:49:26.084+03:00", "batch": [
        {"event": "test", "userId": "test", "anonymousId": None, "options": None, "integrations": None,
         "context": {"library": {"name": "analytics-ruby", "version": "2.2.5"}}, "properties": {},
         "messageId": "295bfcb8", "timestamp": "2026-11-29T14:49:26.082+03:00", "type": "track"}]},
    "jitsu": {"type": "track", "event": "signup", "anonymousId": "9b2b1b5e", "messageId": "jitsu-1",
              "timestamp": TS, "receivedAt": TS, "sentAt": TS, "writeKey": "abc",
              "context": {"library": {"name": "@jitsu/js", "version": "1.1.0"}, "clientIds": {"ga4": {"clientId": "1"}}}},
    "ios screen": {"anonymousId": "3a12eab0", "channel": "mobile", "type": "screen", "name": "Home",
                   "context": {"device": {"model": "iPhone7,2", "type": "ios", "advertisingId": "8A1F0F2A"},
                               "timezone": "Europe/Amsterdam", "library": {"name": "analytics-ios"}},
                   "integrations": {}, "messageId": "C08EE2FB", "properties": {"Feed Type": "private"},
                   "timestamp": TS, "userId": "97980cfea0067", "version": "1.1"},
}


@pytest.mark.parametrize("name", REAL)
def test_real_world_shapes_are_events(name):
    for ev in parse(REAL[name]):
        assert ev.ts > 0 and ev.ids


@pytest.mark.parametrize("event", ["unsubscribed", "UNSUBSCRIBED", "unsubscribed ", "Email_Marked_As_Spam",
                                   "email-marked-as-spam"])
def test_an_opt_out_in_another_spelling_is_the_mapped_opt_out(event):
    (ev,) = parse({"type": "track", "event": event, "userId": "u1", "messageId": "m1", "timestamp": TS,
                   "context": {"traits": {"email": "bob@example.com"}}})
    assert ev.stream == "engagement" and ev.type in ("unsubscribed", "complained")
    assert any(k.startswith("email:") for k in ev.ids)


def test_other_events_are_still_matched_exactly():
    (ev,) = parse({"type": "track", "event": "order_completed", "userId": "u1", "messageId": "m1", "timestamp": TS,
                   "properties": {"order_id": "o1"}})
    assert (ev.stream, ev.type) == ("track", "order_completed")


@pytest.mark.parametrize("channel, expected", [("sms", "all"), ("SMS", "all"), (["sms"], "all"), ("push", "all"),
                                               ("email", "email"), ("web", "email"), (None, "email")])
def test_an_unsubscribe_naming_another_channel_opts_out_of_it_too(channel, expected):
    props = {} if channel is None else {"channel": channel}
    (ev,) = parse({"type": "track", "event": "Unsubscribed", "userId": "u1", "messageId": "m1", "timestamp": TS,
                   "properties": props})
    assert (ev.stream, ev.type, ev.attrs["channel"]) == ("engagement", "unsubscribed", expected)


def test_an_order_keeps_a_product_given_by_its_sku_only():
    (ev,) = parse({"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1", "timestamp": TS,
                   "properties": {"order_id": "o1", "products": [{"product_id": "p1", "sku": "S-1"},
                                                                 {"sku": "S-2"}, {"product_id": 507}]}})
    assert ev.attrs["product_ids"] == ["p1", "S-2", "507"]
    (ev,) = parse({"type": "track", "event": "Checkout Started", "userId": "u1", "messageId": "m2", "timestamp": TS,
                   "properties": {"products": [{"sku": "S-9"}, {"product_id": "p2"}]}})
    assert ev.attrs["product_id"] == "S-9"  # the first product, by its sku
