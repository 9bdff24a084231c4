"""qa8b: event ids (the de-duplication key) as sources spell them: invisible characters, padding, empty."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from tests.stages.test_input_edge_cases import GOOD, HASHER, TS, P, parse  # noqa: F401 - the shared samples

ID_FIELD = {s: ("messageId" if s == "track" else "event_id") for s in GOOD}


# ------------------------------------------------------------------------------------------ event ids
INVISIBLE = ("\u200b", "\ufeff", "\u200d", "\u2060", "\u200e", "\u00ad")


@pytest.mark.parametrize("ch", INVISIBLE)
@pytest.mark.parametrize("stream", sorted(GOOD))
def test_an_event_id_with_an_invisible_character_is_the_same_id(stream, ch):
    """A redelivery whose id was pasted or re-exported with a zero-width space (or BOM, joiner, soft hyphen) was a
    second event: de-duplication (by ``stream/event_id``) let it through and its journey fired twice."""
    for spelled in (ch + "id-7", "id-7" + ch, "id" + ch + "-7"):
        got = parse(stream, {**GOOD[stream], ID_FIELD[stream]: spelled})
        assert isinstance(got, Event), got
        assert got.uid == f"{stream}/id-7"


@pytest.mark.parametrize("stream", sorted(GOOD))
def test_an_event_id_with_surrounding_spaces_is_the_same_id(stream):
    """Identifiers are stripped (``crm_id: " C-1 "`` is ``C-1``); an event id read from a padded CSV column was a
    second event."""
    for spelled in (" id-7", "id-7 ", "\tid-7\u00a0"):
        got = parse(stream, {**GOOD[stream], ID_FIELD[stream]: spelled})
        assert isinstance(got, Event), got
        assert got.uid == f"{stream}/id-7"


@pytest.mark.parametrize("stream", sorted(set(GOOD) - {"track"}))
@pytest.mark.parametrize("empty", ["", "  ", "\u200b"])
def test_an_empty_event_id_is_a_dead_letter(stream, empty):
    """An empty ``event_id`` was accepted as the id ``""``: every such record after the first was then a
    ``duplicate_event`` of it (dropped for the wrong reason).  It names nothing: a ``schema_violation``.  (A Segment
    message without a ``messageId`` gets one of its own since qa11c: tests/stages/test_qa11c_http_api_bodies.py.)"""
    got = parse(stream, {**GOOD[stream], ID_FIELD[stream]: empty})
    assert isinstance(got, DeadLetter), got
    assert got.reason == DeadLetterReason.SCHEMA_VIOLATION
    assert ID_FIELD[stream] in got.detail


@pytest.mark.parametrize("blank", ["  ", "\t"])
def test_a_blank_segment_user_id_is_reported_as_empty(blank):
    """``userId: " "`` (a form's blank field) was reported as "must be a string or an integer": it is one."""
    res = P.parse_full("track", json.dumps({**GOOD["track"], "userId": blank}).encode(), "t:1")
    assert isinstance(res.result, Event)
    assert [(w.field, w.reason, w.detail) for w in res.warnings] == [("userId", "invalid_identifier", "userId is empty")]
