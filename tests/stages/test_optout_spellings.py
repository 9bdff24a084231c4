"""Opt-outs written the way real sources write them are understood, never dead-lettered (compliance fails safe).

Before: ``status: "REVOKED"``, ``channel: "Email"``, an ESP's ``type: "Unsubscribed"``, an address written as
``mailto:ann@x.com`` or ``Ann <ann@x.com>``, a consent revoke naming both the CRM id and the email, and a Segment
``Unsubscribed`` whose address is only in ``properties.email`` were dead letters (or lost the address), so the
promo still went out.  Each is parsed here and then run through the bounded core (``resolve_clusters`` +
``fold_clusters``, address copies included) against a control run without the opt-out.
"""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher, normalize_email
from journeyflow.stages.parse import Parser

CONFIG = EngineConfig.from_files()
PARSER = Parser(Hasher(b"test-key"))
DAY = "2026-10-05"


def parse(stream: str, rec: dict) -> Event | DeadLetter:
    return PARSER.parse(stream, json.dumps(rec).encode())


def customer(crm: str, email: str, n: int = 3) -> list[tuple[str, dict]]:
    """A known customer with email consent who browses one product ``n`` times (the default browse_offer sends)."""
    recs = [("crm", {"event_id": f"{crm}-c", "ts": "2026-09-01T00:00:00Z", "type": "contact_created",
                     "crm_id": crm, "email": email, "timezone": "UTC"}),
            ("consent", {"event_id": f"{crm}-g", "ts": "2026-09-01T00:00:01Z", "crm_id": crm, "channel": "email",
                         "status": "granted"})]
    recs += [("web", {"event_id": f"{crm}-v{i}", "ts": f"{DAY}T12:0{i}:00Z", "type": "product_view",
                      "anonymous_id": f"dev-{crm}", "user_id": crm, "product_id": "P1"}) for i in range(n)]
    return recs


def promo_emails(records: list[tuple[str, dict]]) -> dict[str, int]:
    """Customer id → browse_offer emails sent, over a bounded run of the parsed records."""
    events = []
    for stream, rec in records:
        got = parse(stream, rec)
        assert isinstance(got, Event), got  # every record here is understood
        events.append(got)
    processor = CONFIG.build_processor()
    sent: dict[str, int] = {}
    for _cluster, out in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), processor,
                                       max(e.ts for e in events) + 86_400_000):
        for d in out.decisions:
            if d.action == "send" and d.journey_id == "browse_offer" and d.channel == "email":
                sent[d.customer_id] = sent.get(d.customer_id, 0) + 1
    return sent


OPT_OUTS = {
    "consent status REVOKED": ("consent", {"crm_id": "A", "channel": "email", "status": "REVOKED"}),
    "consent status ' revoked'": ("consent", {"crm_id": "A", "channel": "email", "status": " revoked"}),
    "consent channel Email": ("consent", {"crm_id": "A", "channel": "Email", "status": "Revoked"}),
    "consent by mailto: address": ("consent", {"email": "mailto:Ann@Example.com", "channel": "EMAIL",
                                               "status": "revoked"}),
    "ESP Unsubscribed": ("engagement", {"email": "ann@example.com", "channel": "email", "type": "Unsubscribed"}),
    "ESP complaint, display-name address": ("engagement", {"email": "Ann Lee <ann@example.com>", "channel": "Email",
                                                            "type": "COMPLAINED"}),
    "consent revoke naming crm id and email": ("consent", {"crm_id": "A", "email": "ann@example.com",
                                                           "channel": "email", "status": "revoked"}),
}


@pytest.mark.parametrize("name", list(OPT_OUTS))
def test_an_opt_out_in_a_sources_spelling_blocks_the_promo(name):
    stream, fields = OPT_OUTS[name]
    opt_out = (stream, {"event_id": "optout-1", "ts": f"{DAY}T09:00:00Z", **fields})
    assert promo_emails(customer("A", "ann@example.com")) == {"crm:A": 1}  # control: the promo goes out
    assert promo_emails(customer("A", "ann@example.com") + [opt_out]) == {}


def test_a_revoke_naming_two_identifiers_blocks_the_address_for_everyone_holding_it():
    """Shared mailbox: B uses A's address too.  A revoke naming A's CRM id and the address opts the address out,
    so B (who never opted out of the channel) gets no email at that address either."""
    both = customer("A", "ann@example.com") + customer("B", "ann@example.com")
    assert promo_emails(both) == {"crm:A": 1, "crm:B": 1}
    revoke = ("consent", {"event_id": "optout-2", "ts": f"{DAY}T09:00:00Z", "crm_id": "A",
                          "email": "ann@example.com", "channel": "email", "status": "revoked"})
    assert promo_emails(both + [revoke]) == {}


def test_a_grant_naming_two_identifiers_stays_a_dead_letter():
    """Only an opt-out is read for every identifier it names (fail safe); a grant must name its one subject."""
    got = parse("consent", {"event_id": "g2", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "email": "ann@example.com",
                            "channel": "email", "status": "granted"})
    assert isinstance(got, DeadLetter) and got.reason == DeadLetterReason.MULTIPLE_IDENTIFIERS


def test_a_segment_unsubscribe_with_the_address_in_its_properties_blocks_that_address():
    """An email tool's ``Unsubscribed`` (mapped to an engagement opt-out) naming the address only in
    ``properties.email`` opts that address out, also for another customer holding it."""
    both = customer("A", "ann@example.com") + customer("B", "ann@example.com")
    unsub = ("track", {"type": "track", "event": "Unsubscribed", "messageId": "m-1", "userId": "A",
                       "timestamp": f"{DAY}T09:00:00Z", "properties": {"email": "Ann@Example.com"}})
    assert promo_emails(both + [unsub]) == {}
    ev = parse(*unsub)
    assert isinstance(ev, Event) and "email" not in ev.attrs.get("properties", {})  # never an attribute


@pytest.mark.parametrize("raw", ["mailto:Ann@Example.com", "MAILTO:ann@example.com?subject=stop",
                                 "Ann Lee <ann@example.com>", '"Lee, Ann" <ANN@example.com>'])
def test_mailto_and_display_name_forms_are_the_address(raw):
    assert normalize_email(raw) == "ann@example.com"


@pytest.mark.parametrize("raw", ["a@x.com, b@y.com", "<a@x.com> <b@y.com>", "mailto:", "Ann <>"])
def test_lists_and_empty_forms_are_still_refused(raw):
    with pytest.raises(ValueError):
        normalize_email(raw)


def test_an_optional_enum_in_another_case_is_kept():
    ev = parse("support", {"event_id": "s1", "ts": f"{DAY}T09:00:00Z", "crm_id": "A", "type": "Ticket_Opened",
                           "ticket_id": "T1", "severity": "High"})
    assert isinstance(ev, Event) and ev.type == "ticket_opened" and ev.attrs["severity"] == "high"
