"""qa8b: no raw address in a kept event, whatever part of the message holds it (event names, object keys)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.pii import contains_pii

P = Parser(Hasher(b"test-key"))
TRACK = {"type": "track", "messageId": "m1", "anonymousId": "dev-1", "timestamp": "2026-10-01T10:00:00Z"}
WEB = {"event_id": "w1", "ts": 1790848800000, "anonymous_id": "dev-1", "type": "page_view"}
ADDRESSES = ["ann@example.com", "+1 415 555 0134"]


def parse(stream, rec):
    got = P.parse_full(stream, json.dumps(rec).encode(), "t:1").result
    assert isinstance(got, Event), got
    return got


def raw_addresses(value) -> list[str]:
    """Every string (keys included) in ``value`` that still holds an address."""
    if isinstance(value, str):
        return [value] if contains_pii(value) else []
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in raw_addresses(k) + raw_addresses(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in raw_addresses(v)]
    return []


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_in_a_track_event_name_is_a_token(address):
    """``analytics.track("Invite Sent to " + email)`` (a tracking-plan mistake): the event type -- written to the
    audit topic, journey steps and tables, and kept in state -- held the raw address."""
    ev = parse("track", {**TRACK, "event": f"Invite Sent to {address}"})
    assert ev.type.startswith("Invite Sent to ") and not raw_addresses(ev.type)
    # the same address in another spelling is the same event name (a keyed token of the normalized address)
    other = address.upper() if "@" in address else address.replace(" ", "-")
    assert parse("track", {**TRACK, "event": f"Invite Sent to {other}"}).type == ev.type


@pytest.mark.parametrize("address", ADDRESSES)
@pytest.mark.parametrize("call, field", [("track", "properties"), ("identify", "traits"), ("page", "properties")])
def test_an_address_as_an_object_key_is_a_token(address, call, field):
    """A map keyed by address (``{"invited": {"bob@x.com": true}}``): keys were kept as given, so the address
    reached event attributes, customer traits and the snapshots table."""
    rec = {**TRACK, "type": call, field: {address: True, "invited": {address: 1}, "plan": "pro"}}
    if call == "track":
        rec["event"] = "Invites Sent"
    ev = parse("track", rec)
    assert not raw_addresses(ev.attrs), ev.attrs
    assert ev.attrs[field]["plan"] == "pro"


@pytest.mark.parametrize("address", ADDRESSES)
@pytest.mark.parametrize("full_path", [False, True])
def test_an_address_as_a_web_property_key_is_a_token(address, full_path):
    """The same on the web stream, on the fast path and on the full one (a bad optional ``email`` sends the record
    there)."""
    rec = {**WEB, "properties": {address: "yes", "path": "/"}}
    if full_path:
        rec["email"] = "not an address"
    ev = parse("web", rec)
    assert not raw_addresses(ev.attrs), ev.attrs
    assert ev.attrs["properties"]["path"] == "/" and len(ev.attrs["properties"]) == 2
