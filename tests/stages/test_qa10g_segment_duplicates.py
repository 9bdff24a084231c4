"""qa10g: a Segment opt-out whose keys are written twice at another depth than qa10f read is still an opt-out.

Before (each lost an unsubscribe, the address stayed open):

* ``properties`` written twice (``"properties": {"channel": "sms"}, "properties": {"channel": "email"}``): the last
  object won, so the sms opt-out was lost (qa10f read ``channel`` twice inside *one* properties object only);
* ``type`` written twice (``"type": "track", ..., "type": "identify"``): read as an identify call, so the track
  call's ``Unsubscribed`` was no opt-out at all;
* a batch envelope writing ``batch`` twice (``{"batch": [unsubscribe], "batch": [other]}``): the first array's
  messages vanished -- neither decided nor dead letters (decided + dead letters != records read).

Alone, inside a batch envelope (text and bytes) and inside a JSON array alike."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import batch_count, split_batch
from tests.stages.test_input_edge_cases import HASHER

TS = "2026-10-05T10:00:00.000Z"


def text(*pairs, mid="m1", call="track"):
    body = [("type", call), ("messageId", mid), ("userId", "u1"), ("timestamp", TS)] + list(pairs)
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in body) + "}"


def forms(message):
    """The message alone, and as the only item of an envelope (text, bytes) and of a JSON array."""
    env = '{"batch": [' + message + '], "sentAt": "' + TS + '"}'
    return [[message], split_batch(env), split_batch(env.encode()), split_batch("[" + message + "]")]


def events(raws):
    out = []
    for raw in raws:
        full = Parser(HASHER).parse_full("track", raw, "t:1").result
        assert isinstance(full, Event), full
        out.append(full)
    return out


@pytest.mark.parametrize("form", range(4))
@pytest.mark.parametrize("first, second", [("sms", "email"), ("email", "sms")])
def test_an_opt_out_writing_properties_twice_blocks_the_channels_of_both(form, first, second):
    msg = text(("event", "Unsubscribed"), ("properties", {"channel": first}), ("properties", {"channel": second}))
    (ev,) = events(forms(msg)[form])
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")
    alone_first, = events([text(("event", "Unsubscribed"), ("properties", {"channel": f"{first},{second}"}))])
    assert ev.attrs["channel"] == alone_first.attrs["channel"]  # as one value naming both


@pytest.mark.parametrize("form", range(4))
@pytest.mark.parametrize("other", ["identify", "page", "Identify", "screen"])
def test_a_track_opt_out_also_written_as_another_call_is_the_opt_out(form, other):
    for pairs in [[("type", other)], []]:
        body = [("event", "Unsubscribed"), ("properties", {"channel": "email"})] + pairs
        msg = text(*body) if pairs else text(*body, call=other).replace(
            '"type": ', '"type": "track", "type": ', 1)
        (ev,) = events(forms(msg)[form])
        assert (ev.stream, ev.type) == ("engagement", "unsubscribed"), (msg, ev)


def test_a_repeated_call_type_without_an_opt_out_keeps_the_last_value():
    (ev,) = events([text(("event", "Clicked"), ("type", "identify"))])
    (plain,) = events([text(("event", "Clicked"), call="identify")])
    assert (ev.stream, ev.type) == (plain.stream, plain.type)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_an_envelope_writing_batch_twice_splits_every_array(as_bytes):
    env = ('{"batch": [' + text(("event", "Unsubscribed"), ("properties", {"channel": "email"}), mid="a") + '], '
           '"sentAt": "' + TS + '", "batch": [' + text(("event", "Clicked"), mid="b") + ', 7]}')
    payload = env.encode() if as_bytes else env
    parts = split_batch(payload)
    assert batch_count(payload) == len(parts) == 3
    results = [Parser(HASHER).parse_full("track", raw, "t:1").result for raw in parts]
    assert [(r.stream, r.type) for r in results[:2]] == [("engagement", "unsubscribed"), ("track", "Clicked")]
    assert not isinstance(results[2], Event)  # the non-object item: a dead letter, counted


def test_an_envelope_writing_batch_twice_keeps_a_message_s_own_repetition():
    env = ('{"batch": [' + text(("event", "Unsubscribed"), ("event", "x"), ("properties", {"channel": "email"}))
           + '], "batch": [' + text(("event", "Clicked"), mid="b") + ']}')
    first, second = events(split_batch(env))
    assert (first.stream, first.type) == ("engagement", "unsubscribed")
    assert second.type == "Clicked"
