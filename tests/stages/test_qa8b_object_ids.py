"""qa8b: order, ticket and product ids as sources spell them (invisible characters, padding) are one id."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
TS = 1790848800000
REC = {
    "orders": ({"event_id": "o1", "ts": TS, "crm_id": "C001", "order_id": "ORD-7", "type": "order_cancelled",
                "product_ids": ["P-1", "P-2"]}, {"order_id": "ORD-7", "product_ids": ["P-1", "P-2"]}),
    "support": ({"event_id": "s1", "ts": TS, "crm_id": "C001", "ticket_id": "T-12", "type": "ticket_resolved"},
                {"ticket_id": "T-12"}),
    "web": ({"event_id": "w1", "ts": TS, "anonymous_id": "dev-1", "type": "add_to_cart", "product_id": "P-1"},
            {"product_id": "P-1"}),
}
SPELLINGS = [lambda s: s + "\u200b", lambda s: "\ufeff" + s, lambda s: f" {s} ", lambda s: s[:2] + "\u00ad" + s[2:]]


def parse(stream, rec):
    return P.parse_full(stream, json.dumps(rec, ensure_ascii=False).encode(), "t:1").result


def respelled(value, how):
    return [how(x) for x in value] if isinstance(value, list) else how(value)


@pytest.mark.parametrize("how", SPELLINGS)
@pytest.mark.parametrize("stream", sorted(REC))
def test_an_object_id_with_an_invisible_character_or_padding_is_the_same_id(stream, how):
    """``order_cancelled`` under ``ORD-7`` + a zero-width space took nothing back from the order ``ORD-7``; a
    ``ticket_resolved`` under a padded id left ``T-12`` open (promos held back as during an open ticket)."""
    rec, ids = REC[stream]
    got = parse(stream, {**rec, **{f: respelled(v, how) for f, v in ids.items()}})
    assert isinstance(got, Event), got
    assert {f: got.attrs[f] for f in ids} == ids


@pytest.mark.parametrize("stream, field", [("orders", "order_id"), ("support", "ticket_id")])
def test_an_order_or_ticket_id_that_is_empty_is_a_dead_letter(stream, field):
    for empty in ("\u200b", "  "):
        got = parse(stream, {**REC[stream][0], field: empty})
        assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.SCHEMA_VIOLATION, got
        assert field in got.detail


def test_a_segment_order_id_and_products_are_read_the_same_way():
    msg = {"type": "track", "event": "Order Cancelled", "messageId": "m1", "userId": "u1",
           "timestamp": "2026-10-01T10:00:00Z",
           "properties": {"order_id": "ORD-7\u200b", "products": [{"product_id": " P-1"}, {"product_id": "P-2\u2060"}]}}
    got = parse("track", msg)
    assert (got.attrs["order_id"], got.attrs["product_ids"]) == ("ORD-7", ["P-1", "P-2"])
