"""Quiet hours of a customer with no time zone follow the country of their phone number (QA of the compliance area).

Input: a CRM contact with a New York, a UK mobile or a Sydney phone number and no ``timezone``, SMS consent, and a
failed payment: the default ``dunning`` journey texts 24 h later.  Before: the policy's ``default_timezone`` (UTC)
was the customer's zone, so the text went out at 06:00 in New York (10:00Z) and at 21:30 in London (20:30Z, BST),
inside the 21:00-08:00 quiet hours that Regulation F and the TCPA set for calls and texts.  Now the zone comes from
the number (``phonenumbers.timezone.time_zones_for_number``); a number with several candidate zones is quiet when
any of them is.  (Session 9: a CRM zone no longer wins over the number's for a text: both count.)
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.arbitration.zones import country_zones, phone_zones
from journeyflow.stages.bounded import fold_clusters, resolve_clusters
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

HASHER = Hasher(b"test-key")
PARSER = Parser(HASHER)
CONFIG = EngineConfig.from_files()


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def decide(records: list[tuple[str, dict]], config: EngineConfig = CONFIG) -> list:
    """Every decision of the records' customers, in time order, through parse, identity and the bounded fold."""
    events = [PARSER.parse(stream, json.dumps(r).encode()) for stream, r in records]
    assert all(isinstance(e, Event) for e in events), events
    out = []
    for _c, o in fold_clusters(resolve_clusters(events, config.link_rules()), config.build_processor(),
                               max(e.ts for e in events) + 3 * 86_400_000):
        out += o.decisions
    return sorted(out, key=lambda d: (d.decided_at, d.decision_id))


def dunning_sms(phone: str, failed_at: str, tz: str | None = None) -> list[tuple[str, str]]:
    """(UTC time, action) of the dunning SMS decisions of a contact with ``phone`` (and ``tz`` when given) whose
    payment fails at ``failed_at`` (the SMS is due 24 h later)."""
    contact = {"event_id": "c1", "ts": "2026-06-01T00:00:00Z", "type": "contact_created", "crm_id": "C1",
               "phone": phone, "email": "ann@example.com"}
    if tz is not None:
        contact["timezone"] = tz
    records = [("crm", contact),
               ("consent", {"event_id": "g1", "ts": "2026-06-01T00:00:01Z", "crm_id": "C1", "channel": "sms",
                            "status": "granted"}),
               ("orders", {"event_id": "o1", "ts": failed_at, "type": "payment_failed", "crm_id": "C1",
                           "order_id": "O1", "amount": 10, "currency": "USD", "product_ids": ["P1"]})]
    return [(datetime.fromtimestamp(d.decided_at / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), d.action)
            for d in decide(records) if d.journey_id == "dunning" and d.channel == "sms"]


def test_a_new_york_number_without_a_zone_gets_no_text_at_six_in_the_morning():
    # due 2026-10-06T10:00Z = 06:00 EDT: waits for 08:00 EDT = 12:00Z
    assert dunning_sms("+1 212 555 0100", "2026-10-05T10:00:00Z") == [
        ("2026-10-06T10:00Z", "wait"), ("2026-10-06T12:00Z", "send")]


def test_a_uk_mobile_without_a_zone_gets_no_text_at_half_past_nine_in_the_evening():
    # due 2026-07-02T20:30Z = 21:30 BST (UTC: not quiet yet): waits for 08:00 BST = 07:00Z
    assert dunning_sms("+44 7911 123456", "2026-07-01T20:30:00Z") == [
        ("2026-07-02T20:30Z", "wait"), ("2026-07-03T07:00Z", "send")]


def test_a_number_with_several_zones_is_quiet_while_any_of_them_is():
    # an Australian mobile may be anywhere from the Cocos Islands (UTC+6:30) and Perth (+8) to Sydney (+10) and
    # Lord Howe (+10:30 in July).  Due 2026-07-02T23:30Z = 09:30 in Sydney but 07:30 in Perth and 06:00 on Cocos:
    # waits for 08:00 on Cocos = 01:30Z, when it is 08:00 or later in every candidate zone
    assert {"Australia/Perth", "Australia/Sydney", "Indian/Cocos"} <= {z.key for z in phone_zones("+61412345678")}
    assert dunning_sms("+61 412 345 678", "2026-07-01T23:30:00Z") == [
        ("2026-07-02T23:30Z", "wait"), ("2026-07-03T01:30Z", "send")]


def test_the_profile_zone_and_the_number_both_count_for_a_text():
    # a New Yorker living in London: the CRM says Europe/London; 10:00Z = 11:00 BST is not quiet there, but it is
    # 06:00 EDT on the New York number the text goes to: it waits for 08:00 EDT = 12:00Z (session 9: before, the
    # profile zone won and the text went out; tests/stages/test_qa9a_phone_quiet_hours.py)
    assert dunning_sms("+1 212 555 0100", "2026-07-01T10:00:00Z", tz="Europe/London") == [
        ("2026-07-02T10:00Z", "wait"), ("2026-07-02T12:00Z", "send")]
    # 14:00Z = 15:00 BST, 10:00 EDT: day in both, sent at once
    assert dunning_sms("+1 212 555 0100", "2026-07-01T14:00:00Z", tz="Europe/London") == [
        ("2026-07-02T14:00Z", "send")]


def test_a_text_in_the_numbers_daytime_is_sent_at_once():
    # a UK number at 10:00Z in summer (11:00 BST): sent at once
    assert dunning_sms("+44 7911 123456", "2026-07-01T10:00:00Z") == [("2026-07-02T10:00Z", "send")]


@pytest.mark.parametrize("number, zones", [
    ("+12125550100", ("America/New_York",)),
    ("+447911123456", ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London")),
    ("+33612345678", ("Europe/Paris",)),
    ("+18005550100", tuple(z.key for z in country_zones("US"))),  # toll free: anywhere in its country (qa10d)
    ("+883510012345", ()),  # no country (region 001): no zone
    ("not a number", ()),
    ("+999", ()),
])
def test_phone_zones(number, zones):
    assert tuple(z.key for z in phone_zones(number)) == zones
