"""qa8b: email addresses as exports write them, on an opt-out (where a refusal loses the opt-out)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, normalize_email
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
REVOKE = {"event_id": "k1", "ts": 1790848800000, "status": "revoked", "channel": "email"}
PLAIN = P.parse_full("consent", json.dumps({**REVOKE, "email": "ann@example.com"}), "t:1").result


@pytest.mark.parametrize("written", ['"ann@example.com"', "'ann@example.com'", '" ann@example.com "',
                                     "ann@example.com.", "Ann@Example.COM.", '"mailto:ann@example.com"'])
def test_a_revoke_naming_a_quoted_or_fqdn_address_applies_to_that_address(written):
    """A CSV column exported with its quotes kept (``"ann@example.com"`` inside the JSON string) or an address
    with the DNS root's trailing dot was refused: the revoke was an ``invalid_identifier`` dead letter and the
    customer kept getting email."""
    got = P.parse_full("consent", json.dumps({**REVOKE, "email": written}), "t:1").result
    assert isinstance(got, Event), got
    assert got.ids == PLAIN.ids and got.contact == PLAIN.contact


@pytest.mark.parametrize("written", ['"ann@example.com', 'ann@example.com"', '"a"@"b".com', "ann@example.com..",
                                     "'ann@example.com\""])
def test_unbalanced_quotes_and_empty_labels_are_still_refused(written):
    with pytest.raises(InvalidIdentifier):
        normalize_email(written)

