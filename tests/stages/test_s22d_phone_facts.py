"""s22d: one parse of a delivery phone number shared by quiet hours' zones and the SMS check
(``stages.phone_facts``): the same answers as parsing each time."""
from __future__ import annotations

import phonenumbers
import pytest

from journeyflow.stages.arbitration.policy import zone_or_none
from journeyflow.stages.arbitration.zones import _PLACED, country_zones, phone_zones
from journeyflow.stages.identity.phone_types import sms_capable as fresh_sms_capable
from journeyflow.stages.phone_facts import parsed_number, sms_capable

NUMBERS = ["+12125550100", "+18005550100", "+442079460000", "+447700900123", "+447012345678", "+33612345678",
           "+33123456789", "+390612345678", "+61412345678", "+79161234567", "+80012345678", "+99912345",
           "+4930123456", "+4915123456789", "+81312345678", "+5511987654321", "12125550100", "", "+", "+1",
           "not a number", "+1 (212) 555-0100", "+442079460000 ext. 12", "+2250712345678"]


def _fresh_zones(e164: str):
    """``zones.phone_zones`` as it was: its own parse and type."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    if not phonenumbers.is_valid_number(number):
        return ()
    if phonenumbers.number_type(number) not in _PLACED:
        return country_zones(phonenumbers.region_code_for_number(number) or "")
    zones = (zone_or_none(n) for n in sorted(phonenumbers.timezone.time_zones_for_number(number)))
    return tuple(z for z in zones if z is not None and z.key != "Etc/Unknown")


@pytest.mark.parametrize("number", NUMBERS)
def test_shared_parse_gives_the_fresh_answers_in_either_order(number):
    for first in (sms_capable, phone_zones):  # (whichever asks first fills the shared memo)
        parsed_number.cache_clear()
        sms_capable.cache_clear()
        phone_zones.cache_clear()
        first(number)
        assert sms_capable(number) is fresh_sms_capable(number)
        assert phone_zones(number) == _fresh_zones(number)
        again = parsed_number(number)  # the shared number is left as parsed (nobody changes it)
        if again is not None:
            assert again[0] == phonenumbers.parse(number, None)


def test_landline_and_mobile_told_apart():
    assert sms_capable("+442079460000") is False  # a London landline: calls only
    assert sms_capable("+447700900123") is True
    assert sms_capable("not a number") is True  # text that does not parse: the customer's word stands
    assert parsed_number("not a number") is None
