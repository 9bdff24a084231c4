"""The delivery address after a customer changed it (QA of the compliance area): the execution tool's reports about
the old address (a soft bounce, a late ``delivered``/``opened``/``clicked``, a Segment ``Email Bounced``) are echoes
of messages sent there, not the customer giving that address again.

Input: a contact created with old@, changed in the CRM to new@, then an engagement record naming old@, then three
views of a product (the browse offer).  Before: the echo made old@ the most recently seen address, and the offer
went to the address the customer had replaced (a soft-bounced one, even).  Now it goes to new@; an echo still adds
an address the customer did not have, and a consent grant naming an address still makes it the newest.
"""
from __future__ import annotations

import json

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"test-key")
PARSER = Parser(HASHER)
CONFIG = EngineConfig.from_files()
NAMES = {HASHER.email(f"{n}@example.com")[0]: n for n in ("old", "new", "third")}


def contact_then(records: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return [("crm", {"event_id": "c1", "ts": "2026-09-01T00:00:00Z", "type": "contact_created", "crm_id": "A",
                     "email": "old@example.com", "timezone": "UTC"}),
            ("consent", {"event_id": "g1", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "email",
                         "status": "granted"}),
            ("crm", {"event_id": "c2", "ts": "2026-10-02T10:00:00Z", "type": "contact_updated", "crm_id": "A",
                     "email": "new@example.com"})] + records + [
        ("web", {"event_id": f"v{i}", "ts": f"2026-10-05T12:0{i}:00Z", "type": "product_view", "anonymous_id": "d",
                 "user_id": "A", "product_id": "P1"}) for i in range(3)]


def offer_address(records: list[tuple[str, dict]]) -> list[str]:
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events)
    got = []
    for _c, out in fold_clusters(resolve_clusters(events, CONFIG.link_rules()), CONFIG.build_processor(),
                                 max(e.ts for e in events) + 86_400_000):
        got += [NAMES.get(d.address_key) for d in out.decisions if d.journey_id == "browse_offer"
                and d.action == "send"]
    return got


ECHOES = {
    "soft bounce": ("engagement", {"email": "old@example.com", "channel": "email", "type": "bounced",
                                   "bounce_type": "soft"}),
    "late delivered": ("engagement", {"email": "old@example.com", "channel": "email", "type": "delivered"}),
    "late opened": ("engagement", {"email": "old@example.com", "channel": "email", "type": "opened"}),
    "late clicked": ("engagement", {"crm_id": "A", "email": "old@example.com", "channel": "email",
                                    "type": "clicked"}),
    "Segment Email Bounced": ("track", {"type": "track", "event": "Email Bounced", "messageId": "m-1", "userId": "A",
                                        "properties": {"email": "old@example.com", "bounce_type": "soft"}}),
}


def at(stream: str, rec: dict, ts: str = "2026-10-04T10:00:00Z") -> tuple[str, dict]:
    key = "timestamp" if stream == "track" else "ts"
    return stream, {"event_id": "x1", key: ts, **rec}


def test_control_the_offer_goes_to_the_new_address():
    assert offer_address(contact_then([])) == ["new"]


@pytest.mark.parametrize("name", list(ECHOES))
def test_an_echo_about_the_old_address_does_not_make_it_the_delivery_address(name):
    assert offer_address(contact_then([at(*ECHOES[name])])) == ["new"]


def test_a_grant_naming_an_address_still_makes_it_the_newest():
    grant = at("consent", {"email": "old@example.com", "channel": "email", "status": "granted"})
    assert offer_address(contact_then([grant])) == ["old"]


def test_an_echo_naming_an_address_the_customer_lacks_still_adds_it():
    """A customer known by CRM id only (no address of its own) and an ESP report naming its address: sendable."""
    recs = [("consent", {"event_id": "g1", "ts": "2026-09-01T00:00:01Z", "crm_id": "A", "channel": "email",
                         "status": "granted"}),
            ("engagement", {"event_id": "x1", "ts": "2026-10-04T10:00:00Z", "crm_id": "A",
                            "email": "third@example.com", "channel": "email", "type": "delivered"})] + [
        ("web", {"event_id": f"v{i}", "ts": f"2026-10-05T12:0{i}:00Z", "type": "product_view", "anonymous_id": "d",
                 "user_id": "A", "product_id": "P1"}) for i in range(3)]
    assert offer_address(recs) == ["third"]
