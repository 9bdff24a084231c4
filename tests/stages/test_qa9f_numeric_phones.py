"""A phone number written as a JSON integer in web properties or Segment properties/traits is personal data too
(QA of session 9, qa9f).

Before: string values were cleaned (``"4155550134"`` became a keyed ``phone~`` token) but ``{"mobile": 4155550134}``
or ``traits.phoneNumber: 14155550134`` (a CSV export or a form turned into JSON types the column as numbers) was kept
as the raw number in the event's attributes, so in customer state and the tables.  Now an integer of 7 digits or
more under a key naming a phone gets the same token as its digits (``spellings.clean_scalar``), in the full and the
fast path; other integers (totals, counts, a ``hotel`` id) stay numbers."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P


def _kept(stream: str, rec: dict) -> dict:
    raw = json.dumps(rec).encode()
    ev = P.parse_full(stream, raw).result
    assert isinstance(ev, Event), ev
    assert Parser(HASHER).parse(stream, raw) == ev
    return ev.attrs


@pytest.mark.parametrize("key", ["mobile", "phone_number", "phoneNumber", "Mobile Phone", "tel", "fax", "cell_no"])
def test_a_numeric_phone_in_web_properties_is_a_token(key):
    props = _kept("web", {**GOOD["web"], "properties": {key: 4155550134, "text": "+1 415 555 0134"}})["properties"]
    assert props[key].startswith("phone~") and props["text"].startswith("phone~")
    assert "4155550134" not in json.dumps(props)


@pytest.mark.parametrize("where", ["traits", "properties"])
def test_a_numeric_phone_in_segment_traits_or_properties_is_a_token(where):
    msg = {**GOOD["track"], "userId": "U1", "type": "identify" if where == "traits" else "track", "event": "Signed Up",
           where: {"mobile": 14155550134, "other": {"whatsapp": 4155550134}}}
    kept = _kept("track", msg)[where]
    assert kept["mobile"].startswith("phone~") and kept["other"]["whatsapp"].startswith("phone~")
    assert "4155550134" not in json.dumps(kept)


def test_other_integers_stay_numbers():
    props = _kept("web", {**GOOD["web"], "properties": {"total": 4155550134, "hotel": 1234567, "mobile": 42,
                                                        "count": 12345678}})["properties"]
    assert props == {"total": 4155550134, "hotel": 1234567, "mobile": 42, "count": 12345678}


def test_numeric_phones_in_a_list_under_a_phone_key_are_tokens():
    msg = {**GOOD["track"], "userId": "U1", "type": "identify", "traits": {"phones": [4155550134, "x"], "ids": [7]}}
    kept = _kept("track", msg)["traits"]
    assert kept["phones"][0].startswith("phone~") and kept["phones"][1] == "x" and kept["ids"] == [7]
