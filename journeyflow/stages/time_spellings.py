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
are texts without a zone and a day of the week that is not the date's.  A name after an explicit numeric offset
(Go's ``+0000 UTC``, Rails' ``UTC +00:00``, Java's ``[Europe/Paris]``) is not checked: the offset is the time.  The
result is read by ``parse_iso8601_ms`` from the ISO text it is rewritten to, so it is exact to the millisecond
by the same rules (fractions truncated, calendar checks).  Pure Python, standard library only.
"""
from __future__ import annotations

import re

__all__ = ["other_spelling_ms"]

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), 1)}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: RFC 5322 §4.3 obsolete zones: the only zone names with a defined offset (hours)
_RFC5322_ZONES = {"ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7,
                  "mdt": -6, "pst": -8, "pdt": -7}
_UTC_WORDS = frozenset({"z", "ut", "utc", "gmt"})
_OFF = r"[+\-\u2212](?:[01][0-9]|2[0-3]):?[0-5][0-9]"
_TIME = r"(?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:[.,][0-9]+)?)"
# A numeric offset, a UTC word, a UTC word with an offset (JavaScript's GMT+0000, Rails' "UTC +00:00"), or an
# offset with a zone abbreviation after it (Go's "+0000 UTC"), then an optional RFC 9557 [zone] suffix.
_ZONE = (rf"(?:(?P<off>{_OFF}|[+\-][0-9]{{2}})(?:\s+[A-Za-z]{{1,5}})?"
         rf"|(?P<word>[A-Za-z]{{1,5}})(?:\s*(?P<woff>{_OFF}))?)")
_ISO_LIKE = re.compile(
    rf"(?P<y>[0-9]{{4}})(?P<sep>[-/])(?P<mo>[0-9]{{2}})(?P=sep)(?P<d>[0-9]{{2}})[Tt ]{_TIME}\s*{_ZONE}"
    rf"(?:\[[^\[\]]{{1,64}}\])?(?:\s+m=[+-][0-9]+(?:\.[0-9]+)?)?")
_DOW = r"(?:(?P<dow>[A-Za-z]{3,9}),?\s+)?"
_RFC5322 = re.compile(rf"{_DOW}(?P<d>[0-9]{{1,2}})[\s-]+(?P<mon>[A-Za-z]{{3}})[\s-]+(?P<y>[0-9]{{4}})\s+{_TIME}"
                      rf"\s+{_ZONE}")
_CTIME = re.compile(rf"{_DOW}(?P<mon>[A-Za-z]{{3}})\s+(?P<d>[0-9]{{1,2}})\s+(?:(?P<y>[0-9]{{4}})\s+)?{_TIME}\s+"
                    rf"{_ZONE}(?:\s+(?P<y2>[0-9]{{4}}))?(?:\s+\([^()]{{0,64}}\))?")


def other_spelling_ms(text: str) -> int | None:
    """Epoch ms of ``text`` (no surrounding spaces) in one of the spellings of the module docstring, None when it
    is none of them (the caller then raises its own error).  Raises ``ValueError`` for an impossible date or time,
    or a day of the week that is not the date's."""
    if len(text) > 120 or not text.isascii() and "\u2212" not in text:
        return None
    m = _ISO_LIKE.fullmatch(text)
    if m is not None:
        offset = _offset(m, rfc5322=False)
        if offset is None:
            return None
        return _iso_ms(int(m["y"]), int(m["mo"]), int(m["d"]), m["time"], offset, None)
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
    """The ISO offset (``+05:30``, ``Z``) the match names, None when its zone is not an explicit one."""
    if m["off"]:
        off = m["off"].replace("\u2212", "-")
        return off if len(off) == 3 or ":" in off else off[:3] + ":" + off[3:]
    word = m["word"].lower()
    if m["woff"]:  # GMT+0530, UTC +05:30: the offset is explicit
        if word not in _UTC_WORDS:
            return None
        off = m["woff"].replace("\u2212", "-")
        return off if ":" in off else off[:3] + ":" + off[3:]
    if word in _UTC_WORDS:
        return "Z"
    if rfc5322 and word in _RFC5322_ZONES:
        return f"{_RFC5322_ZONES[word]:+03d}:00"
    return None


def _iso_ms(year: int, month: int, day: int, time: str, offset: str, dow: str | None) -> int:
    from journeyflow.stages.timeparse import days_from_civil, parse_iso8601_ms

    iso = f"{year:04d}-{month:02d}-{day:02d}T{time}{offset}"
    ms = parse_iso8601_ms(iso)  # an ISO form: read by the exact rules, never back here
    if dow is not None:
        d = dow[:3].lower()
        if d not in _DAYS or (days_from_civil(year, month, day) + 3) % 7 != _DAYS.index(d):
            raise ValueError(f"{dow!r} is not the day of the week of {year:04d}-{month:02d}-{day:02d}")
    return ms
