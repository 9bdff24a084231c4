"""Other common spellings of a date-time with an explicit UTC offset: the slow fallback of ``timeparse``.

:func:`journeyflow.stages.timeparse.parse_iso8601_ms` reads ISO 8601 / RFC 3339; when a text is none of its forms it
asks :func:`other_spelling_ms` (only then: the common forms never come here).  Accepted here, each only with an
explicit zone (a UTC offset, or ``Z`` / ``UTC`` / ``GMT`` / ``UT``), since a local time without one is ambiguous:

==========================================  =====================================================================
spelling                                    written by
==========================================  =====================================================================
``2026-11-29 10:00:00 +0000``               Ruby ``Time#to_s``, Rails logs, ``date --rfc-3339`` with a space
``2026-11-29 10:00:00 UTC``                 Rails ``TimeWithZone#to_s``, PostgreSQL ``timestamptz`` text, SQL dumps
``2026-11-29 10:00:00.123456789 +0000 UTC`` Go ``time.Time.String()`` (its `` m=+0.01`` monotonic suffix too)
``2026-11-29T10:00:00+01:00[Europe/Paris]`` Java ``ZonedDateTime.toString()``, RFC 9557 (the offset is used)
``2026/11/29 10:00:00 +0000``               year-first dates with slashes (Ruby ``Time#inspect`` of some versions)
``Sun, 29 Nov 2026 10:00:00 +0000``         RFC 5322 / RFC 2822 (email ``Date:``), HTTP-date (RFC 9110: ``GMT``),
                                            and the US zones RFC 5322 defines (``EST`` .. ``PDT``)
``Sun, 29 Nov 2026 10:00:00.123 UTC +00:00``  Rails ``TimeWithZone#inspect``
``Sun Nov 29 2026 10:00:00 GMT+0000 (…)``   JavaScript ``Date.prototype.toString()``
``Sun Nov 29 10:00:00 UTC 2026``            Java ``Date.toString()``, Unix ``date`` (zone UTC / GMT only)
==========================================  =====================================================================

Zone words other than those (``CET``, ``IST``, ``CST`` outside RFC 5322) name several offsets and are refused, as
are texts without a zone and a day of the week that is not the date's (English names: ``Sun``, ``Tues``,
``Sunday``; ``Sonntag`` is refused).  The offset is the time; a name beside it is checked where it can say
otherwise, and a text that contradicts itself is refused (``ValueError``: which half is right is unknown, and a
wrong hour sends a message at the wrong hour):

* ``Z+02:00``, ``UT+0200`` (UTC and an offset at once); Rails' ``UTC +02:00`` (the zone UTC with another offset);
  ``+0200 UTC``, ``+0000 PST`` (Go's ``<offset> <abbreviation>`` where the abbreviation is UTC or an RFC 5322
  zone with another offset); ``+00:00 PM`` (a 12-hour clock);
* ``[Europe/Paris]`` (RFC 9557) naming a tz database zone whose offset at that instant is not the text's:
  ``2026-03-08T02:30:00-05:00[America/New_York]`` (a local time in the DST gap), ``+02:00[Etc/GMT+2]`` (POSIX
  sign: ``Etc/GMT+2`` is UTC-2); an unknown zone is not checked unless critical (``[!Nowhere/Land]``); ``Z`` and
  ``-00:00`` tell no local offset and are not checked;
* an offset beyond ±14:00 (no zone has one; the ISO forms ``parse_iso8601_ms`` reads itself allow 23:59);
* ``GMT+2`` / ``GMT+02`` are not read at all (POSIX ``TZ`` strings and ``Etc/GMT+2`` invert the sign); JavaScript's
  ``GMT+0200`` and Java's ``GMT+02:00`` (four digits) are the offset they write.

The
result is read by ``parse_iso8601_ms`` from the ISO text it is rewritten to, so it is exact to the millisecond
by the same rules (fractions truncated, calendar checks).  Pure Python, standard library only.
"""
from __future__ import annotations

import re

