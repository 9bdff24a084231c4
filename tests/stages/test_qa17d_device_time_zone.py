"""The customer's time zone from every Segment call's ``context.timezone`` (qa17d).

Segment's browser and mobile libraries set ``context.timezone`` (the device's IANA zone) on every call; the server
libraries set none.  journeyflow read it from ``identify`` calls only, so a shop that identifies its users from its
backend (the usual place: at sign-up, with the traits it holds) and tracks them in the browser never learnt a zone:
quiet hours held in the policy's ``default_timezone`` (UTC), and a Tokyo customer's cart reminder went out in the
middle of her night.  Now every call's ``context.timezone`` is the customer's zone as of that event (the latest in
event time wins, as the identify call's did), also on events the mapping turns into built-in ones (``Product
Added`` → web ``add_to_cart``); a group call's own ``traits.timezone`` (the group's) never is."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.state import CustomerState

P = Parser(Hasher(b"test-key"))


def parse(ts: str, **kw) -> Event:
    raw = json.dumps({"messageId": f"m-{ts}", "userId": "u1", "timestamp": ts, **kw}).encode()
    res = P.parse_full("track", raw, "t:1")
    assert P.parse("track", raw, "t:1") == res.result and isinstance(res.result, Event), res
    return res.result


@pytest.mark.parametrize("call", [
    {"type": "track", "event": "Trial Ending Soon"},
    {"type": "track", "event": "Product Added", "properties": {"product_id": "p-1"}},  # mapped: web add_to_cart
    {"type": "page", "name": "Pricing"},
    {"type": "screen", "name": "Home"},
    {"type": "group", "groupId": "g-1", "traits": {"timezone": "America/New_York"}},  # the group's zone: not hers
    {"type": "alias", "previousId": "d-1"},
])
def test_the_device_zone_of_any_call_is_the_customers_zone(call):
    s = CustomerState()
    s.apply(parse("2026-07-01T10:00:00Z", type="identify", traits={"plan": "trial"}))  # a backend identify: no zone
    assert s.tz is None
    ev = parse("2026-07-02T10:00:00Z", context={"timezone": "Asia/Tokyo"}, **call)
    assert ev.attrs["timezone"] == "Asia/Tokyo"
    s.apply(ev)
    assert (s.tz, s.tz_at) == ("Asia/Tokyo", ev.ts)


def test_the_latest_zone_in_event_time_wins_and_a_bad_device_zone_is_a_warning():
    s = CustomerState()
    s.apply(parse("2026-07-01T10:00:00Z", type="identify", context={"timezone": "Europe/Paris"}))
    s.apply(parse("2026-07-02T10:00:00Z", type="track", event="Clicked", context={"timezone": "america/new_york"}))
    assert s.tz == "America/New_York"
    raw = json.dumps({"messageId": "m-x", "userId": "u1", "timestamp": "2026-07-03T10:00:00Z", "type": "track",
                      "event": "Clicked", "context": {"timezone": "Mars/Olympus"}}).encode()
    res = P.parse_full("track", raw, "t:1")
    assert "timezone" not in res.result.attrs
    assert [(w.field, w.reason) for w in res.warnings] == [("context.timezone", "unknown_timezone")]
    s.apply(res.result)
    assert s.tz == "America/New_York"  # kept
