"""The phone on a support ticket is not the customer's delivery address when the customer gave one (QA of the
compliance area).

Input: a CRM contact with their own mobile and SMS consent; a week later a support ticket of theirs on which the
agent typed the desk's phone ``(212) 555-0100`` (the generator's "support agent desk phone", on the tickets of
dozens of customers); then a failed payment.  Before: the ticket made the desk phone the customer's most recently
seen phone, so the dunning text -- with the order id and amount -- went to the support desk.  Now a support record
names an address for delivery only when the customer has none of that kind (it fills a gap, as before), and never
makes a known one the most recent; the CRM, orders, web, consent and Segment records still do.
"""
from __future__ import annotations

import json

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"test-key")
PARSER = Parser(HASHER)
CONFIG = EngineConfig.from_files()


def contact(phone: str | None) -> list[tuple[str, dict]]:
    return [("crm", {"event_id": "c1", "ts": "2026-10-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "ann@example.com", "phone": phone, "timezone": "America/Los_Angeles"}),
            ("consent", {"event_id": "g1", "ts": "2026-10-01T00:00:01Z", "crm_id": "A", "channel": "sms",
                         "status": "granted"})]


def ticket(phone: str, day: str = "04") -> list[tuple[str, dict]]:
    return [("support", {"event_id": f"s-{day}", "ts": f"2026-10-{day}T17:00:00Z", "type": "ticket_opened",
                         "crm_id": "A", "phone": phone, "ticket_id": f"T{day}", "severity": "low"}),
            ("support", {"event_id": f"r-{day}", "ts": f"2026-10-{day}T18:00:00Z", "type": "ticket_resolved",
                         "crm_id": "A", "phone": phone, "ticket_id": f"T{day}", "severity": "low"})]


FAILED = [("orders", {"event_id": "o1", "ts": "2026-10-10T18:00:00Z", "type": "payment_failed", "crm_id": "A",
                      "order_id": "O1", "amount": 10, "currency": "USD", "product_ids": ["P1"]})]


def dunning_text_to(records: list[tuple[str, dict]]) -> list[str | None]:
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events), events
    got = []
    for _c, out in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                                 max(e.ts for e in events) + 3 * 86_400_000):
        got += [d.address for d in out.decisions if d.journey_id == "dunning" and d.channel == "sms"
                and d.action == "send"]
    return got


def test_the_desk_phone_on_a_ticket_does_not_replace_the_customers_own_mobile():
    assert dunning_text_to(contact("+1 415 555 0134") + ticket("(212) 555-0100") + FAILED) == ["+14155550134"]


def test_a_ticket_fills_the_gap_when_the_customer_gave_no_phone():
    assert dunning_text_to(contact(None) + ticket("+1 415 555 0177") + FAILED) == ["+14155550177"]


def test_a_later_crm_phone_wins_over_the_tickets():
    later_crm = [("crm", {"event_id": "c2", "ts": "2026-10-06T00:00:00Z", "type": "contact_updated", "crm_id": "A",
                          "phone": "+1 415 555 0188"})]
    assert dunning_text_to(contact(None) + ticket("+1 415 555 0177") + later_crm + FAILED) == ["+14155550188"]


def test_a_phone_the_customer_gave_is_not_made_older_or_newer_by_a_ticket():
    # CRM phone 1 (Oct 1), changed in the CRM to phone 2 (Oct 3): phone 2 is the newest; a ticket naming phone 1
    # (Oct 4) does not make phone 1 the newest again
    grant2 = [("crm", {"event_id": "c2", "ts": "2026-10-03T00:00:00Z", "type": "contact_updated", "crm_id": "A",
                       "phone": "+1 415 555 0199"})]
    assert dunning_text_to(contact("+1 415 555 0134") + grant2 + ticket("+1 415 555 0134") + FAILED) == [
        "+14155550199"]
