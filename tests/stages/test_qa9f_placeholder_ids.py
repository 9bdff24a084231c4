"""More programs' words for "no id" are no ids (QA of session 9, qa9f).

Objective-C formats a ``nil`` string as ``(null)`` and ``NSNull`` as ``<null>``; Go prints ``<nil>``; JavaScript's
``Object.prototype.toString`` gives ``[object Undefined]``; the nil UUID is also written without hyphens.  An iOS
or Go SDK sending such a user or device id made one customer of every device whose id was unset (``crm:(null)``),
as ``undefined`` did before qa9b.  Now they are placeholders (``keys.PLACEHOLDER_IDS``): dropped with a field warning
beside a usable identifier, ``invalid_identifier`` when the only or required one; as an event id, a keyed stand-in."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

WORDS = ["(null)", "<null>", "<nil>", "(nil)", "[object Undefined]", "[object Null]",
         "00000000000000000000000000000000", " (NULL) "]


def both(stream, rec):
    raw = json.dumps(rec).encode()
    full = P.parse_full(stream, raw, "t:1")
    assert Parser(HASHER).parse(stream, raw, "t:1") == full.result
    return full.result, [(w.field, w.reason) for w in full.warnings]


@pytest.mark.parametrize("word", WORDS)
def test_two_devices_identified_with_a_placeholder_user_id_are_not_linked(word):
    for device in ("dev-a", "dev-b"):
        ev, warnings = both("track", {**GOOD["track"], "type": "identify", "userId": word, "anonymousId": device,
                                      "messageId": device})
        assert isinstance(ev, Event) and ev.ids == (f"anon:{device}",)
        assert warnings == [("userId", "invalid_identifier")]


@pytest.mark.parametrize("word", WORDS)
def test_a_placeholder_crm_id_or_anonymous_id_is_refused(word):
    dead, _ = both("crm", {**GOOD["crm"], "crm_id": word})
    assert isinstance(dead, DeadLetter) and dead.reason == "invalid_identifier"
    ev, warnings = both("track", {**GOOD["track"], "userId": "U1", "anonymousId": word})
    assert isinstance(ev, Event) and ev.ids == ("crm:U1",) and warnings == [("anonymousId", "invalid_identifier")]


@pytest.mark.parametrize("word", WORDS[:3])
def test_a_placeholder_event_id_is_no_duplicate_key(word):
    a, _ = both("web", {**GOOD["web"], "event_id": word})
    b, _ = both("web", {**GOOD["web"], "event_id": word, "ts": "2026-10-05T10:00:00Z"})
    assert isinstance(a, Event) and isinstance(b, Event) and a.uid != b.uid
