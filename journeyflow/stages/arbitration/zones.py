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

A text or a call reaches a phone, wherever its owner's profile says they live: for a send on ``sms`` or ``call``
(:data:`PHONE_CHANNELS`) quiet hours also hold while it is quiet in any zone of the number it goes to
(:func:`send_zones`: the zones above plus the number's).  Before, a known profile zone won outright: a London
profile with a New York mobile was texted at 06:00 New York time (10:00Z, 11:00 in London).  Email and push keep
the zones above (a mailbox or an app has no place of its own).

A number of a type that names no place in its country (toll free, premium rate, shared cost, VoIP, personal,
pager, UAN, voicemail -- ``phonenumbers.number_type``) may ring anywhere in that country: its zones are every zone
the tz database lists for the country (``zone.tab``; :func:`country_zones`), so a text to ``+1 800 ...`` keeps
quiet hours from Honolulu to New York (fail safe).  Before, such a number gave no zone and the text followed the
profile's zone or the policy's ``default_timezone`` alone: 10:00Z (UTC's day) is 03:00 in California.  Numbers
that name no country (invalid ones, and the non-geographic ``+800``, ``+870``, ``+881``-``+883``, ``+979`` ...,
region ``001``) still give no zone: the customer's own zones (rules 1-3) apply to them, the policy's
``default_timezone`` being the operator's statement of where customers are when nothing else says it.
"""
from __future__ import annotations

from datetime import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

from journeyflow.model.decisions import ADDRESS_FOR_CHANNEL
from journeyflow.stages.arbitration.policy import zone_or_none
from journeyflow.stages.arbitration.quiet import quiet_due_any
from journeyflow.stages.phone_facts import parsed_number

__all__ = ["PHONE_CHANNELS", "QuietClock", "country_zones", "customer_zones", "phone_zones", "send_zones"]

#: The channels whose messages reach a phone number (sms, call): quiet in the number's zones too.
PHONE_CHANNELS = frozenset(ch for ch, kind in ADDRESS_FOR_CHANNEL.items() if kind == "phone")

#: Number types that belong to a place (``phonenumbers.PhoneNumberType``); others give no zone.
_PLACED = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@lru_cache(maxsize=1 << 16)  # (a miss parses the number, ~0.1 ms: one entry per phone of a worker's customers)
def phone_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The IANA zones a phone number may be in (E.164 text, as ``CustomerState.addresses`` keeps it), sorted by
    name: a fixed-line or mobile number's from ``phonenumbers.timezone.time_zones_for_number`` (libphonenumber's
    prefix-to-zone tables); another type's, its country's (:func:`country_zones`, module docstring); ``()`` for a
    number that is unparseable, invalid, of no country (region ``001``), or that ``phonenumbers`` places nowhere
    (``Etc/Unknown``)."""
    parsed = parsed_number(e164)  # (the parse and type ``deliverability``'s SMS check reads too: ``phone_facts``)
    if parsed is None:
        return ()
    number, kind = parsed
    if not phonenumbers.is_valid_number(number):
        return ()
    if kind not in _PLACED:
        return country_zones(phonenumbers.region_code_for_number(number) or "")
    zones = (zone_or_none(name) for name in sorted(time_zones_for_number(number)))
    return tuple(z for z in zones if z is not None and z.key != "Etc/Unknown")


@lru_cache(maxsize=None)
def country_zones(region: str) -> tuple[ZoneInfo, ...]:
    """Every IANA zone of the country ``region`` (ISO 3166 alpha-2, as ``phonenumbers`` names regions), sorted by
    name, from the tz database's ``zone.tab`` (the ``tzdata`` package's copy, else the system's); ``()`` for
    ``001`` (non-geographic numbers) or a region the table does not list."""
    table = _zone_tab()
    return tuple(sorted((z for z in map(zone_or_none, table.get(region, ())) if z is not None),
                        key=lambda z: z.key))


@lru_cache(maxsize=1)
def _zone_tab() -> dict[str, list[str]]:
    """``zone.tab``: country code -> its zone names (the tz database's own table of countries and zones)."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        path = Path("/usr/share/zoneinfo/zone.tab")
        text = path.read_text() if path.exists() else ""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) >= 3 and not line.startswith("#"):
            out.setdefault(cols[0], []).append(cols[2])
    return out


def customer_zones(state: Any, default: ZoneInfo, known: Any = zone_or_none) -> tuple[ZoneInfo, ...]:
    """The zones quiet hours are kept in for ``state`` (a :class:`~journeyflow.stages.state.CustomerState`): the
    rule of the module docstring, never empty (``default``: the policy's ``default_timezone``).  ``known``: maps a
    zone name to a ``ZoneInfo`` or None (the arbiter passes its cached lookup)."""
    zone = known(state.tz) if state.tz else None
    if zone is not None:
        return (zone,)
    found: set[ZoneInfo] = set()
    for kind, raw, *_seen in state.addresses.values():  # (seen, and a last resort's mark: ``deliverability``)
        if kind == "phone" and raw:
            found.update(phone_zones(raw))
    if not found:
        return (default,)
    return tuple(sorted(found, key=lambda z: z.key))


def send_zones(state: Any, channel: str, number: str | None, default: ZoneInfo,
               known: Any = zone_or_none) -> tuple[ZoneInfo, ...]:
    """The zones quiet hours are kept in for a send on ``channel`` to ``number`` (the E.164 delivery address, None
    when the channel has none): :func:`customer_zones`, and for ``sms``/``call`` (:data:`PHONE_CHANNELS`) also the
    zones of ``number`` (:func:`phone_zones`), after them; never empty.  Quiet in any of them is quiet
    (``quiet.quiet_due_any``; should their windows cover the whole day, the first zone's own answer)."""
    zones = customer_zones(state, default, known)
    if number and channel in PHONE_CHANNELS:
        zones += tuple(z for z in phone_zones(number) if z not in zones)
    return zones


class QuietClock:
    """When a send may go out under a policy's ``quiet_hours`` (:class:`~.policy.QuietHoursPolicy`) for one
    customer: :meth:`due`.  Holds the window and the caches one arbiter keeps (zone names, UTC offsets by hour)."""

    __slots__ = ("default", "end", "end_time", "offsets", "start", "_names")

    def __init__(self, start: time, end: time, default_timezone: str) -> None:
        self.start = start.hour * 3600 + start.minute * 60  # seconds of the local day
        self.end = end.hour * 3600 + end.minute * 60
        self.end_time = end
        self.default = ZoneInfo(default_timezone)
        self._names: dict[Any, ZoneInfo | None] = {}  # zone name -> its zone (None: unknown)
        self.offsets: dict[tuple, int | bool] = {}  # (zone, UTC hour) -> its UTC offset (quiet.local_second)

    def zone(self, name: Any) -> ZoneInfo | None:
        """The known IANA zone of that name, or None (cached)."""
        z = self._names.get(name, False)
        if z is False:
            z = zone_or_none(name)
            if len(self._names) < 4096:
                self._names[name] = z
        return z  # type: ignore[return-value]

    def due(self, state: Any, now: int, channel: str = "email", number: str | None = None) -> int:
        """0 when ``now`` (epoch ms) is outside quiet hours in every zone of :func:`send_zones`, else the next
        allowed time (epoch ms, > now; DST-correct: :func:`.quiet.quiet_due`)."""
        zones = send_zones(state, channel, number, self.default, self.zone)
        return quiet_due_any(zones, now, self.start, self.end, self.end_time, self.offsets)
