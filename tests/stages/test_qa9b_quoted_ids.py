"""qa9b: an id inside the quotes a CSV export kept.

``"anonymous_id": "\\"dev-1\\""`` (a spreadsheet column's quotes kept when the file was turned into JSON) was a
second customer beside ``dev-1``; an email written so was already read as the address
(``keys._address_part``).  Now ids are read the same way: one pair of surrounding quotes is not part of the id."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import anon_key, crm_key
from journeyflow.stages.parse import Parser
from tests.stages.test_input_edge_cases import GOOD, HASHER, P


@pytest.mark.parametrize("written", ['"C-1"', "'C-1'", ' "C-1" ', '" C-1 "', '"C-1"\u200b'])
def test_a_quoted_id_is_the_id(written):
    assert crm_key(written) == "crm:C-1" and anon_key(written) == "anon:C-1"


@pytest.mark.parametrize("stream, field, key", [("crm", "crm_id", "crm:C001"), ("web", "anonymous_id", "anon:dev-1"),
                                                ("orders", "crm_id", "crm:C001")])
def test_a_quoted_id_links_to_the_same_customer_on_both_paths(stream, field, key):
    plain = GOOD[stream][field]
    raw = json.dumps({**GOOD[stream], field: f'"{plain}"'}).encode()
    full = P.parse_full(stream, raw).result
    assert isinstance(full, Event) and key in full.ids and Parser(HASHER).parse(stream, raw) == full
    seg = P.parse_full("track", json.dumps({**GOOD["track"], "userId": '"u-1"'}).encode()).result
    assert "crm:u-1" in seg.ids


@pytest.mark.parametrize("kept", ['"C-1', 'C-1"', '"a"b"', "'C\"", '""', "x\"y\""])
def test_other_quotes_are_part_of_the_id_or_an_empty_one(kept):
    if kept == '""':
        with pytest.raises(ValueError):
            crm_key(kept)
        return
    assert crm_key(kept) == f"crm:{kept}"
