"""qa11c: an optional field written as an empty string -- how CSV exports, spreadsheets and warehouse unloads
(BigQuery, Snowflake ``EMPTY_FIELD_AS_NULL = FALSE``, pandas ``fillna("")``) write a null -- is an absent field.

It was kept as the value ``""`` (``currency``, ``owner_id``, ``decision_id``, ``product_id``, ``lifecycle_stage``),
or dropped with a ``wrong_type`` / ``unknown_value`` / ``unknown_timezone`` field warning about a field that had no
value (``amount``, ``csat``, ``severity``, ``timezone``, ``bounce_type``, ``product_ids``, ``properties``): one
warning per record of such an export.  Every built-in stream's optional fields, both parse paths."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages import fields
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER

CASES = [(s, f) for s in sorted(set(GOOD) - {"track"}) for f in fields.OPTIONAL_FIELDS[s]
         if f not in fields.IDENTIFIER_FIELDS[s]]


def both(stream: str, rec: dict):
    raw = json.dumps(rec).encode()
    res = Parser(HASHER).parse_full(stream, raw, "t:1")
    assert Parser(HASHER).parse(stream, raw, "t:1") == res.result
    return res


@pytest.mark.parametrize("stream, field", CASES, ids=[f"{s}.{f}" for s, f in CASES])
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_optional_field_is_absent(stream, field, empty):
    got = both(stream, {**GOOD[stream], field: empty})
    want = both(stream, GOOD[stream])
    assert isinstance(got.result, Event), got
    assert got.warnings == ()
    assert got.result.attrs == want.result.attrs


def test_an_empty_field_beside_values_leaves_the_values():
    rec = {**GOOD["orders"], "amount": "", "currency": "EUR", "product_ids": ["p1"]}
    ev = both("orders", rec).result
    assert "amount" not in ev.attrs and ev.attrs["currency"] == "EUR" and ev.attrs["product_ids"] == ["p1"]


@pytest.mark.parametrize("field", ["properties", "context", "traits"])
def test_an_empty_segment_object_field_is_absent(field):
    msg = {"type": "identify", "messageId": "m1", "userId": "u1", "timestamp": "2026-10-01T10:00:00Z", field: ""}
    res = Parser(HASHER).parse_full("track", json.dumps(msg).encode(), "t:1")
    assert isinstance(res.result, Event) and res.warnings == (), res


def test_a_mapped_segment_event_with_empty_properties_reports_nothing_about_them():
    msg = {"type": "track", "event": "Product Added", "messageId": "m1", "userId": "u1",
           "timestamp": "2026-10-01T10:00:00Z", "properties": ""}
    res = Parser(HASHER).parse_full("track", json.dumps(msg).encode(), "t:1")
    assert isinstance(res.result, Event) and res.result.type == "add_to_cart" and res.warnings == (), res
