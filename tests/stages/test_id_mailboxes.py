"""An opt-out that names a tagged or dotted address only as an id, or in a Segment message's properties, blocks
the address's mailbox too (``spellings.ID_MAILBOXES``), as the ``email`` field / trait already did (qa11a).

Before, ``{"crm_id": "ann+shop@example.com", "status": "revoked"}`` blocked ``ann+shop@`` (the id is hashed as an
address) but mail to ``ann@example.com`` -- the same mailbox (RFC 5233) -- went on; so did a Segment
``Unsubscribed`` whose ``userId`` or ``properties.email`` was the tagged address, and a dotted ``googlemail``
spelling of a gmail address.  The note the parsers leave in the contact never reaches an event."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse_lines import parse_records
from journeyflow.stages.spellings import ALSO_KEYS, ID_MAILBOXES, plus_bases
from tests.stages.test_qa10d_two_addresses import holder
from tests.stages.test_qa11a_mailboxes import AT, PARSER, offers

NAMED = {  # (the spelling an opt-out names, the address customer A holds)
    "tagged -> base": ("ann+shop@example.com", "ann@example.com"),
    "googlemail dotted -> gmail": ("a.nn@googlemail.com", "ann@gmail.com"),
}


def _opt_outs(named: str) -> dict[str, tuple[str, dict]]:
    segment = {"type": "track", "event": "Unsubscribed", "messageId": "u1", "timestamp": AT}
    return {
        "consent revoke, crm_id": ("consent", {"event_id": "u1", "ts": AT, "crm_id": named, "channel": "email",
                                               "status": "revoked"}),
        "unsubscribe, crm_id": ("engagement", {"event_id": "u1", "ts": AT, "crm_id": named, "channel": "email",
                                               "type": "unsubscribed"}),
        "complaint, crm_id beside another email": ("engagement", {
            "event_id": "u1", "ts": AT, "crm_id": named, "email": "zed@example.org", "channel": "email",
            "type": "complained"}),
        "Segment Unsubscribed, userId": ("track", {**segment, "userId": named}),
        "Segment Unsubscribed, properties.email beside a trait": ("track", {
            **segment, "anonymousId": "esp-1", "context": {"traits": {"email": "zed@example.org"}},
            "properties": {"email": named}}),
    }


@pytest.mark.parametrize("form", sorted(_opt_outs("x@example.com")))
@pytest.mark.parametrize("case", sorted(NAMED))
def test_an_opt_out_naming_a_tagged_address_as_an_id_or_property_blocks_its_mailbox(case, form):
    named, held = NAMED[case]
    base = holder("A", held) + holder("B", "bob@example.com")
    assert offers(base) == ["crm:A", "crm:B"]
    assert offers(base + [_opt_outs(named)[form]]) == ["crm:B"]


@pytest.mark.parametrize("form", sorted(_opt_outs("x@example.com")))
def test_the_note_never_reaches_an_event_and_an_untagged_id_adds_nothing(form):
    stream, rec = _opt_outs("ann+shop@example.com")[form]
    ev = PARSER.parse(stream, json.dumps(rec).encode())
    assert isinstance(ev, Event) and ID_MAILBOXES not in ev.contact and ALSO_KEYS in ev.contact
    stream, plain = _opt_outs("ann@example.com")[form]
    ev = PARSER.parse(stream, json.dumps(plain).encode())
    assert isinstance(ev, Event) and ID_MAILBOXES not in ev.contact


def test_a_record_that_is_no_opt_out_keeps_its_contact_as_before():
    """A purchase whose crm_id is a tagged address: its contact is what it was (no note, no also_keys), in the full
    parser and in the replay's chunk path (the fast path first)."""
    rec = {"event_id": "o1", "ts": AT, "crm_id": "ann+shop@example.com", "order_id": "O-1", "type": "order_placed"}
    raw = json.dumps(rec).encode()
    full = PARSER.parse_full("orders", raw, "t:1").result
    (fast,), dead, _w = parse_records(PARSER, "orders", [raw], ["t:1"])
    assert dead == [] and full.contact == fast.contact and ID_MAILBOXES not in full.contact
    assert ALSO_KEYS not in full.contact


def test_two_ids_that_are_tagged_addresses_block_both_mailboxes():
    rec = {"type": "track", "event": "Unsubscribed", "messageId": "u1", "timestamp": AT,
           "userId": "ann+a@example.com", "anonymousId": "bob+b@example.com"}
    ev = PARSER.parse("track", json.dumps(rec).encode())
    also = ev.contact[ALSO_KEYS].split()
    for tagged in ("ann+a@example.com", "bob+b@example.com"):
        (box,) = plus_bases(PARSER.hasher, [tagged])
        assert box in also


def test_a_page_view_with_two_tagged_address_ids_keeps_its_contact_as_before():
    """The fast path merges each id's contact: with two notes it kept one; either way no note reaches the event."""
    rec = {"event_id": "w1", "ts": AT, "anonymous_id": "ann+a@example.com", "user_id": "bob+b@example.com",
           "type": "page_view"}
    raw = json.dumps(rec).encode()
    (fast,), _d, _w = parse_records(PARSER, "web", [raw], ["t:1"])
    full = PARSER.parse_full("web", raw, "t:1").result
    assert fast.contact == full.contact and ID_MAILBOXES not in fast.contact
