"""qa9b: channels named the way preference centres and ESPs name them.

An opt-out whose channel was ``E-Mail``, ``text`` or ``push_notification`` was a ``schema_violation`` dead letter on
the built-in streams (the channel was not blocked), and a Segment event mapped to engagement/consent with the
channel read from the message (``channel: {from: [properties.channel]}``) kept it as written: ``SMS`` matched no
send (the opt-out blocked nothing) and ``whatsapp`` made an event of a channel that does not exist."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

SPELLINGS = [("E-Mail", "email"), ("mail", "email"), ("text", "sms"), ("Text Message", "sms"), ("TXT", "sms"),
             ("push_notification", "push"), ("Mobile Push", "push"), ("voice", "call"), ("Phone Call", "call")]
MAPPING = """version: 1
events:
  Unsubscribed:
    stream: engagement
    type: unsubscribed
    attrs:
      channel: {from: [properties.channel]}
"""


@pytest.mark.parametrize("written, channel", SPELLINGS)
@pytest.mark.parametrize("stream", ["consent", "engagement"])
def test_an_opt_out_naming_its_channel_another_way_blocks_that_channel(stream, written, channel):
    raw = json.dumps({**GOOD[stream], "channel": written}).encode()
    ev = P.parse_full(stream, raw).result
    assert Parser(HASHER).parse(stream, raw) == ev
    # (engagement has no call channel in engagement.avsc, yet a call tool's unsubscribe stops calls: fail safe)
    assert isinstance(ev, Event) and ev.attrs["channel"] == channel, ev


@pytest.mark.parametrize("written", ["whatsapp", "carrier pigeon"])
def test_a_word_that_names_no_one_channel_is_still_a_dead_letter(written):
    dead = P.parse_full("consent", json.dumps({**GOOD["consent"], "channel": written}).encode()).result
    assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation"


@pytest.mark.parametrize("written, channel", [sc for sc in SPELLINGS if sc[1] != "call"] + [
    ("SMS", "sms"), (" Email ", "email"), ("all", "all"), ("phone", "phone")])
def test_a_segment_mapped_channel_read_from_the_message_is_a_channel(written, channel):
    p = Parser(HASHER, ParseConfig(segment_mapping=MAPPING))
    msg = {**GOOD["track"], "event": "Unsubscribed", "properties": {"channel": written}}
    ev = p.parse_full("track", json.dumps(msg).encode()).result
    assert isinstance(ev, Event) and (ev.stream, ev.type, ev.attrs["channel"]) == ("engagement", "unsubscribed",
                                                                                     channel)


@pytest.mark.parametrize("written", ["whatsapp", 5])
def test_a_segment_mapped_channel_that_is_none_is_a_dead_letter(written):
    p = Parser(HASHER, ParseConfig(segment_mapping=MAPPING))
    msg = {**GOOD["track"], "event": "Unsubscribed", "properties": {"channel": written}}
    dead = p.parse_full("track", json.dumps(msg).encode()).result
    assert isinstance(dead, DeadLetter) and dead.reason == "schema_violation" and "channel" in dead.detail
