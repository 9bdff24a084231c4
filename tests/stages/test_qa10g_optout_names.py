"""qa10g: a Segment event name that contains a mapped opt-out's name is that opt-out, of its own channels only.

Before: only the mapped name in another case or with ``_`` / ``-`` for spaces was an opt-out (qa10f); ``SMS
Unsubscribed``, ``Newsletter Unsubscribed``, ``Unsubscribed From Digest Preview``, ``UnsubscribedFromDigest`` or
``UNSUBSCRIBED`` with a zero-width space were unmapped track events: the person said they unsubscribed and kept
getting messages.  The fail-safe reading (``stages.segment.optouts``): such a name is the opt-out, of the channel
the mapping fixes plus one a word of the name or ``properties.channel`` names -- not of everything."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import HASHER


def parsed(event, channel=None):
    msg = {"type": "track", "messageId": "m", "userId": "u", "timestamp": "2026-10-05T10:00:00Z", "event": event}
    if channel is not None:
        msg["properties"] = {"channel": channel}
    ev = Parser(HASHER).parse_full("track", json.dumps(msg), "t:1").result
    assert isinstance(ev, Event), ev
    return ev


def as_mapped(event_written_exactly, channel=None):
    """The channel the exactly mapped name gives with ``channel`` named in properties (None: none)."""
    return parsed(event_written_exactly, channel).attrs["channel"]


@pytest.mark.parametrize("name, mapped, channel", [
    ("Unsubscribed From Digest Preview", "Unsubscribed", None),  # the mapping's channel only: not everything
    ("Newsletter Unsubscribed", "Unsubscribed", None),
    ("UnsubscribedFromDigest", "Unsubscribed", None),
    ("Unsubscribed.", "Unsubscribed", None),
    ("UNSUBSCRIBED\u200b", "Unsubscribed", None),
    ("SMS Unsubscribed", "Unsubscribed", "sms"),  # a word naming a channel: read as properties.channel reads it
    ("SMSUnsubscribed", "Unsubscribed", "sms"),
    ("Text Unsubscribed", "Unsubscribed", "sms"),
    ("Unsubscribed From All", "Unsubscribed", "all"),
    ("Email Marked as Spam (Gmail FBL)", "Email Marked as Spam", None),
])
def test_a_name_holding_an_opt_out_s_name_is_that_opt_out(name, mapped, channel):
    ev = parsed(name)
    exact = parsed(mapped)
    assert (ev.stream, ev.type) == (exact.stream, exact.type)
    assert ev.attrs["channel"] == as_mapped(mapped, channel)


def test_a_digest_unsubscribe_is_not_an_opt_out_of_every_channel():
    assert parsed("Unsubscribed From Digest Preview").attrs["channel"] == parsed("Unsubscribed").attrs["channel"]
    assert parsed("Unsubscribed From Digest Preview").attrs["channel"] != as_mapped("Unsubscribed", "all")


@pytest.mark.parametrize("name", ["Resubscribed", "Unsubscribe Link Clicked", "Subscribed", "Spam Check Passed",
                                  "Email Marked", "Digest Preview Viewed"])
def test_names_that_do_not_hold_an_opt_out_s_words_stay_track_events(name):
    ev = parsed(name)
    assert (ev.stream, ev.type) == ("track", name)


def test_the_words_of_an_exactly_mapped_name_never_widen_its_channel():
    """``Email Marked as Spam`` names email itself; an exact name is read as the mapping says, words aside."""
    assert parsed("Email Marked as Spam").attrs["channel"] == "email"
