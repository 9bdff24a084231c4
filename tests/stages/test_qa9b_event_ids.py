"""qa9b: event ids that cannot be de-duplication keys.

``"event_id": "undefined"`` / ``"messageId": "null"`` (a producer's template with the id unset) made every later
event of the customer a ``duplicate_event`` dead letter: one id for all of them.  A 5,000-character event id was
kept whole in the customer's state and in every table.  Now a placeholder id stands for its record (a keyed hash
of the record: each record its own id, a redelivery of the same record the same one) and a long id for itself (a
keyed hash of it).  Both parse paths, every built-in stream and Segment."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import MAX_ID_CHARS
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

ID = {s: ("messageId" if s == "track" else "event_id") for s in GOOD}
LONG = "e" * (MAX_ID_CHARS + 1)


def uid(stream, rec):
    raw = json.dumps(rec).encode()
    ev = P.parse_full(stream, raw).result
    assert isinstance(ev, Event), ev
    assert Parser(HASHER).parse(stream, raw) == ev
    return ev.uid


def other(stream, rec):
    """``rec`` with another fact in it (its time a minute later)."""
    if stream == "track":
        return {**rec, "timestamp": "2026-10-01T10:01:00Z"}
    return {**rec, "ts": rec["ts"] + 60_000}


@pytest.mark.parametrize("word", ["undefined", "null", "None", "[object Object]"])
@pytest.mark.parametrize("stream", sorted(GOOD))
def test_two_records_with_a_placeholder_id_are_two_events_and_a_redelivery_one(stream, word):
    rec = {**GOOD[stream], ID[stream]: word}
    a, b = uid(stream, rec), uid(stream, other(stream, rec))
    assert a != b and uid(stream, rec) == a
    assert word not in a


@pytest.mark.parametrize("stream", sorted(GOOD))
def test_a_long_event_id_is_bounded_and_still_one_id(stream):
    rec = {**GOOD[stream], ID[stream]: LONG}
    a = uid(stream, rec)
    assert len(a) < 64 and uid(stream, other(stream, rec)) == a
    assert uid(stream, {**rec, ID[stream]: LONG + "f"}) != a


def test_ordinary_ids_are_kept_as_they_are():
    assert uid("crm", {**GOOD["crm"], "event_id": "e" * MAX_ID_CHARS}) == "crm/" + "e" * MAX_ID_CHARS
    assert uid("crm", {**GOOD["crm"], "event_id": "null-1"}) == "crm/null-1"
