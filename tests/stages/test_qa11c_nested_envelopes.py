"""qa11c: an envelope whose batch holds request bodies (``{"batch": [{"batch": [...]}, [...]], "context": ...}``,
one level deep since qa10g): the *outer* envelope's shared fields (``context``, ``integrations``, ``sentAt``) apply to
the messages of its nested bodies as to its own messages (segment-docs, HTTP API "Batch": the envelope's context "will
be merged with any context inside each of the items in the batch"); the inner envelope's own fields win over the
outer's, the message's own over both.  Before, the nested messages lost them (the outer ``context.traits.email``: the
unsubscribe of a nested body named no address).  A nested body that repeats a key keeps every value too."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import batch_count, split_batch

AT = "2026-10-01T00:00:00Z"
SENT = "2026-10-01T00:00:05Z"


def msg(i: int, **extra) -> dict:
    return {"type": "track", "event": "Viewed Thing", "messageId": f"m{i}", "userId": "u1", "timestamp": AT, **extra}


def parts(body) -> list[dict]:
    raw = json.dumps(body).encode()
    out = split_batch(raw)
    assert out is not None and batch_count(raw) == len(out)
    return [json.loads(p) for p in out]


def test_the_outer_envelopes_fields_reach_the_messages_of_a_nested_array():
    got = parts({"batch": [[msg(1), msg(2)], msg(3)], "context": {"timezone": "Asia/Tokyo"}, "sentAt": SENT,
                 "integrations": {"All": False}})
    assert [m["context"] for m in got] == [{"timezone": "Asia/Tokyo"}] * 3
    assert [m["sentAt"] for m in got] == [SENT] * 3
    assert [m["integrations"] for m in got] == [{"All": False}] * 3


def test_inner_envelope_fields_win_over_the_outer_ones_and_the_messages_own_over_both():
    inner = {"batch": [msg(1, context={"locale": "de-DE"}), msg(2, sentAt="2026-10-01T00:00:09Z")],
             "context": {"timezone": "Europe/Berlin"}, "sentAt": "2026-10-01T00:00:07Z"}
    got = parts({"batch": [inner], "context": {"timezone": "Asia/Tokyo", "ip": "203.0.113.7"}, "sentAt": SENT})
    assert got[0]["context"] == {"timezone": "Europe/Berlin", "ip": "203.0.113.7", "locale": "de-DE"}
    assert got[1]["context"] == {"timezone": "Europe/Berlin", "ip": "203.0.113.7"}
    assert [m["sentAt"] for m in got] == ["2026-10-01T00:00:07Z", "2026-10-01T00:00:09Z"]


def test_an_unsubscribe_in_a_nested_body_blocks_the_address_the_outer_context_names():
    unsub = msg(1, event="Unsubscribed")
    body = {"batch": [{"batch": [unsub]}, msg(2)], "context": {"traits": {"email": "ann@example.com"}}}
    ev = Parser(Hasher(b"k")).parse("track", split_batch(json.dumps(body).encode())[0])
    assert isinstance(ev, Event), ev
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")
    assert ev.contact.get("email") == "ann@example.com"


@pytest.mark.parametrize("shape", ['[{"batch": [%s, %s]}, %s]', '{"batch": [[%s, %s], %s]}'])
def test_a_nested_message_that_repeats_its_event_keeps_the_unsubscribe(shape):
    one = ('{"type": "track", "messageId": "m1", "userId": "u1", "timestamp": "%s", "event": "Unsubscribed", '
           '"event": "Viewed Thing"}' % AT)
    raw = (shape % (one, json.dumps(msg(2)), json.dumps(msg(3)))).encode()
    got = split_batch(raw)
    assert got is not None and len(got) == batch_count(raw) == 3
    ev = Parser(Hasher(b"k")).parse("track", got[0])
    assert isinstance(ev, Event), ev
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")
