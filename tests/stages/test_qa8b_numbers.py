"""qa8b: numbers written as strings, as real sources send them.

Segment's own e-commerce examples fill the order from a template (``total: '<%= order.total %>'``), PHP backends and
CSV exports type every column as text, JavaScript writes a rating as ``4.0``: the value was dropped (``wrong_type``)
and the order lost its amount (``sum`` of spend, "amount > 100" conditions) or the ticket its csat."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.model.reasons import FieldWarningReason
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.json_text import as_number
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
TS = 1790848800000
ORDER = {"event_id": "o1", "ts": TS, "crm_id": "C001", "order_id": "ORD-1", "type": "order_placed"}
TICKET = {"event_id": "s1", "ts": TS, "crm_id": "C001", "ticket_id": "T-1", "type": "ticket_resolved"}
SEGMENT_ORDER = {"type": "track", "event": "Order Completed", "messageId": "m1", "userId": "u1",
                 "timestamp": "2026-10-01T10:00:00Z"}


def parse(stream, rec):
    res = P.parse_full(stream, json.dumps(rec).encode(), "test:1")
    assert isinstance(res.result, Event), res.result
    return res.result, [(w.field, w.reason) for w in res.warnings]


@pytest.mark.parametrize("raw, want", [("99.50", 99.5), (" 12 ", 12), ("0", 0), ("1e3", 1000.0), ("-0.0", -0.0),
                                       (".5", 0.5), ("4.0", 4.0)])
def test_a_decimal_numeral_in_a_string_is_that_number(raw, want):
    got = as_number(raw)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("raw", ["1,234.50", "NaN", "Infinity", "0x10", "1_000", "", "12 EUR", "$5", "--1", "1e"])
def test_other_strings_are_not_numbers(raw):
    assert as_number(raw) == raw


def test_whole_floats_are_integers_only_when_asked():
    assert as_number(4.0, whole=True) == 4 and type(as_number(4.0, whole=True)) is int
    assert as_number(4.0) == 4.0 and type(as_number(4.0)) is float
    assert as_number(True, whole=True) is True and as_number(4.5, whole=True) == 4.5


@pytest.mark.parametrize("amount, want", [("99.50", 99.5), ("120", 120), (" 7.25 ", 7.25)])
def test_an_order_amount_written_as_a_string_is_kept(amount, want):
    ev, warnings = parse("orders", {**ORDER, "amount": amount})
    assert ev.attrs["amount"] == want and warnings == []


@pytest.mark.parametrize("amount, reason", [("1,234.50", FieldWarningReason.WRONG_TYPE),
                                            ("-5", FieldWarningReason.OUT_OF_RANGE),
                                            ("NaN", FieldWarningReason.WRONG_TYPE)])
def test_an_amount_string_that_is_no_plain_number_is_still_dropped_and_reported(amount, reason):
    ev, warnings = parse("orders", {**ORDER, "amount": amount})
    assert "amount" not in ev.attrs and warnings == [("amount", reason)]


@pytest.mark.parametrize("csat", ["4", 4.0, " 5 "])
def test_a_csat_written_as_a_string_or_whole_float_is_kept(csat):
    ev, warnings = parse("support", {**TICKET, "csat": csat})
    assert ev.attrs["csat"] == int(float(csat)) and type(ev.attrs["csat"]) is int and warnings == []


@pytest.mark.parametrize("csat", ["4.5", 4.5, "9", "good"])
def test_a_csat_that_is_no_rating_is_still_dropped(csat):
    ev, warnings = parse("support", {**TICKET, "csat": csat})
    assert "csat" not in ev.attrs and [f for f, _ in warnings] == ["csat"]


@pytest.mark.parametrize("props, want", [({"order_id": "O1", "total": "99.50"}, 99.5),
                                         ({"order_id": "O1", "revenue": "90"}, 90),
                                         ({"order_id": "O1", "total": "n/a", "revenue": 80.5}, 80.5)])
def test_a_segment_order_total_written_as_a_string_is_its_amount(props, want):
    ev, warnings = parse("track", {**SEGMENT_ORDER, "properties": props})
    assert (ev.stream, ev.type, ev.attrs["amount"]) == ("orders", "order_placed", want)
    assert warnings == ([("properties.total", FieldWarningReason.WRONG_TYPE)] if props.get("total") == "n/a" else [])
