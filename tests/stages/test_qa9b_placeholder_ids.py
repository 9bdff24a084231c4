"""qa9b: an id that is a program's word for "no id".

JavaScript's ``String(undefined)`` / ``String(null)`` / ``String({})``, Python's ``str(None)``, a spreadsheet's
``N/A``, the nil UUID (iOS's advertising id under limited ad tracking): an SDK that stringifies an unset user id
sends ``"userId": "undefined"``.  It was the customer
``crm:undefined``, so every device that ever sent it was linked into one customer (decisions, opt-outs and sends
shared across strangers).  Now such an id is refused like an empty one: dropped with a field warning beside a
usable identifier, ``invalid_identifier`` when it was the only or the required one."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.identity.rules import event_links
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P

WORDS = ["undefined", "null", "NULL", "None", "nil", "NaN", "[object Object]", "N/A", "#N/A", " undefined ",
         "00000000-0000-0000-0000-000000000000"]


def both(stream, rec):
    raw = json.dumps(rec).encode()
    full = P.parse_full(stream, raw, "t:1")
    assert Parser(HASHER).parse(stream, raw, "t:1") == full.result
    return full.result, full.warnings


@pytest.mark.parametrize("word", WORDS)
def test_two_devices_identified_as_undefined_are_not_one_customer(word):
    links = []
    for device in ("dev-a", "dev-b"):
        ev, warnings = both("track", {**GOOD["track"], "type": "identify", "userId": word, "anonymousId": device,
                                      "messageId": device})
        assert isinstance(ev, Event) and ev.ids == (f"anon:{device}",)
        assert [(w.field, w.reason) for w in warnings] == [("userId", "invalid_identifier")]
        links += event_links(ev)
    assert not any("crm:" in str(lk) for lk in links)


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("stream, field", [("web", "user_id"), ("web", "anonymous_id"), ("crm", "crm_id"),
                                           ("orders", "crm_id"), ("consent", "crm_id")])
def test_a_placeholder_id_is_never_a_key_on_any_stream(stream, field, word):
    ev, warnings = both(stream, {**GOOD[stream], field: word})
    if isinstance(ev, DeadLetter):
        assert ev.reason == "invalid_identifier" and "placeholder" in ev.detail
    else:
        assert not any(k.split(":", 1)[1].strip().casefold() == word.strip().casefold() for k in ev.ids)
        assert [w.field for w in warnings] == [field]


@pytest.mark.parametrize("real", ["0", "Null Island Ltd", "nullable", "undefined-1", "Nancy",
                                  "00000000-0000-0000-0000-000000000001"])
def test_ids_that_only_look_alike_are_kept(real):
    ev, _w = both("crm", {**GOOD["crm"], "crm_id": real})
    assert isinstance(ev, Event) and ev.ids == (f"crm:{real}",)
