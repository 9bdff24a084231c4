"""qa11c: an opt-out's deciding key written twice, once with JSON escapes (``"\\u0074ype"`` is ``"type"``).

JSON decoders unescape object names before they compare them (RFC 8259 §7: any character may be escaped), so
``{"status": "revoked", "\\u0073tatus": "granted"}`` decodes to a grant, exactly as the same key written twice in
plain letters.  The duplicate-key check (``stages.duplicate_keys``) only looked for the plain spelling in the text,
so the revoke was lost.  Every decisive key of every stream, both parse paths, and Segment batches."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch
from tests.stages.test_input_edge_cases import GOOD, HASHER


def escaped(key: str) -> str:
    """``key`` as JSON text with its first letter written as a ``\\u`` escape (``"\\u0074ype"``)."""
    return '"\\u%04x%s"' % (ord(key[0]), key[1:])


def text(stream: str, *pairs: tuple[str, object, bool]) -> str:
    """JSON text of GOOD[stream] without the keys in ``pairs``, then each (key, value, escape it) in order."""
    keys = {k for k, _v, _e in pairs}
    body = [(json.dumps(k), v) for k, v in GOOD[stream].items() if k not in keys]
    body += [(escaped(k) if esc else json.dumps(k), v) for k, v, esc in pairs]
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in body) + "}"


def both(stream: str, raw: str) -> Event:
    full = Parser(HASHER).parse_full(stream, raw.encode(), "t:1").result
    fast = Parser(HASHER).parse(stream, raw.encode(), "t:1")
    assert fast == full
    assert isinstance(full, Event), full
    return full


@pytest.mark.parametrize("first_escaped", [False, True])
def test_a_consent_status_written_again_with_escapes_is_still_the_revoke(first_escaped):
    raw = text("consent", ("status", "revoked", first_escaped), ("status", "granted", not first_escaped))
    assert json.loads(raw)["status"] == "granted"  # what a decoder keeps
    assert both("consent", raw).type == "consent_revoked"


def test_an_engagement_type_written_again_with_escapes_is_still_the_unsubscribe():
    raw = text("engagement", ("type", "unsubscribed", False), ("type", "opened", True))
    assert both("engagement", raw).type == "unsubscribed"


@pytest.mark.parametrize("stream, decisive", [("consent", "status"), ("engagement", "type")])
def test_an_opt_out_naming_a_second_channel_with_escapes_blocks_every_channel(stream, decisive):
    raw = text(stream, (decisive, GOOD[stream][decisive], False), ("channel", "email", False), ("channel", "sms", True))
    assert both(stream, raw).attrs["channel"] == "all"


def test_a_segment_unsubscribe_whose_type_is_written_again_escaped_stays_the_unsubscribe():
    # the brief's example: {"type": "track", "\u0074ype": "identify"} -- decoders keep identify
    raw = text("track", ("event", "Unsubscribed", False), ("type", "track", False), ("type", "identify", True))
    ev = both("track", raw)
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")


def test_a_segment_event_name_written_again_escaped_keeps_the_unsubscribe():
    raw = text("track", ("event", "Unsubscribed", False), ("event", "Clicked", True))
    ev = both("track", raw)
    assert (ev.stream, ev.type) == ("engagement", "unsubscribed")


def test_inside_a_batch_an_escaped_repetition_keeps_the_unsubscribe():
    inner = text("track", ("event", "Unsubscribed", False), ("event", "Clicked", True))
    raw = '{"batch": [' + inner + ', ' + text("track", ("messageId", "m2", False)) + ']}'
    parts = split_batch(raw.encode())
    assert len(parts) == 2
    ev = Parser(HASHER).parse("track", parts[0])
    assert isinstance(ev, Event) and (ev.stream, ev.type) == ("engagement", "unsubscribed"), ev


def test_an_escaped_batch_key_is_a_batch():
    raw = '{"\\u0062atch": [' + text("track") + ", " + text("track", ("messageId", "m2", False)) + "]}"
    parts = split_batch(raw.encode())
    assert parts is not None and len(parts) == 2
    assert all(isinstance(Parser(HASHER).parse("track", p), Event) for p in parts)


def test_escapes_in_values_or_other_keys_change_nothing():
    raw = text("consent", ("status", "granted", False), ("note", "Jos\u00e9", True))
    assert both("consent", raw).type == "consent_granted"
