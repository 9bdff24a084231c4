"""qa10d: an opt-out naming two addresses blocks both (fail safe).

Two customers, A (ann@) and B (bob@), each with email consent and a browse offer due days later.  One opt-out names
both addresses: a Segment ``Unsubscribed`` / ``Email Marked as Spam`` / ``Email Bounced`` whose user trait is one and
whose ``properties.email`` (the address the email tool sent to) the other; a built-in unsubscribe, complaint or
consent revoke whose ``crm_id`` / a Segment ``userId`` is itself an address beside its ``email``, or whose ``email``
is a list of addresses (a JSON list, a comma/semicolon-separated text: ``spellings.several_addresses``).  Before, only the
address kept as the record's contact was blocked (the trait's, the ``email`` field's) and the other customer still
got the offer.  Now every address the record names changes status: the others ride in its contact
(``spellings.also_named``, read by ``deliverability.named_keys``), in the built-in, fast and Segment parsers."""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.deliverability import named_keys
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.spellings import ALSO_KEYS

HASHER = Hasher(b"test-key")
PARSER = Parser(HASHER)
CONFIG = EngineConfig.from_files()
ANN, BOB = "ann@example.com", "bob@example.com"


def holder(crm: str, email: str) -> list[tuple[str, dict]]:
    return [("crm", {"event_id": f"c-{crm}", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                     "crm_id": crm, "email": email, "timezone": "UTC"}),
            ("consent", {"event_id": f"g-{crm}", "ts": "2026-09-01T00:00:01Z", "crm_id": crm, "channel": "email",
                         "status": "granted"})] + [
        ("web", {"event_id": f"v-{crm}-{i}", "ts": f"2026-10-05T12:0{i}:00Z", "type": "product_view",
                 "anonymous_id": f"d-{crm}", "user_id": crm, "product_id": "P1"}) for i in range(3)]


def offers(records: list[tuple[str, dict]]) -> list[str]:
    """Customers sent the browse offer (days after the opt-out)."""
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                               max(e.ts for e in events) + 86_400_000):
        out += [d.customer_id for d in o.decisions if d.action == "send" and d.journey_id == "browse_offer"]
    return sorted(out)


AT = "2026-10-01T00:00:00Z"
SEGMENT = {event: ("track", {"type": "track", "event": event, "messageId": "m1", "userId": "u-9", "timestamp": AT,
                             "context": {"traits": {"email": ANN}}, "properties": {"email": BOB}})
           for event in ("Unsubscribed", "Email Marked as Spam", "Email Bounced")}
BUILT_IN = {
    "unsubscribe, crm_id an address": ("engagement", {"event_id": "u1", "ts": AT, "crm_id": BOB, "email": ANN,
                                                      "channel": "email", "type": "unsubscribed"}),
    "complaint, crm_id an address": ("engagement", {"event_id": "u1", "ts": AT, "crm_id": BOB, "email": ANN,
                                                    "channel": "email", "type": "complained"}),
    "hard bounce, crm_id an address": ("engagement", {"event_id": "u1", "ts": AT, "crm_id": BOB, "email": ANN,
                                                      "channel": "email", "type": "bounced"}),
    "consent revoke, crm_id an address": ("consent", {"event_id": "u1", "ts": AT, "crm_id": BOB, "email": ANN,
                                                      "channel": "email", "status": "revoked"}),
    "unsubscribe, a list of two": ("engagement", {"event_id": "u1", "ts": AT, "email": [ANN, BOB],
                                                  "channel": "email", "type": "unsubscribed"}),
    "hard bounce, two in one text": ("engagement", {"event_id": "u1", "ts": AT, "email": f"{ANN}; {BOB}",
                                                    "channel": "email", "type": "bounced"}),
    "complaint, an address list": ("engagement", {"event_id": "u1", "ts": AT, "email": f"Ann <{ANN}>, Bob <{BOB}>",
                                                  "channel": "email", "type": "complained"}),
    "consent revoke, a list of two": ("consent", {"event_id": "u1", "ts": AT, "email": [ANN, BOB],
                                                  "channel": "email", "status": "revoked"}),
    "Segment userId an address": ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m1",
                                            "userId": BOB, "timestamp": AT, "context": {"traits": {"email": ANN}}}),
}


def test_the_holders_get_the_offer_without_an_opt_out():
    assert offers(holder("A", ANN) + holder("B", BOB)) == ["crm:A", "crm:B"]


