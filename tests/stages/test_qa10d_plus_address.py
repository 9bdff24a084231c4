"""qa10d: an opt-out naming a plus-address (``ann+shop@example.com``) also blocks its base mailbox (``ann@``).

Providers that offer tags (RFC 5233 subaddressing: gmail, Outlook, iCloud, Fastmail) deliver ``ann+shop@`` to
``ann@``'s mailbox.  Identity keeps the two apart (unless ``--merge_plus_addresses``), so an unsubscribe from the tagged
address was a status of that address only, and the customer holding ``ann@`` (the same person, the same mailbox)
kept getting mail.  Fail safe: an opt-out's plus-address names its base mailbox too (``spellings.plus_bases``), in the
built-in parser, its fast path and the Segment parser."""
from __future__ import annotations

import json

import pytest

from journeyflow.stages.deliverability import named_keys
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from tests.stages.test_qa10d_two_addresses import AT, HASHER, PARSER, holder, offers

OPT_OUTS = {
    "unsubscribe": ("engagement", {"event_id": "u1", "ts": AT, "email": "Ann+Shop@Example.com", "channel": "email",
                                   "type": "unsubscribed"}),
    "hard bounce": ("engagement", {"event_id": "u1", "ts": AT, "email": "ann+shop@example.com", "channel": "email",
                                   "type": "bounced"}),
    "consent revoke": ("consent", {"event_id": "u1", "ts": AT, "email": "ann+news@example.com", "channel": "email",
                                   "status": "revoked"}),
    "Segment Unsubscribed": ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m1",
                                       "anonymousId": "esp-1", "timestamp": AT,
                                       "context": {"traits": {"email": "ann+list@example.com"}}}),
}


@pytest.mark.parametrize("name", sorted(OPT_OUTS))
def test_an_opt_out_of_a_tagged_address_blocks_its_mailbox(name):
    base = holder("A", "ann@example.com") + holder("B", "bob@example.com")
    assert offers(base) == ["crm:A", "crm:B"]
    assert offers(base + [OPT_OUTS[name]]) == ["crm:B"]  # bob@ is another mailbox


@pytest.mark.parametrize("name", sorted(OPT_OUTS))
def test_the_full_and_fast_paths_name_the_same_addresses(name):
    stream, rec = OPT_OUTS[name]
    fast = PARSER.parse(stream, json.dumps(rec).encode())
    full = PARSER.parse_full(stream, json.dumps(rec).encode()).result
    assert fast == full and HASHER.email("ann@example.com")[0] in named_keys(fast.contact, "email")


def test_a_record_that_is_no_opt_out_names_only_its_address():
    rec = {"event_id": "o1", "ts": AT, "email": "ann+shop@example.com", "channel": "email", "type": "opened"}
    ev = PARSER.parse("engagement", json.dumps(rec).encode())
    assert named_keys(ev.contact, "email") == [HASHER.email("ann+shop@example.com")[0]]


def test_with_merged_plus_addresses_the_tagged_address_is_the_mailbox():
    merging = Hasher(b"test-key", merge_plus_addresses=True)
    ev = Parser(merging, ParseConfig(merge_plus_addresses=True)).parse(
        "engagement", json.dumps(OPT_OUTS["unsubscribe"][1]).encode())
    assert named_keys(ev.contact, "email") == [merging.email("ann@example.com")[0]]
