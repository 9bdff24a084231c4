"""qa8b: event ids (the de-duplication key) as sources spell them: invisible characters, padding, empty."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"test-key")
P = Parser(HASHER)
TS = 1790848800000  # 2026-10-01T10:00:00Z
GOOD = {
    "web": {"event_id": "w1", "ts": TS, "anonymous_id": "dev-1", "type": "page_view"},
    "orders": {"event_id": "o1", "ts": TS, "crm_id": "C001", "order_id": "ORD-1", "type": "order_placed"},
    "support": {"event_id": "s1", "ts": TS, "crm_id": "C001", "ticket_id": "T-1", "type": "ticket_opened"},
    "crm": {"event_id": "c1", "ts": TS, "crm_id": "C001", "type": "contact_created"},
    "engagement": {"event_id": "e1", "ts": TS, "crm_id": "C001", "type": "unsubscribed", "channel": "email"},
    "consent": {"event_id": "k1", "ts": TS, "crm_id": "C001", "status": "revoked", "channel": "email"},
    "track": {"type": "track", "messageId": "m1", "anonymousId": "dev-1", "event": "Clicked",
              "timestamp": "2026-10-01T10:00:00Z"},
}
ID_FIELD = {s: ("messageId" if s == "track" else "event_id") for s in GOOD}


def parse(stream, raw, parser=P):
    if not isinstance(raw, (bytes, str)):
        raw = json.dumps(raw, ensure_ascii=False).encode()
    return parser.parse_full(stream, raw, "test:1").result


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


@pytest.mark.parametrize("stream", sorted(GOOD))
@pytest.mark.parametrize("empty", ["", "  ", "\u200b"])
def test_an_empty_event_id_is_a_dead_letter(stream, empty):
    """An empty ``event_id`` was accepted as the id ``""``: every such record after the first was then a
    ``duplicate_event`` of it (dropped for the wrong reason).  It names nothing: a ``schema_violation``."""
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
