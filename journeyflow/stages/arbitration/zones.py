"""The time zones quiet hours are kept in for one customer: the profile's zone, else the zones of their phone numbers.

A customer whose profile names no (known) IANA zone used to get the policy's ``default_timezone`` (UTC by default)
even when their phone number says where they are: a UK mobile was texted at 21:30 BST, a New York number at 06:00
EDT.  Rule (fail safe, :func:`customer_zones`):

1. the profile's zone (CRM ``timezone``, a Segment ``context.timezone`` / ``traits.timezone``) when it is a known
   IANA zone -- it is what the customer or their CRM said, and it wins over the number (a traveller, a moved SIM);
2. else the zones of every phone number the customer has (``CustomerState.addresses`` of kind ``phone``, E.164),
   from ``phonenumbers.timezone.time_zones_for_number``: one zone when the number says it (a New York area code,
   a French mobile), several when it does not narrow it down (a UK mobile: London and the Crown dependencies; an
   Australian mobile: Cocos Islands to Lord Howe; a Russian one).  Quiet hours then hold while it is quiet in *any*
   of them (``quiet.quiet_due_any``): no text at night wherever the number may be;
3. else the policy's ``default_timezone``.

Numbers that name no place give no zone: invalid ones, and types that are not fixed-line or mobile (toll free,
premium rate, shared cost, VoIP, personal, pager, UAN, voicemail -- ``phonenumbers.number_type``): ``+1 800``
is listed under all 42 zones of the +1 area.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

from journeyflow.stages.arbitration.policy import zone_or_none

__all__ = ["customer_zones", "phone_zones"]

#: Number types that belong to a place (``phonenumbers.PhoneNumberType``); others give no zone.
_PLACED = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@lru_cache(maxsize=1 << 16)  # (a miss parses the number, ~0.1 ms: one entry per phone of a worker's customers)
def phone_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The IANA zones a phone number may be in (E.164 text, as ``CustomerState.addresses`` keeps it), sorted by
    name; ``()`` for a number that is unparseable, invalid, not fixed-line or mobile, or that ``phonenumbers``
    places nowhere (``Etc/Unknown``).  Source: ``phonenumbers.timezone.time_zones_for_number`` (libphonenumber's
    prefix-to-zone tables)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _PLACED:
        return ()
    zones = (zone_or_none(name) for name in sorted(time_zones_for_number(number)))
    return tuple(z for z in zones if z is not None and z.key != "Etc/Unknown")


def customer_zones(state: Any, default: ZoneInfo, known: Any = zone_or_none) -> tuple[ZoneInfo, ...]:
    """The zones quiet hours are kept in for ``state`` (a :class:`~journeyflow.stages.state.CustomerState`): the
    rule of the module docstring, never empty (``default``: the policy's ``default_timezone``).  ``known``: maps a
    zone name to a ``ZoneInfo`` or None (the arbiter passes its cached lookup)."""
    zone = known(state.tz) if state.tz else None
    if zone is not None:
        return (zone,)
    found: set[ZoneInfo] = set()
    for kind, raw, _seen in state.addresses.values():
        if kind == "phone" and raw:
            found.update(phone_zones(raw))
    if not found:
        return (default,)
    return tuple(sorted(found, key=lambda z: z.key))