@pytest.mark.parametrize("name", sorted(SEGMENT) + sorted(BUILT_IN))
def test_an_opt_out_naming_two_addresses_blocks_both(name):
    optout = {**SEGMENT, **BUILT_IN}[name]
    assert offers(holder("A", ANN) + holder("B", BOB) + [optout]) == []


@pytest.mark.parametrize("name", sorted(SEGMENT))
def test_a_segment_opt_outs_second_address_is_named_but_not_linked(name):
    """The properties' address is carried beside the trait (the record's contact, its delivery address) for the
    status change only: it joins no identity (an ESP's address is no proof of who the user is)."""
    ev = PARSER.parse("track", json.dumps(SEGMENT[name][1]).encode())
    assert named_keys(ev.contact, "email") == [HASHER.email(ANN)[0], HASHER.email(BOB)[0]]
    assert ev.contact["email"] == ANN and HASHER.email(BOB)[0] not in ev.ids
    plain = {**SEGMENT[name][1], "event": "Clicked"}  # not an opt-out: the properties' address is not read
    assert named_keys(PARSER.parse("track", json.dumps(plain).encode()).contact, "email") == [HASHER.email(ANN)[0]]


def test_a_grant_names_only_its_own_address():
    ev = PARSER.parse("consent", json.dumps({"event_id": "g", "ts": AT, "email": ANN, "channel": "email",
                                             "status": "granted"}).encode())
    assert named_keys(ev.contact, "email") == [HASHER.email(ANN)[0]] and ALSO_KEYS not in ev.contact


@pytest.mark.parametrize("name", sorted(SEGMENT) + sorted(BUILT_IN))
def test_compare_reads_every_address_an_opt_out_names(name):
    """``analytics.conflicts`` (what ``compare`` checks a send against) reads both addresses too, so a send to the
    second is a conflict there as it is a suppression in the pipeline."""
    from journeyflow.analytics.conflicts import build_address_facts

    stream, rec = {**SEGMENT, **BUILT_IN}[name]
    facts = build_address_facts([PARSER.parse(stream, json.dumps(rec).encode())])
    named = {k for k, _ch in {**facts.status, **facts.hard_bounce}}
    assert named == {HASHER.email(ANN)[0], HASHER.email(BOB)[0]}


@pytest.mark.parametrize("value", [["+14155550134", 14155550199], "+1 415 555 0134 / +1 415 555 0199"])
def test_an_sms_opt_out_naming_two_numbers_names_both(value):
    ev = PARSER.parse("engagement", json.dumps({"event_id": "u1", "ts": AT, "phone": value, "channel": "sms",
                                                "type": "unsubscribed"}).encode())
    assert named_keys(ev.contact, "phone") == [HASHER.phone("+14155550134")[0], HASHER.phone("+14155550199")[0]]


@pytest.mark.parametrize("value", [[ANN, "not an address"], f"{ANN}, nope"])
def test_a_list_with_an_item_that_is_no_address_is_reported_as_before(value):
    res = PARSER.parse_full("engagement", json.dumps({"event_id": "u1", "ts": AT, "crm_id": "C1", "email": value,
                                                      "channel": "email", "type": "unsubscribed"}).encode())
    assert [w.field for w in res.warnings] == ["email"] and "email" not in res.result.contact


def test_a_list_of_addresses_outside_an_opt_out_is_still_a_wrong_type():
    res = PARSER.parse_full("engagement", json.dumps({"event_id": "u1", "ts": AT, "crm_id": "C1",
                                                      "email": [ANN, BOB], "channel": "email",
                                                      "type": "clicked"}).encode())
    assert [(w.field, w.reason) for w in res.warnings] == [("email", "wrong_type")]


@pytest.mark.parametrize("value", [[ANN, BOB], f"{ANN}, {BOB}"])
def test_a_segment_opt_out_whose_trait_lists_two_addresses_blocks_both(value):
    msg = {"type": "track", "event": "Unsubscribed", "messageId": "m1", "userId": "u-9", "timestamp": AT,
           "context": {"traits": {"email": value}}}
    ev = PARSER.parse("track", json.dumps(msg).encode())
    assert named_keys(ev.contact, "email") == [HASHER.email(ANN)[0], HASHER.email(BOB)[0]]
    assert offers(holder("A", ANN) + holder("B", BOB) + [("track", msg)]) == []
