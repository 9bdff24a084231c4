"""qa10d: quiet hours of a text or call to a number that names no place in its country (toll free, VoIP, personal,
premium rate) hold in every zone of that country (``zones.country_zones``, the tz database's ``zone.tab``).

Before, such a number gave no zone (``phone_zones`` returned ``()``: libphonenumber lists ``+1 800`` under all 42
zones of the +1 area, so it was treated as placed nowhere) and a customer without a profile zone was texted by the
policy's ``default_timezone`` (UTC): 10:00Z on 2 July is 03:00 in California, 06:00 in New York.  Now a US toll-free
or VoIP number keeps quiet hours from Honolulu to New York; a UK personal number those of London.  A number of no
country (``+882``/``+883``, Inmarsat ``+870``: region ``001``) still follows the customer's own zones (documented)."""
from __future__ import annotations

import pytest

from journeyflow.stages.arbitration.zones import phone_zones, send_zones
from journeyflow.stages.arbitration.policy import zone_or_none
from tests.stages.test_qa9a_phone_quiet_hours import customer, ms, outcome

US_TOLL_FREE, US_VOIP, US_PREMIUM = "+18005550199", "+15005550199", "+19005550199"
UK_PERSONAL = "+447010000000"


@pytest.mark.parametrize("number", [US_TOLL_FREE, US_VOIP, US_PREMIUM])
@pytest.mark.parametrize("channel", ["sms", "call"])
def test_a_us_number_of_no_place_gets_no_text_or_call_at_night_anywhere_in_the_us(channel, number):
    # 10:00Z on 2 July: 11:00 in London (UTC's day), 06:00 EDT, 03:00 PDT, 00:00 HST: waits for 08:00 in Honolulu
    assert outcome(customer(None, number), channel, "2026-07-02T10:00:00Z") == ("wait", ms("2026-07-02T18:00:00Z"))
    # 19:00Z: 15:00 EDT, 09:00 HST: day everywhere in the US
    assert outcome(customer(None, number), channel, "2026-07-02T19:00:00Z")[0] == "send"


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_a_uk_personal_number_keeps_london_hours(channel):
    # 20:30Z on 2 July = 21:30 BST: waits for 08:00 BST = 07:00Z
    assert outcome(customer(None, UK_PERSONAL), channel, "2026-07-02T20:30:00Z") == (
        "wait", ms("2026-07-03T07:00:00Z"))


def test_the_zones_of_such_numbers():
    us = {z.key for z in phone_zones(US_TOLL_FREE)}
    assert {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu"} <= us and "Pacific/Guam" not in us
    assert [z.key for z in phone_zones(UK_PERSONAL)] == ["Europe/London"]
    assert phone_zones("+12125550100") == (zone_or_none("America/New_York"),)  # placed numbers: as before


@pytest.mark.parametrize("number", ["+883510012345", "+870773110000"])
def test_a_number_of_no_country_follows_the_customers_own_zones(number):
    assert phone_zones(number) == ()
    default = zone_or_none("UTC")
    assert send_zones(customer("Asia/Tokyo", number), "sms", number, default) == (zone_or_none("Asia/Tokyo"),)
    assert send_zones(customer(None, number), "sms", number, default) == (default,)
