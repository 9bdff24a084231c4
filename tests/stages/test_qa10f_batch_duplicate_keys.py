"""qa10f: a message inside a Segment batch envelope that writes its ``event`` twice is read fail safe, as one alone.

Before: ``stages.duplicate_keys`` read a repeated opt-out key only on whole records; a batch envelope was decoded
(last value wins) and split before the parser saw its messages, so ``{"batch": [{"event": "Unsubscribed", ...,
"event": "x"}]}`` became an event ``x`` and the unsubscribe was lost.  Now the split message keeps every value of a
key it repeats (``stages.segment.batch``), and the parser reads it as the mapped opt-out.  Both the file reader's
text lines and Pub/Sub's bytes go through ``split_batch``; a JSON array (webhook batches) too."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch
from tests.stages.test_input_edge_cases import HASHER

TS = "2026-10-05T10:00:00.000Z"


def item(*pairs, mid="m1"):
    """JSON text of a track message with ``pairs`` written in order (a key may repeat)."""
    body = [("type", "track"), ("messageId", mid), ("userId", "u1"), ("timestamp", TS)] + list(pairs)
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in body) + "}"


def envelopes(*items):
    """The same messages as a batch envelope (text and bytes, with shared fields) and as a JSON array."""
    env = '{"batch": [' + ", ".join(items) + '], "sentAt": "' + TS + '", "context": {"library": {"name": "x"}}}'
    return [env, env.encode(), "[" + ", ".join(items) + "]"]


def parsed(payload):
    parts = split_batch(payload)
    assert parts is not None
    out = []
    for raw in parts:
        full = Parser(HASHER).parse_full("track", raw, "t:1").result
        assert Parser(HASHER).parse("track", raw, "t:1") == full
        assert isinstance(full, Event), full
        out.append(full)
    return out


@pytest.mark.parametrize("names", [("Unsubscribed", "x"), ("x", "Unsubscribed"), ("Clicked", "Unsubscribed", "y")])
@pytest.mark.parametrize("form", range(3))
def test_a_batch_message_naming_two_events_is_the_mapped_opt_out(names, form):
    payload = envelopes(item(("event", "Clicked"), mid="m0"),
                        item(*[("event", n) for n in names], ("properties", {"channel": "email"})))[form]
    first, second = parsed(payload)
    assert first.type == "Clicked"
    assert (second.stream, second.type) == ("engagement", "unsubscribed")


def test_a_batch_message_is_read_as_the_same_message_alone():
    """Whatever the repetition, the split message gives the event its line alone gives (shared fields aside)."""
    for pairs in [(("event", "Clicked"), ("event", "Signed In")), (("event", "Unsubscribed"), ("event", "Clicked")),
                  (("event", "Order Completed"), ("properties", {"order_id": "o1"}), ("event", "Unsubscribed"))]:
        alone = Parser(HASHER).parse_full("track", item(*pairs).encode(), "t:1").result
        (inside,) = parsed("[" + item(*pairs) + "]")
        assert (inside.stream, inside.type, inside.ts) == (alone.stream, alone.type, alone.ts)


def test_ordinary_batches_are_split_as_before():
    parts = split_batch('{"batch": [' + item(("event", "A"), ("properties", {"event": "nested"})) + "]}")
    assert [json.loads(p)["event"] for p in parts] == ["A"]
    assert json.loads(parts[0])["properties"] == {"event": "nested"}


@pytest.mark.parametrize("channels", [("sms", "email"), ("email", "sms"), ("push", ["sms"])])
def test_an_opt_out_naming_its_channel_twice_blocks_every_channel_it_names(channels):
    """Sibling inside the message: ``properties.channel`` written twice (the mapped opt-out's channel) was read as
    its last value; now as every value, alone and inside a batch (email and another: every channel)."""
    props = "{" + ", ".join(f'"channel": {json.dumps(c)}' for c in channels) + "}"
    text = item(("event", "Unsubscribed"))[:-1] + ', "properties": ' + props + "}"
    alone = Parser(HASHER).parse_full("track", text.encode(), "t:1").result
    (inside,) = parsed("[" + text + "]")
    for ev in (alone, inside):
        assert (ev.stream, ev.type, ev.attrs["channel"]) == ("engagement", "unsubscribed", "all")


def test_a_channel_written_twice_in_other_events_keeps_the_last_value():
    text = item(("event", "Clicked"), ("properties", {"channel": "x"}))
    text = text.replace('{"channel": "x"}', '{"channel": "sms", "channel": "email"}')
    alone = Parser(HASHER).parse_full("track", text.encode(), "t:1").result
    (inside,) = parsed("[" + text + "]")
    assert alone.attrs["properties"] == inside.attrs["properties"] == {"channel": "email"}
