"""Time zones written the way CRMs, helpdesks and shops write them (quiet hours are kept in the customer's zone).

``fields.normalize_timezone`` keeps an IANA name (in any letter case) and maps a Windows zone id; anything else was
dropped (``unknown_timezone``) and the customer's quiet hours fell back to the policy's ``default_timezone`` (UTC):
a New York customer whose CRM wrote HubSpot's ``america_slash_new_york`` or Zendesk's / Shopify's ``Eastern Time
(US & Canada)`` got promotions from 21:00 to 03:00 local time.  Read here (qa17b):

* **spellings of an IANA name** (:func:`iana_spelling`, kept without a warning, as a name in another letter case):
  HubSpot's ``_slash_`` for ``/`` (``america_slash_new_york``), spaces for underscores (``America/New York``), a
  display form's offset around it (``(GMT-05:00) America/New_York``, ``Europe/London (UTC+00:00)``);
* **display names** (:func:`display_zone`, replaced with the ``windows_timezone`` field warning: the Windows and
  Rails display names, ``(UTC-05:00) Eastern Time (US & Canada)``, ``Pacific Time (US & Canada)``, ``Hawaii``, as
  Zendesk, Shopify and Rails applications store them): the North American region names below, and a single city
  that names exactly one IANA zone (``London``, ``Tokyo``, ``Mexico City``: the tz database's own exemplar cities;
  an ambiguous or unknown one, ``Mumbai``, ``Osaka``, a list of cities, stays unknown).

The offset written beside a name is never used alone: ``GMT-05:00`` names no zone with its summer time (a fixed
offset would keep quiet hours an hour off half the year), so a bare offset stays ``unknown_timezone``."""
from __future__ import annotations

import re
from typing import Callable, Mapping

__all__ = ["REGION_NAMES", "display_zone", "iana_spelling"]

#: North American zone display names (Windows' and Rails') and their IANA zones.
REGION_NAMES: Mapping[str, str] = {
    **dict.fromkeys(("eastern time (us & canada)", "eastern time (us and canada)", "eastern time", "us eastern"),
                    "America/New_York"),
    **dict.fromkeys(("central time (us & canada)", "central time (us and canada)", "central time", "us central"),
                    "America/Chicago"),
    **dict.fromkeys(("mountain time (us & canada)", "mountain time (us and canada)", "mountain time",
                     "us mountain"), "America/Denver"),
    **dict.fromkeys(("pacific time (us & canada)", "pacific time (us and canada)", "pacific time", "us pacific"),
                    "America/Los_Angeles"),
    "alaska": "America/Anchorage", "hawaii": "Pacific/Honolulu", "arizona": "America/Phoenix",
    "atlantic time (canada)": "America/Halifax", "newfoundland": "America/St_Johns", "saskatchewan": "America/Regina",
    "indiana (east)": "America/Indiana/Indianapolis",
}
_OFFSET = r"(?:gmt|utc)\s*(?:[+\-\u2212]\s*\d{1,2}(?::?\d{2})?)?"
_AROUND = re.compile(rf"^\(\s*{_OFFSET}\s*\)\s*|^{_OFFSET}\s+(?=[a-z])|\s*\(\s*{_OFFSET}\s*\)$", re.IGNORECASE)


def _bare(name: str) -> str:
    """``name`` without an offset written around it, HubSpot's ``_slash_`` as ``/``, single spaces."""
    name = re.sub(r"_slash_", "/", name.strip(), flags=re.IGNORECASE)
    while (cut := _AROUND.sub("", name, count=1).strip()) != name:
        name = cut
    return " ".join(name.split())


def iana_spelling(name: str, lookup: Callable[[str], str | None]) -> str | None:
    """The IANA zone ``name`` spells (module docstring), else None.  ``lookup``: an IANA name in any letter case ->
    its IANA spelling, or None (``fields``)."""
    bare = _bare(name)
    if bare == name.strip() or not bare:
        found = None
    else:
        found = lookup(bare)
    if found is None and "/" in bare and " " in bare:
        found = lookup(bare.replace(" ", "_"))
    return found


def display_zone(name: str, zones: Callable[[], Mapping[str, str]]) -> str | None:
    """The IANA zone a display name names (module docstring), else None.  ``zones``: case-folded IANA names ->
    IANA names (``fields``), of which the exemplar cities are read."""
    bare = _bare(name).casefold()
    if not bare or "," in bare or "/" in bare:
        return None
    if bare in REGION_NAMES:
        return REGION_NAMES[bare]
    return _cities(zones).get(bare.replace(" ", "_"))


_CITIES: dict[int, Mapping[str, str]] = {}


def _cities(zones: Callable[[], Mapping[str, str]]) -> Mapping[str, str]:
    """Case-folded exemplar cities (the last part of an ``Area/City`` zone name) naming exactly one zone."""
    table = zones()
    if id(table) not in _CITIES:
        seen: dict[str, set[str]] = {}
        for folded, zone in table.items():
            if "/" in zone and not zone.startswith(("Etc/", "US/", "Canada/", "Mexico/", "Brazil/", "Chile/")):
                seen.setdefault(folded.rsplit("/", 1)[1], set()).add(zone)
        _CITIES[id(table)] = {city: next(iter(zs)) for city, zs in seen.items() if len(zs) == 1}
    return _CITIES[id(table)]
