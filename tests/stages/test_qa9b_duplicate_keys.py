"""qa9b: a record that writes an opt-out's deciding key twice.

JSON decoders keep the last of a repeated key (RFC 8259 §4 leaves it open), so ``{"status": "revoked", ...,
"status": "granted"}`` from a serializer or template that writes a field twice was a grant: the revoke lost.
Compliance fails safe: the record is read as the opt-out any of its values makes it (every channel when it names
several); other repeated keys keep the last value.  Both parse paths (``Parser.parse`` tries the fast path)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, TS


def raw(stream, *pairs):
    """JSON text of GOOD[stream] without the keys in ``pairs``, then each (key, value) pair, in order."""
    keys = {k for k, _v in pairs}
    body = [(k, v) for k, v in GOOD[stream].items() if k not in keys] + list(pairs)
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in body) + "}"


def both(stream, text):
    full = Parser(HASHER).parse_full(stream, text.encode(), "t:1").result
    fast = Parser(HASHER).parse(stream, text.encode(), "t:1")
    assert fast == full
    assert isinstance(full, Event), full
    return full


@pytest.mark.parametrize("values", [("revoked", "granted"), ("granted", "revoked"), ("Opted Out", "granted"),
                                    ("granted", False), ("granted", "revoked", "granted")])
def test_a_consent_whose_status_is_written_twice_is_a_revoke_if_any_says_so(values):
    ev = both("consent", raw("consent", *[("status", v) for v in values]))
    assert ev.type == "consent_revoked"


@pytest.mark.parametrize("values, expected", [
    (("unsubscribed", "opened"), "unsubscribed"), (("clicked", "complained"), "complained"),
    (("delivered", "Spam Report", "unsubscribe"), "unsubscribed"), (("opened", "clicked"), "clicked")])
def test_an_engagement_whose_type_is_written_twice_is_the_opt_out_any_says(values, expected):
    assert both("engagement", raw("engagement", *[("type", v) for v in values])).type == expected


@pytest.mark.parametrize("stream, decisive", [("consent", ("status", "revoked")),
                                              ("engagement", ("type", "unsubscribed"))])
def test_an_opt_out_naming_two_channels_blocks_every_channel(stream, decisive):
    ev = both(stream, raw(stream, decisive, ("channel", "email"), ("channel", "sms")))
    assert ev.attrs["channel"] == "all"


def test_repeated_keys_of_no_opt_out_keep_the_last_value():
    assert both("consent", raw("consent", ("status", "granted"), ("channel", "email"), ("channel", "sms"))
                ).attrs["channel"] == "sms"
    assert both("crm", raw("crm", ("type", "contact_created"), ("type", "contact_updated"))).type == "contact_updated"
    assert both("consent", raw("consent", ("status", "revoked"), ("status", "revoked"))).type == "consent_revoked"


def test_a_segment_message_naming_two_events_is_the_mapped_opt_out():
    ev = both("track", raw("track", ("event", "Unsubscribed"), ("event", "Clicked")))
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")
    ev = both("track", raw("track", ("event", "Clicked"), ("event", "Signed In")))
    assert ev.type != "unsubscribed" and ev.ts == TS
