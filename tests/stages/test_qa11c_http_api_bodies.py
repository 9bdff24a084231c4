"""qa11c: Segment HTTP Tracking API bodies as sources post them to ``/v1/track``, ``/v1/identify`` ... : the
endpoint says which call it is, so the body has no ``type`` (segment.com/docs/connections/sources/catalog/libraries/
server/http-api/), and a library may leave ``messageId`` out (Segment fills it in on arrival).  Both were dead
letters.  Now a message whose call is unambiguous from the fields only that call has (``event``: track; ``groupId``:
group; ``previousId``: alias; ``traits`` and none of those: identify) is read as that call, and a missing
``messageId`` is a deterministic id (a keyed hash of the canonical message: a replay, a redelivery of the same
message, gets the same id and is de-duplicated the same way; two different messages get different ids).  A message
whose fields fit no single call (a page or a screen: ``name``/``properties`` alone; ``event`` with ``groupId``)
stays an ``unknown_type`` dead letter that says why."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason as D
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

AT = "2026-10-01T10:00:00Z"
HASHER = Hasher(b"k")


def parse(msg: dict, parser: Parser | None = None):
    return (parser or Parser(HASHER)).parse("track", json.dumps(msg).encode(), "track.jsonl:1")


def typed(msg: dict, call: str) -> dict:
    return {"type": call, **msg}


BODIES = {  # the endpoint's body, without type -> the call it is
    "track": {"messageId": "m1", "userId": "u1", "timestamp": AT, "event": "Product Added",
              "properties": {"product_id": "p1"}},
    "identify": {"messageId": "m2", "userId": "u1", "timestamp": AT, "traits": {"email": "ann@example.com",
                                                                                 "plan": "pro"}},
    "group": {"messageId": "m3", "userId": "u1", "timestamp": AT, "groupId": "g1", "traits": {"name": "Acme"}},
    "alias": {"messageId": "m4", "userId": "u1", "timestamp": AT, "previousId": "anon-1"},
}


@pytest.mark.parametrize("call", sorted(BODIES))
def test_a_body_without_type_is_read_as_the_call_its_fields_name(call):
    got, want = parse(BODIES[call]), parse(typed(BODIES[call], call))
    assert isinstance(want, Event), want
    assert got == want


def test_a_track_body_is_mapped_like_a_typed_track_call():
    ev = parse(BODIES["track"])
    assert (ev.stream, ev.type, ev.attrs.get("product_id")) == ("web", "add_to_cart", "p1")


@pytest.mark.parametrize("body, why", [
    ({"name": "Home", "properties": {"path": "/"}}, "page or screen"),
    ({"event": "Clicked", "groupId": "g1"}, "event"),
    ({"event": "Clicked", "traits": {"plan": "pro"}}, "traits"),
    ({"previousId": "a", "groupId": "g1"}, "groupId"),
    ({}, "no field"),
])
def test_a_body_whose_fields_fit_no_single_call_stays_a_dead_letter_saying_why(body, why):
    dl = parse({"messageId": "m9", "userId": "u1", "timestamp": AT, **body})
    assert isinstance(dl, DeadLetter) and dl.reason == D.UNKNOWN_TYPE, dl
    assert "no type" in dl.detail and why in dl.detail, dl.detail


@pytest.mark.parametrize("missing", [{}, {"messageId": None}, {"messageId": ""}, {"messageId": "  "}])
def test_a_message_without_messageid_gets_a_deterministic_id(missing):
    msg = {k: v for k, v in typed(BODIES["track"], "track").items() if k != "messageId"} | missing
    first, again = parse(msg), parse(msg, Parser(HASHER))
    assert isinstance(first, Event), first
    # (a mapped message, Product Added: the stand-in id is in its target stream's namespace, as a messageId is)
    assert first.uid == again.uid and first.uid.startswith(f"{first.stream}/c-")
    other = parse({**msg, "properties": {"product_id": "p2"}})
    assert other.uid != first.uid


def test_the_derived_id_does_not_depend_on_key_order_or_spacing():
    msg = {k: v for k, v in BODIES["identify"].items() if k != "messageId"}
    reordered = dict(reversed(list(msg.items())))
    a = Parser(HASHER).parse("track", json.dumps(msg).encode())
    b = Parser(HASHER).parse("track", json.dumps(reordered, indent=2).encode())
    assert isinstance(a, Event) and a.uid == b.uid


def test_the_derived_id_holds_no_address():
    msg = {k: v for k, v in BODIES["identify"].items() if k != "messageId"}
    ev = parse(msg)
    assert "ann" not in ev.uid and "example" not in ev.uid


def test_a_body_with_neither_type_nor_messageid_is_read():
    msg = {k: v for k, v in BODIES["alias"].items() if k != "messageId"}
    ev = parse(msg)
    assert isinstance(ev, Event) and ev.type == "alias", ev


def test_a_type_that_is_given_still_decides():
    # an explicit type is never second-guessed: a page call with an `event` key is a page
    ev = parse({"type": "page", "messageId": "m5", "userId": "u1", "timestamp": AT, "name": "Home",
                "event": "stray"})
    assert isinstance(ev, Event) and ev.type == "Page Viewed"
    dl = parse({"type": "bogus", "messageId": "m6", "userId": "u1", "timestamp": AT, "event": "Clicked"})
    assert isinstance(dl, DeadLetter) and dl.reason == D.UNKNOWN_TYPE