__all__ = ["other_spelling_ms"]

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}
#: English day names; a day of the week is one of them or a prefix of at least 3 letters (Sun, Tues, Thurs)
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MERIDIEM = frozenset({"am", "pm"})
_MAX_OFFSET_MINUTES = 14 * 60
#: RFC 5322 §4.3 obsolete zones: the only zone names with a defined offset (hours)
_RFC5322_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
                  "mdt": -6, "pst": -8, "pdt": -7}
_UTC_WORDS = frozenset({"z", "ut", "utc", "gmt"})
_OFF = r"[+\-\u2212](?:[01][0-9]|2[0-3]):?[0-5][0-9]"
_TIME = r"(?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:[.,][0-9]+)?)"
# A numeric offset, a UTC word, a UTC word with an offset (JavaScript's GMT+0000, Rails' "UTC +00:00"), or an
# offset with a zone abbreviation after it (Go's "+0000 UTC"), then an optional RFC 9557 [zone] suffix.
_ZONE = (rf"(?:(?P<off>{_OFF}|[+\-][0-9]{{2}})(?:\s+(?P<oname>[A-Za-z]{{1,5}}))?"
         rf"|(?P<word>[A-Za-z]{{1,5}})(?:(?P<wsp>\s*)(?P<woff>{_OFF}))?)")
_ISO_LIKE = re.compile(
    rf"(?P<y>[0-9]{{4}})(?P<sep>[-/])(?P<mo>[0-9]{{2}})(?P=sep)(?P<d>[0-9]{{2}})[Tt ]{_TIME}\s*{_ZONE}"
    rf"(?:\[(?P<crit>!?)(?P<tz>[^\[\]]{{1,64}})\])?(?:\s+m=[+-][0-9]+(?:\.[0-9]+)?)?")
_DOW = r"(?:(?P<dow>[A-Za-z]{3,9}),?\s+)?"
_RFC5322 = re.compile(rf"{_DOW}(?P<d>[0-9]{{1,2}})[\s-]+(?P<mon>[A-Za-z]{{3}})[\s-]+(?P<y>[0-9]{{4}})\s+{_TIME}"
                      rf"\s+{_ZONE}")
_CTIME = re.compile(rf"{_DOW}(?P<mon>[A-Za-z]{{3}})\s+(?P<d>[0-9]{{1,2}})\s+(?:(?P<y>[0-9]{{4}})\s+)?{_TIME}\s+"
                    rf"{_ZONE}(?:\s+(?P<y2>[0-9]{{4}}))?(?:\s+\([^()]{{0,64}}\))?")


def other_spelling_ms(text: str) -> int | None:
    """Epoch ms of ``text`` (no surrounding spaces) in one of the spellings of the module docstring, None when it
    is none of them (the caller then raises its own error).  Raises ``ValueError`` for an impossible date or time,
    a day of the week that is not the date's, and a zone that contradicts itself (see "Refused" in the module
    docstring)."""
    if len(text) > 120 or not text.isascii() and "\u2212" not in text:
        return None
    m = _ISO_LIKE.fullmatch(text)
    if m is not None:
        offset = _offset(m, rfc5322=False)
        if offset is None:
            return None
        ms = _iso_ms(int(m["y"]), int(m["mo"]), int(m["d"]), m["time"], offset, None)
        if m["tz"] is not None and offset not in ("Z", "-00:00"):  # Z, -00:00: the local offset is not told
            _check_zone_name(ms, offset, m["tz"], critical=m["crit"] == "!")
        return ms
    for pattern in (_RFC5322, _CTIME):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        month = _MONTHS.get(m["mon"].lower())
        year = m["y"] or m.groupdict().get("y2")
        offset = _offset(m, rfc5322=pattern is _RFC5322)
        if month is None or year is None or offset is None or (m.groupdict().get("y2") and m["y"]):
            return None
        return _iso_ms(int(year), month, int(m["d"]), m["time"], offset, m["dow"])
    return None


