"""The fast path's shortcut for the usual event id (``<stream>-`` and 1-6 ASCII digits, told by one strip of digits
instead of a regular-expression match): every id near that shape -- more digits, other digits (Arabic-Indic,
full-width, superscripts), other prefixes, padding and invisible characters -- gives exactly the full parser's
result, and the shortcut's ids are taken by the fast path."""
from __future__ import annotations

import json

import pytest

from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"event-id-test-key")
FAST, FULL = Parser(HASHER), Parser(HASHER)
FULL._fast_streams, FULL._fast_direct = frozenset(), {}  # the full parser alone

RECORDS = {
    "web": {"ts": "2026-10-01T00:24:42+00:00", "anonymous_id": "e0fd09f8-9fa7-4539-9d42-5057f57cef9c",
            "user_id": None, "email": None, "type": "page_view", "product_id": None, "properties": {"path": "/"}},
    "engagement": {"ts": 1790812901571, "email": None, "phone": None, "crm_id": "C50686494", "channel": "push",
                   "type": "delivered", "bounce_type": None, "decision_id": None},
}
TAILS = ["1", "000001", "999999", "0000001", "1234567", "4155550134", "+14155550134", "", "٣", "١٢٣", "１２", "²", "12a", "1 ", " 1", "1\u200b",
         "-1", "1-2", "0x1", "１"]


def _ids(stream: str) -> list[str]:
    dash = stream + "-"
    return ([dash + t for t in TAILS] + [stream.upper() + "-1", stream + "_1", "x" + dash + "1", " " + dash + "1",
            "\ufeff" + dash + "1", dash[:-1] + "1", "-1", "", "  ", "orders-1", "a-1"])


@pytest.mark.parametrize("stream", sorted(RECORDS))
def test_event_ids_near_the_usual_shape_give_the_full_parsers_result(stream: str) -> None:
    taken = 0
    for eid in _ids(stream):
        raw = json.dumps({"event_id": eid, **RECORDS[stream]}, ensure_ascii=False).encode()
        got, want = FAST.parse_full(stream, raw, "f:1"), FULL.parse_full(stream, raw, "f:1")
        assert repr(got) == repr(want), eid
        fast = FAST._fast.parse(stream, raw, None)
        if fast is not None:
            assert repr(fast) == repr(want.result), eid
            taken += 1
    for tail in ("1", "000001", "999999"):  # the shortcut's own ids: the fast path's Event, as it is
        ev = FAST._fast.parse(stream, json.dumps({"event_id": stream + "-" + tail, **RECORDS[stream]}).encode(), None)
        assert ev is not None and ev.uid == f"{stream}/{stream}-{tail}"
    assert taken >= 5
