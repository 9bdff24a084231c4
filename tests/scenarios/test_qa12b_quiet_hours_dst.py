"""Quiet hours on the days clocks change, end to end (qa12b, a lifecycle practitioner's scenarios).

A payment reminder by SMS falls due at night on the spring-forward day (02:30 does not exist: the reminder is due
at the instant 24 hours after the failure, 03:30 EDT / CEST) and on the fall-back day, in the first and in the
second pass of the repeated hour, in America/New_York and Europe/Berlin.  Each is deferred once (one ``wait``
decision) and sent at 08:00 local of that day, never in quiet hours.  The zone comes from the CRM profile or,
without one, from the phone number.  Checked, no fault found:
this file guards the behaviour (``stages/arbitration/quiet.py``).  Replayed through the public replay API.
"""
from __future__ import annotations

from datetime import datetime, timedelta as td, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.scenarios import Scenario, decisions_of, replay_scenario

D = td(days=1)
NY, BERLIN = "America/New_York", "Europe/Berlin"
#: customer -> (zone, local wall time the SMS falls due at, fold, zone from the CRM or the phone)
CASES = {
    "NYSPRING": (NY, datetime(2026, 3, 8, 2, 30), 0, "crm"),
    "NYFALL1": (NY, datetime(2026, 11, 1, 1, 30), 0, "crm"),
    "NYFALL2": (NY, datetime(2026, 11, 1, 1, 30), 1, "crm"),
    "BESPRING": (BERLIN, datetime(2026, 3, 29, 2, 30), 0, "crm"),
    "BEFALL1": (BERLIN, datetime(2026, 10, 25, 2, 30), 0, "crm"),
    "BEFALL2": (BERLIN, datetime(2026, 10, 25, 2, 30), 1, "crm"),
    "NYPHONE": (NY, datetime(2026, 3, 8, 2, 30), 0, "phone"),
}
PHONES = {NY: "+1212555{:04d}", BERLIN: "+49151123{:05d}"}


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    s = Scenario()
    for i, (cid, (zone, wall, fold, source)) in enumerate(CASES.items()):
        z = ZoneInfo(zone)
        due = wall.replace(tzinfo=z, fold=fold).astimezone(timezone.utc)
        s.contact(due - 40 * D, cid, email=f"{cid.lower()}@example.com",
                  phone=PHONES[zone].format(100 + i), tz=zone if source == "crm" else "",
                  consent=("email", "sms"))
        s.add("orders", due - D, crm_id=cid, order_id=f"{cid}-1", type="payment_failed", product_ids=["PLAN"],
              amount=20, currency="USD")
    _, audit, _ = replay_scenario(s, tmp_path_factory.mktemp("qa12b_dst"))
    return audit


@pytest.mark.parametrize("cid", sorted(CASES))
def test_a_night_sms_on_a_dst_day_is_deferred_once_to_8_local(audit, cid):
    zone = ZoneInfo(CASES[cid][0])
    sms = [d for d in decisions_of(audit, f"crm:{cid}") if d["journey_id"] == "dunning" and d.get("channel") == "sms"]
    assert [(d["action"], d["reason_codes"]) for d in sms] == [("wait", ["quiet_hours_deferred"]),
                                                               ("send", ["chosen"])]
    sent = datetime.fromtimestamp(sms[1]["decided_at"] / 1000, timezone.utc).astimezone(zone)
    asked = datetime.fromtimestamp(sms[0]["decided_at"] / 1000, timezone.utc).astimezone(zone)
    assert (sent.hour, sent.minute) == (8, 0) and sent.date() == asked.date()
