"""An array of Segment request bodies (a file of collected ``/v1/batch`` bodies or webhook arrays) is split into
every message, one level deep: before, each inner envelope or array was one ``unknown_type`` dead letter and its
messages -- an unsubscribe among them -- were never read."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import batch_count, split_batch

AT = "2026-10-01T00:00:00Z"


def msg(i: int, **extra) -> dict:
    return {"type": "track", "event": "Viewed Thing", "messageId": f"m{i}", "userId": "u1", "timestamp": AT, **extra}


CASES = {
    "array of envelopes": [{"batch": [msg(1), msg(2)], "sentAt": AT}, {"batch": [msg(3)]}],
    "array of arrays": [[msg(1), msg(2)], [msg(3)]],
    "mixed": [{"batch": [msg(1)]}, [msg(2)], msg(3)],
    "envelope holding an array": {"batch": [[msg(1), msg(2)], msg(3)]},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nested_bodies_are_split_into_every_message(name):
    raw = json.dumps(CASES[name]).encode()
    parts = split_batch(raw)
    assert batch_count(raw) == len(parts) == 3
    parser = Parser(Hasher(b"k"))
    events = [parser.parse("track", p) for p in parts]
    assert all(isinstance(e, Event) for e in events), events
    assert sorted(e.uid for e in events) == ["track/m1", "track/m2", "track/m3"]


def test_an_inner_envelopes_shared_fields_apply_to_its_own_messages():
    raw = json.dumps([{"batch": [msg(1, context={"traits": {"plan": "pro"}})], "context": {"timezone": "Asia/Tokyo"}},
                      [msg(2)]])
    first, second = (json.loads(p) for p in split_batch(raw))
    assert first["context"] == {"timezone": "Asia/Tokyo", "traits": {"plan": "pro"}}
    assert "context" not in second


def test_an_empty_inner_body_stays_one_record_to_dead_letter():
    raw = json.dumps([{"batch": []}, msg(1)])
    parts = split_batch(raw)
    assert batch_count(raw) == len(parts) == 2
    assert not isinstance(Parser(Hasher(b"k")).parse("track", parts[0]), Event)
