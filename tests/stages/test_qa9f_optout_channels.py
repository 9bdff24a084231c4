"""An opt-out naming its channel as people write it is read, never lost to a dead letter (QA of session 9, qa9f).

Before: a consent revoke or an unsubscribe whose ``channel`` named several channels (a JSON list
``["email", "sms"]``, ``"email,sms"``, ``"SMS and Calls"``, ``"SMS/Text"``), a phone in other words (``mobile``,
``Cell Number``, ``mobile phone number``, ``landline``) or an email channel as forms label it (``Email Address``,
``Marketing Emails``) was a ``schema_violation`` dead letter, so the person kept getting what they opted out of.
Now: one channel named (however often) is that channel, texts and calls are the phone scope, any other mix is every
channel (fail safe, as a repeated channel key: ``stages.duplicate_keys``); the built-in streams, the fast path and
the Segment stream read them alike.  A grant naming several channels still grants nothing (a dead letter)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.state import CustomerState
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

CHANNELS = ("email", "sms", "push", "call")
WRITTEN = [  # (channel as written, the channels still open after the opt-out)
    (["email", "sms"], []), ("email,sms", []), ("Email; Push", []), ("SMS and Calls", ["email", "push"]),
    ("sms & call", ["email", "push"]), ("SMS/Text", ["email", "push", "call"]), (["push"], ["email", "sms", "call"]),
    ("Phone Calls and Texts", ["email", "push"]), ("email, all", []),
    ("mobile", ["email", "push"]), ("Cell Number", ["email", "push"]), ("mobile phone number", ["email", "push"]),
    ("Landline", ["email", "push"]), ("Email Address", ["sms", "push", "call"]),
    ("Marketing Emails", ["sms", "push", "call"])]


def _open_after(ev: Event) -> list[str]:
    st = CustomerState(customer_id="crm:A")
    for ch in CHANNELS:
        grant = {"event_id": f"g-{ch}", "ts": "2025-01-01T00:00:00Z", "crm_id": "A", "channel": ch, "status": "granted"}
        st.apply(P.parse_full("consent", json.dumps(grant).encode()).result)
    st.apply(ev)
    return [ch for ch in CHANNELS if st.has_consent(ch)]


@pytest.mark.parametrize("written, still_open", WRITTEN)
@pytest.mark.parametrize("stream, rec", [("consent", {"status": "revoked"}), ("engagement", {"type": "unsubscribed"}),
                                         ("engagement", {"type": "complained"})])
def test_an_opt_out_naming_its_channels_otherwise_stops_them(stream, rec, written, still_open):
    raw = json.dumps({"event_id": "o1", "ts": "2026-10-05T09:00:00Z", "crm_id": "A", **rec,
                      "channel": written}).encode()
    ev = P.parse_full(stream, raw).result
    assert isinstance(ev, Event), ev
    assert Parser(HASHER).parse(stream, raw) == ev  # the fast path reads it alike
    assert _open_after(ev) == still_open


@pytest.mark.parametrize("written", [["email", "sms"], "email,sms", "SMS and Calls", "email, fax", ["email", 3]])
def test_a_grant_of_several_channels_or_an_unknown_part_is_still_a_dead_letter(written):
    dead = P.parse_full("consent", json.dumps({**GOOD["consent"], "status": "granted", "channel": written}).encode())
    assert isinstance(dead.result, DeadLetter) and dead.result.reason == "schema_violation"
    if written == "email, fax":
        revoke = json.dumps({**GOOD["consent"], "status": "revoked", "channel": written}).encode()
        assert isinstance(P.parse_full("consent", revoke).result, DeadLetter)  # a part that is no channel: said so


@pytest.mark.parametrize("written, still_open", [(["email", "sms"], []), ("SMS and Calls", ["email", "push"]),
                                                 ("SMS/Text", ["email", "push", "call"]),
                                                 ("mobile", ["email", "push"])])
def test_a_segment_unsubscribe_naming_several_channels_stops_them(written, still_open):
    mapping = ("version: 1\nevents:\n  Unsubscribed:\n    stream: engagement\n    type: unsubscribed\n"
               "    attrs:\n      channel: {from: [properties.channel]}\n")
    p = Parser(HASHER, ParseConfig(segment_mapping=mapping))
    msg = {**GOOD["track"], "userId": "A", "event": "Unsubscribed", "properties": {"channel": written}}
    ev = p.parse_full("track", json.dumps(msg).encode()).result
    assert isinstance(ev, Event), ev
    assert _open_after(ev) == still_open


@pytest.mark.parametrize("props", [{}, {"channel": None}, {"channel": ""}, {"channel": []}])
@pytest.mark.parametrize("stream, etype", [("engagement", "unsubscribed"), ("engagement", "complained"),
                                           ("consent", "consent_revoked")])
def test_a_segment_opt_out_whose_message_names_no_channel_is_of_every_channel(props, stream, etype):
    """As the built-in streams read an opt-out with no channel; it was a schema_violation dead letter (nothing
    blocked).  A grant or a delivery without a channel is still one."""
    mapping = (f"version: 1\nevents:\n  Opt Out:\n    stream: {stream}\n    type: {etype}\n"
               "    attrs:\n      channel: {from: [properties.channel]}\n")
    p = Parser(HASHER, ParseConfig(segment_mapping=mapping))
    msg = {**GOOD["track"], "userId": "A", "event": "Opt Out", "properties": props}
    ev = p.parse_full("track", json.dumps(msg).encode()).result
    assert isinstance(ev, Event), ev
    assert _open_after(ev) == []
    for kind in (("consent", "consent_granted"), ("engagement", "delivered")):
        other = Parser(HASHER, ParseConfig(segment_mapping=mapping.replace(f"stream: {stream}\n    type: {etype}",
                                                                           "stream: %s\n    type: %s" % kind)))
        dead = other.parse_full("track", json.dumps(msg).encode()).result
        assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation"


@pytest.mark.parametrize("where", ["context", "properties"])
def test_a_segment_unsubscribed_that_names_only_a_phone_stops_its_texts_too(where):
    """qa12a: the default mapping fixes Unsubscribed to email (the spec's email events); an SMS tool reporting a STOP
    that way, identified by a phone only, opted out of email and the texts went on.  With an email named too it
    stays the email event it is."""
    at = {"context": {"traits": {"phone": "+1 415 555 0134"}}} if where == "context" else {
        "properties": {"phone": "+1 415 555 0134"}}
    msg = {**GOOD["track"], "userId": "A", "event": "Unsubscribed", **at}
    ev = P.parse_full("track", json.dumps(msg).encode()).result
    assert isinstance(ev, Event) and ev.type == "unsubscribed", ev
    assert "sms" not in _open_after(ev) and "email" not in _open_after(ev)
    with_email = {**msg, "context": {"traits": {"phone": "+1 415 555 0134", "email": "ann@example.com"}}}
    ev = P.parse_full("track", json.dumps(with_email).encode()).result
    assert _open_after(ev) == ["sms", "push", "call"]