def _offset(m: re.Match, rfc5322: bool) -> str | None:
    """The ISO offset (``+05:30``, ``Z``) the match names, None when its zone is not an explicit one.  Raises
    ``ValueError`` when the zone contradicts itself or is beyond the offsets zones have (module docstring)."""
    if m["off"]:
        off = m["off"].replace("\u2212", "-")
        off = off if len(off) == 3 or ":" in off else off[:3] + ":" + off[3:]
        name = (m["oname"] or "").lower()
        if name in _MERIDIEM:
            raise ValueError(f"{m.group(0)[:60]!r}: {m['oname']!r} after the offset makes the hour ambiguous")
        if name in _RFC5322_ZONES and _minutes(off) != _RFC5322_ZONES[name] * 60:
            raise ValueError(f"{m.group(0)[:60]!r}: the offset {off} is not {m['oname']}'s")
        return _in_range(off)
    word = m["word"].lower()
    if m["woff"]:  # GMT+0530 (JavaScript), GMT+05:30 (Java), UTC +00:00 (Rails): the offset is explicit
        off = m["woff"].replace("\u2212", "-")
        off = off if ":" in off else off[:3] + ":" + off[3:]
        if word not in ("gmt", "utc"):
            if word in _UTC_WORDS:  # Z+02:00, UT+0200: UTC and another offset at once
                raise ValueError(f"{m.group(0)[:60]!r} names UTC ({m['word']}) and the offset {off} at once")
            return None
        if m["wsp"] and _minutes(off):  # Rails' "<zone> <its offset>": the zone UTC has offset 0
            raise ValueError(f"{m.group(0)[:60]!r} names the zone {m['word']} and the offset {off}")
        return _in_range(off)
    if word in _UTC_WORDS:
        return "Z"
    if rfc5322 and word in _RFC5322_ZONES:
        return f"{_RFC5322_ZONES[word]:+03d}:00"
    return None


def _minutes(off: str) -> int:
    """Minutes east of UTC of an ISO offset (``Z``, ``+05``, ``-03:30``)."""
    if off in ("Z", "z"):
        return 0
    sign = -1 if off[0] == "-" else 1
    return sign * (int(off[1:3]) * 60 + (int(off[4:6]) if len(off) > 3 else 0))


def _in_range(off: str) -> str:
    """``off``, or ``ValueError`` when it is beyond ±14:00 (no zone's offset is: tz database, Pacific/Kiritimati)."""
    if abs(_minutes(off)) > _MAX_OFFSET_MINUTES:
        raise ValueError(f"UTC offset {off} is beyond ±14:00: no time zone has it")
    return off


def _check_zone_name(ms: int, offset: str, name: str, critical: bool) -> None:
    """``ValueError`` when the RFC 9557 suffix ``[name]`` is a tz database zone whose offset at ``ms`` is not
    ``offset`` (a local time in a DST gap, a hand-edited offset, ``Etc/GMT+2`` that is UTC-2), or names no zone
    known here and is critical (``[!name]``, RFC 9557 §3.3).  Other suffixes (``[u-ca=hebrew]``) say nothing of
    the instant and are not checked."""
    if "=" in name:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        if critical:
            raise ValueError(f"time zone [!{name[:40]}] is not known here") from None
        return
    from datetime import datetime, timezone

    seconds = datetime.fromtimestamp(ms // 1000, timezone.utc).astimezone(zone).utcoffset().total_seconds()
    if int(seconds) != _minutes(offset) * 60:
        raise ValueError(f"UTC offset {offset} is not {name[:40]}'s at that time: the offset and the zone disagree "
                         f"(a local time that does not exist there, or an edited offset)")


def _iso_ms(year: int, month: int, day: int, time: str, offset: str, dow: str | None) -> int:
    from journeyflow.stages.timeparse import days_from_civil, parse_iso8601_ms

    iso = f"{year:04d}-{month:02d}-{day:02d}T{time}{offset}"
    ms = parse_iso8601_ms(iso)  # an ISO form: read by the exact rules, never back here
    if dow is not None:
        d = dow.lower()
        day_index = next((i for i, full in enumerate(_DAY_NAMES) if full.startswith(d)), None)
        if day_index is None or day_index != (days_from_civil(year, month, day) + 3) % 7:
            raise ValueError(f"{dow!r} is not the day of the week of {year:04d}-{month:02d}-{day:02d} (in English)")
    return ms
