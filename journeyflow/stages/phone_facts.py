"""One parse of a delivery phone number for the questions the fold asks of it (issue 22: the same numbers were parsed
twice, once for quiet hours' zones and once for whether the number takes texts).

:func:`parsed_number` remembers, per E.164 text (as ``CustomerState.addresses`` keeps it), ``phonenumbers.parse``'s
result and ``phonenumbers.number_type`` of it; :func:`arbitration.zones.phone_zones
<journeyflow.stages.arbitration.zones.phone_zones>` and :func:`sms_capable` read them instead of parsing again.
Both calls are pure functions of the text (``phonenumbers``' metadata tables), and nothing here or in those callers
changes the ``PhoneNumber`` object, so the answers are those of a fresh parse.
"""
from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

__all__ = ["parsed_number", "sms_capable"]


@lru_cache(maxsize=1 << 16)  # (one entry per phone of a worker's customers; a miss parses, ~0.1 ms)
def parsed_number(e164: str) -> tuple[PhoneNumber, int] | None:
    """``(phonenumbers.parse(e164, None), phonenumbers.number_type(of it))``, or None when the text does not parse
    (``NumberParseException``).  The ``PhoneNumber`` is shared by every caller: read it, never change it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return number, phonenumbers.number_type(number)


@lru_cache(maxsize=1 << 16)  # (asked per SMS address choice: a hit is one C call, no frame)
def sms_capable(e164: str) -> bool:
    """:func:`journeyflow.stages.identity.phone_types.sms_capable` from the shared parse (the same answer): False
    when ``phonenumbers`` types the number ``FIXED_LINE`` (a landline takes calls, not texts), True for every other
    type and for text that does not parse."""
    p = parsed_number(e164)
    return p is None or p[1] != PhoneNumberType.FIXED_LINE
