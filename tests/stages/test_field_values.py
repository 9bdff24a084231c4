"""QA (issue 18): time zone values as CRMs and SDKs send them -- IANA names in another letter case are the zone, names
of a machine's own zone files are no customer's zone (the same record must give the same zone on every machine)."""
from __future__ import annotations

import json

import pytest

from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
TS = "2026-06-01T10:00:00Z"


def _crm(tz):
    return P.parse_full("crm", json.dumps({"event_id": "c1", "ts": TS, "crm_id": "C1", "type": "contact_created",
                                           "timezone": tz}), "t:1")


@pytest.mark.parametrize("given, zone", [
    ("america/new_york", "America/New_York"), ("EUROPE/BERLIN", "Europe/Berlin"), ("utc", "UTC"),
    (" asia/kolkata ", "Asia/Kolkata"), ("America/New_York", "America/New_York"),
])
def test_an_iana_zone_in_another_letter_case_is_that_zone(given, zone):
    """Zone names are case-sensitive file names, but no two zones differ in case only: ``america/new_york`` (a CRM
    that lower-cases its fields) was dropped as unknown and the customer fell back to the default zone."""
    res = _crm(given)
    assert res.result.attrs["timezone"] == zone and res.warnings == ()
    seg = P.parse_full("track", json.dumps({"type": "identify", "messageId": "i", "userId": "u", "timestamp": TS,
                                            "context": {"timezone": given}}), "t:2")
    assert seg.result.attrs["timezone"] == zone and seg.warnings == ()


@pytest.mark.parametrize("given", ["localtime", "posix/Europe/Berlin", "right/UTC", "Factory", "posixrules"])
def test_a_machines_own_zone_files_are_no_customers_zone(given):
    """ZoneInfo loads these from /usr/share/zoneinfo where it exists (not on a slim worker image): the record's zone
    must not depend on the machine.  ``localtime`` is the machine's own zone."""
    res = _crm(given)
    assert "timezone" not in res.result.attrs
    assert [(w.field, w.reason) for w in res.warnings] == [("timezone", "unknown_timezone")]
