"""qa9b: a Segment opt-out whose user traits hold an unusable address and whose properties hold the real one.

An email tool's ``Unsubscribed`` / ``Email Marked as Spam`` / ``Email Bounced`` names the address in
``properties.email``; it was only read when the message had no ``traits.email`` at all.  A trait that is present
but unusable (``"{{email}}"``: a template left unrendered; ``"n/a"``) hid the real address: the opt-out blocked the
user id only, and the address (every holder of it) stayed open.  Now the address in the properties applies, and the
unusable trait is reported."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from tests.stages.test_input_edge_cases import GOOD, P

ADDRESS = "ann@example.com"


@pytest.mark.parametrize("event", ["Unsubscribed", "Email Marked as Spam", "Email Bounced"])
@pytest.mark.parametrize("bad", ["{{email}}", "n/a", "Ann Lee", 5])
def test_the_properties_address_applies_when_the_trait_is_unusable(event, bad):
    msg = {**GOOD["track"], "userId": "u-1", "event": event, "context": {"traits": {"email": bad}},
           "properties": {"email": ADDRESS}}
    res = P.parse_full("track", json.dumps(msg).encode())
    ev = res.result
    assert isinstance(ev, Event) and ev.stream == "engagement"
    assert ev.contact.get("email") == ADDRESS and Hasher(b"test-key").email(ADDRESS)[0] in ev.ids
    assert [(w.field, w.reason) for w in res.warnings] == [("traits.email", "invalid_identifier")]


def test_a_usable_trait_still_wins_and_a_plain_event_ignores_properties():
    msg = {**GOOD["track"], "event": "Unsubscribed", "context": {"traits": {"email": "bob@example.com"}},
           "properties": {"email": ADDRESS}}
    ev = P.parse_full("track", json.dumps(msg).encode()).result
    assert ev.contact["email"] == "bob@example.com"
    plain = {**msg, "event": "Clicked", "context": {"traits": {"email": "{{email}}"}}}
    ev = P.parse_full("track", json.dumps(plain).encode()).result
    assert "email" not in ev.contact
