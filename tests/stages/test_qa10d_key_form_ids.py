"""qa10d: an opt-out by journeyflow's own customer id (``crm:C1``, ``email:<32 hex>``, ``anon:d1``, as the
decisions, snapshots and the audit topic name customers) reaches that customer.

A compliance team answering a complaint from the audit table revokes consent by the customer id it sees.  The id
``crm:C1`` in ``crm_id`` was read as the CRM id ``crm:C1`` (key ``crm:crm:C1``): a customer of its own, nobody
was blocked; a customer without a CRM id (``email:<hex>``, named so because its address is never written out) could
not be opted out by id at all.  Now an id written as one of journeyflow's keys is that key (``keys.crm_key``,
``keys.anon_key``), in the built-in and the Segment streams."""
from __future__ import annotations

import json

import pytest

from journeyflow.stages.identity.keys import InvalidIdentifier, anon_key, crm_key
from tests.stages.test_qa10d_two_addresses import AT, HASHER, PARSER, holder, offers

ANN = "ann@example.com"


def revoke(customer_id: str, stream: str = "consent") -> tuple[str, dict]:
    if stream == "track":
        return ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m1", "userId": customer_id,
                          "timestamp": AT})
    return ("consent", {"event_id": "r1", "ts": AT, "crm_id": customer_id, "channel": "email", "status": "revoked"})


@pytest.mark.parametrize("stream", ["consent", "track"])
def test_an_opt_out_by_a_crm_customer_id_blocks_that_customer(stream):
    base = holder("A", ANN) + holder("B", "bob@example.com")
    assert offers(base + [revoke("crm:A", stream)]) == ["crm:B"]


def test_an_opt_out_by_an_email_customer_id_blocks_that_customer():
    """A web visitor known by email only (its customer id is the email's key) who gets a browse offer."""
    email_id = HASHER.email(ANN)[0]
    recs = [("web", {"event_id": "s", "ts": "2026-09-01T00:00:00Z", "type": "signup", "anonymous_id": "d",
                     "email": ANN})] + [
        ("web", {"event_id": f"v{i}", "ts": f"2026-10-05T12:0{i}:00Z", "type": "product_view", "anonymous_id": "d",
                 "product_id": "P1"}) for i in range(3)]
    grant = ("consent", {"event_id": "g", "ts": "2026-09-01T00:00:01Z", "email": ANN, "channel": "email",
                         "status": "granted"})
    assert offers(recs + [grant]) == [email_id]
    assert offers(recs + [grant, revoke(email_id)]) == []


@pytest.mark.parametrize("written,key", [("crm:C1", "crm:C1"), (" crm:C1 ", "crm:C1"), ("anon:d-1", "anon:d-1"),
                                         ("email:" + "0a" * 16, "email:" + "0a" * 16),
                                         ("phone:" + "f" * 32, "phone:" + "f" * 32)])
def test_an_id_written_as_a_key_is_that_key(written, key):
    assert crm_key(written) == key and anon_key(written) == key


@pytest.mark.parametrize("written", ["C1", "crm-C1", "CRM:C1", "email:ann", "email:" + "A" * 32, "cart:9"])
def test_other_ids_keep_their_kind(written):
    assert crm_key(written) == "crm:" + written and anon_key(written) == "anon:" + written


@pytest.mark.parametrize("written", ["crm:", "crm:  ", "crm:undefined", "anon:null"])
def test_a_key_form_with_no_usable_id_is_refused(written):
    with pytest.raises(InvalidIdentifier):
        crm_key(written)
