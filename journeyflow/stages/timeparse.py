"""Event times to the exact millisecond: ISO-8601 date-times with a UTC offset, and epoch milliseconds.

Pure integer arithmetic (no ``float``, no ``datetime.timestamp()``): the result is the exact count of milliseconds
since 1970-01-01T00:00:00Z, with any finer fraction truncated toward the past (``.9999`` is 999 ms, as a clock
showing that instant reads).  Dates are proleptic Gregorian, years 0000-9999 (ISO 8601-1:2019 §4.3.2; expanded
years need an agreement between the parties and are not accepted).

Accepted forms (ISO 8601-1:2019 §5.4, RFC 3339 §5.6)
-----------------------------------------------------
date        ``YYYY-MM-DD`` / ``YYYYMMDD`` (calendar), ``YYYY-DDD`` / ``YYYYDDD`` (ordinal),
            ``YYYY-Www-D`` / ``YYYYWwwD`` (week date: ISO weeks start on Monday; week 1 holds January 4th)
separator   ``T`` (RFC 3339 also allows ``t`` and a space)
time        ``hh:mm:ss``, ``hh:mm``, ``hh`` (extended) or ``hhmmss``, ``hhmm``, ``hh`` (basic); the last component
            may carry a decimal fraction of any length after ``.`` or ``,`` (``10:30.5`` is 10:30:30);
            ``24:00[:00[.0…]]`` is the end of the day (the next day's 00:00); a leap second ``hh:mm:60[.f]`` is
            kept inside its minute as ``hh:mm:59.999`` (epoch time has no leap seconds; the order of
            events across the minute is preserved)
offset      ``Z`` / ``z``, ``±hh``, ``±hh:mm``, ``±hhmm`` (``−`` U+2212 as in ISO 8601 text too; ``-00:00``
            is UTC), and ``±hh:mm:ss`` as Python's ``datetime.isoformat`` writes it; at most 23:59:59
epoch       an integer (JSON number or a string of ASCII digits, optionally ``-``): milliseconds since the epoch

Record times (:func:`parse_event_ts`, the ``ts`` of the built-in streams and the Segment times) also read an epoch
value in the unit its size shows -- seconds, milliseconds, microseconds or nanoseconds -- and numbers written with a
fraction or an exponent (see :func:`epoch_ms`): exports write epoch *seconds* (Unix ``date +%s``, Python
``time.time()``, Stripe, Zendesk and Intercom APIs), pandas writes an integer column with gaps as floats
(``1.7908488e12``), BigQuery and Kafka tools write microseconds.

Rejected (``ValueError``): no offset (a local time is ambiguous), reduced-precision dates (``2026-10``), non-ASCII
digits, out-of-range components (month 13, February 30th, week 53 of a 52-week year, 25:00, +24:00 offsets),
floats, booleans.  ``OverflowError``: an epoch string of more than 30 digits.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any, Callable

__all__ = ["days_from_civil", "epoch_ms", "fast_iso_ms", "fast_iso_reader", "parse_event_ts", "parse_iso8601_ms",
           "parse_ts", "MS_PER_DAY"]

MS_PER_DAY = 86_400_000
_EPOCH_RE = re.compile(r"-?[0-9]+")
_MAX_EPOCH_DIGITS = 30
#: a number written with a fraction or an exponent (``1790848800.123``, ``1.7908488E12``): ASCII only
_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]{1,3})?|\.[0-9]+(?:[eE][+-]?[0-9]{1,3})?")
#: epoch seconds of 2000-01-01T00:00:00Z and of the end of 9999-12-31 (the years a time may have): the unit of an
#: epoch value is the one that puts it between them -- seconds, ms, µs and ns ranges do not overlap (the ms range
#: starts at 9.5e11, past the seconds range's end at 2.5e11; µs at 9.5e14, past ms's end at 2.5e14; ...)
_S_FIRST, _S_END = 946_684_800, 253_402_300_800
_UNITS = ((1, 1000), (1000, 1), (1_000_000, None), (1_000_000_000, None))  # (per second, ms factor)

_D = "[0-9]"
# date [Tt ] time offset.  Only ASCII digits ([0-9], never \d: "٣" is a digit for \d).
_ISO_RE = re.compile(
    rf"""
    (?P<year>{_D}{{4}})
    (?:
        -(?P<month>{_D}{{2}})-(?P<day>{_D}{{2}})
      | (?P<bmonth>{_D}{{2}})(?P<bday>{_D}{{2}})
      | -W(?P<week>{_D}{{2}})-(?P<wday>[1-7])
      | W(?P<bweek>{_D}{{2}})(?P<bwday>[1-7])
      | -(?P<ordinal>{_D}{{3}})
      | (?P<bordinal>{_D}{{3}})
    )
    [Tt ]
    (?P<hour>{_D}{{2}})
    (?:
        :(?P<minute>{_D}{{2}})(?::(?P<second>{_D}{{2}}))?
      | (?P<bminute>{_D}{{2}})(?P<bsecond>{_D}{{2}})?
    )?
    (?:[.,](?P<frac>{_D}+))?
    (?P<offset>
        [Zz]
      | (?P<sign>[+\-\u2212])(?P<oh>{_D}{{2}})
        (?: :(?P<om>{_D}{{2}})(?::(?P<os>{_D}{{2}}))? | (?P<bom>{_D}{{2}}) )?
    )
    """,
    re.VERBOSE,
)

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of the proleptic Gregorian date ``y-m-d`` (any integer year; no validation).

    Integer-only algorithm of H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (days_from_civil)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _iso_week_monday(year: int) -> int:
    """Day number (days since the epoch) of the Monday of ISO week 1 of ``year`` (the week holding January 4th)."""
    jan4 = days_from_civil(year, 1, 4)
    return jan4 - (jan4 + 3) % 7  # 1970-01-01 (day 0) was a Thursday: (day + 3) % 7 == 0 on Mondays


def _fraction_ms(digits: str, unit_ms: int) -> int:
    """``floor(0.<digits> * unit_ms)`` exactly, for any number of digits."""
    if unit_ms == 1000:  # seconds: 10**k is a multiple of 1000 for k >= 3, so truncating the digits is exact
        return int((digits + "000")[:3])
    with localcontext() as ctx:  # hours and minutes: thirds and ninths do not end in base 10, use exact decimals
        ctx.prec = len(digits) + 16
        return int((Decimal("0." + digits) * unit_ms).to_integral_value(rounding=ROUND_FLOOR))


# The common form of an event time (RFC 3339 with seconds), read by the C datetime parser once matched.  Hours,
# minutes and seconds are matched in range (``fromisoformat`` would take an offset's minute 60 as the next hour);
# month and day are checked by ``fromisoformat`` (it refuses a date that does not exist, and year 0).
_ISO_FAST = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
                       r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])").fullmatch
_FROM_ISO = datetime.fromisoformat
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def fast_iso_ms(text: str) -> int | None:
    """Epoch ms of the common form ``YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm)``, equal to :func:`parse_iso8601_ms` of it
    (integer ``timedelta`` arithmetic, floored to the ms); None for any other text (then read by the full rules).
    Once the form is matched, ``datetime.fromisoformat`` (C) reads it: it takes every such text that names an
    existing time (fractions beyond microseconds truncated, as ``parse_ts`` truncates to the millisecond), and
    refuses -- None here -- year 0 and impossible dates; a leap second (``:60``), hour 24 and offsets beyond
    23:59 are not matched: the full rules read or refuse them."""
    if _ISO_FAST(text) is None:
        return None
    try:
        return (_FROM_ISO(text) - _EPOCH) // _MS
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01 ahead of UTC, 9999-12-31 behind it
        return None


# ":mm:ss" and ".f" / ".ff" / ".fff" -> their milliseconds: every text the common form allows there (fast_iso_reader)
_MMSS_MS = {f":{m:02d}:{s:02d}": m * 60_000 + s * 1000 for m in range(60) for s in range(60)}
_FRAC_MS = {"." + f"{v:0{k}d}": int((f"{v:0{k}d}" + "00")[:3]) for k in (1, 2, 3) for v in range(10 ** k)}
# date-hours read through the cache: far from the ends of datetime's range (fromisoformat's overflow at year 1/9999)
_SAFE_BASE = (-30_000_000_000_000, 200_000_000_000_000)


def fast_iso_reader(size: int = 1 << 14) -> Callable[[str], int | None]:
    """A function equal to :func:`fast_iso_ms` that reads each distinct date-hour with its offset once: the text
    ``YYYY-MM-DDThh`` + ``:mm:ss`` + ``[.f|.ff|.fff]`` + ``(Z|±hh:mm)`` is the epoch ms of ``YYYY-MM-DDThh:00:00``
    at that offset (:func:`fast_iso_ms`, cached: at most ``size`` entries, then the cache starts again) plus the
    minutes, seconds and milliseconds (exact integer arithmetic: a fixed offset has no discontinuity inside an
    hour).  Any other text (longer fractions, a cache entry that :func:`fast_iso_ms` refuses) is read by
    :func:`fast_iso_ms` itself."""
    bases: dict[str, int] = {}
    # (the tables as this closure's own dicts: compiled, their look-ups are direct dict calls, not method calls)
    mmss_ms, frac_ms = dict(_MMSS_MS), dict(_FRAC_MS)
    lo, hi = _SAFE_BASE

    def read(text: str) -> int | None:
        """:func:`fast_iso_ms` of ``text``."""
        n = len(text)
        if n < 20:
            return fast_iso_ms(text)
        cut = n - 1 if text[-1] == "Z" else n - 6
        mmss = mmss_ms.get(text[13:19])
        frac = 0 if cut == 19 else frac_ms.get(text[19:cut])
        if mmss is None or frac is None:
            return fast_iso_ms(text)
        key = text[:13] + text[cut:]
        base = bases.get(key)
        if base is None:
            base = hour_base(key)
            if base is None or not lo <= base <= hi:
                return fast_iso_ms(text)
            if len(bases) >= size:
                bases.clear()
            bases[key] = base
        return base + mmss + frac

    def hour_base(key: str) -> int | None:
        # fast_iso_ms(key[:13] + ":00:00" + key[13:]): the date read once (a month of records names ~30 dates
        # and ~10,000 date-hour-offsets), the hour and offset by table; any other text read by fast_iso_ms
        day, hour, offset = days.get(key[:10], _UNSEEN), _HOUR_MS.get(key[10:13]), _OFFSET_MS.get(key[13:])
        if day is _UNSEEN:
            day = _day_ms(key[:10])
            if len(days) >= size:
                days.clear()
            days[key[:10]] = day
        if day is None or hour is None or offset is None:
            return fast_iso_ms(key[:13] + ":00:00" + key[13:])
        return day + hour - offset  # (out of the safe range: the caller reads the whole text)

    days: dict[str, int | None] = {}
    return read


_UNSEEN = object()
# "Thh" of a valid hour -> its ms; "Z" / "±hh:mm" of a valid offset -> its ms east of UTC (the forms _ISO_FAST takes)
_HOUR_MS = {f"T{h:02d}": h * 3_600_000 for h in range(24)}
_OFFSET_MS = {"Z": 0, **{f"{sign}{h:02d}:{m:02d}": (1 if sign == "+" else -1) * (h * 3_600_000 + m * 60_000)
                         for sign in "+-" for h in range(24) for m in range(60)}}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch


def _day_ms(date: str) -> int | None:
    """Epoch ms of ``YYYY-MM-DD`` 00:00 UTC (exact), None when it is not such a text of an existing date."""
    if _DATE(date) is None:
        return None
    try:
        return (_FROM_ISO(date + "T00:00:00+00:00") - _EPOCH) // _MS
    except (ValueError, OverflowError):
        return None


def parse_iso8601_ms(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 / RFC 3339 date-time with a UTC offset (forms in the module docstring).

    ``text`` must be the whole value (no surrounding spaces).  Raises ``ValueError`` naming the problem.
    The common form (``2026-10-01T00:24:42.5+02:00``) is read by :func:`fast_iso_ms` first."""
    ms = fast_iso_ms(text)
    if ms is not None:
        return ms
    m = _ISO_RE.fullmatch(text)
    if m is None:
        from journeyflow.stages.time_spellings import other_spelling_ms  # slow path: other spellings with a zone
        if (ms := other_spelling_ms(text)) is not None:
            return ms
        if len(text) < 64 and _ISO_RE.fullmatch(text + "Z"):
            raise ValueError(f"ts {text!r} has no UTC offset")
        raise ValueError(f"{text[:40]!r} is not an ISO-8601 date-time with a UTC offset")
    g = m.groupdict()
    year = int(g["year"])
    # ---- date
    if g["week"] or g["bweek"]:
        week = int(g["week"] or g["bweek"])
        wday = int(g["wday"] or g["bwday"])
        monday = _iso_week_monday(year)
        weeks = (days_from_civil(year, 12, 28) - monday) // 7 + 1  # December 28th is always in the last week
        if not 1 <= week <= weeks:
            raise ValueError(f"{year} has {weeks} ISO weeks, not week {week}")
        days = monday + (week - 1) * 7 + wday - 1
    elif g["ordinal"] or g["bordinal"]:
        ordinal = int(g["ordinal"] or g["bordinal"])
        if not 1 <= ordinal <= (366 if _is_leap(year) else 365):
            raise ValueError(f"day {ordinal} of year {year} does not exist")
        days = days_from_civil(year, 1, 1) + ordinal - 1
    else:
        month = int(g["month"] or g["bmonth"])
        day = int(g["day"] or g["bday"])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} does not exist")
        last = 29 if month == 2 and _is_leap(year) else _MONTH_DAYS[month - 1]
        if not 1 <= day <= last:
            raise ValueError(f"{year:04d}-{month:02d} has no day {day}")
        days = days_from_civil(year, month, day)
    # ---- time
    hour = int(g["hour"])
    minute_s = g["minute"] or g["bminute"]
    second_s = g["second"] or g["bsecond"]
    frac = g["frac"]
    minute = int(minute_s) if minute_s is not None else 0
    second = int(second_s) if second_s is not None else 0
    if minute > 59:
        raise ValueError(f"minute {minute} does not exist")
    if second > 60:
        raise ValueError(f"second {second} does not exist")
    if hour == 24:
        if minute or second or (frac and frac.strip("0")):
            raise ValueError("24:00 is the only time with hour 24")
        ms = MS_PER_DAY
    elif hour > 23:
        raise ValueError(f"hour {hour} does not exist")
    else:
        ms = hour * 3_600_000 + minute * 60_000
        if second == 60:  # leap second: the last millisecond of its minute
            ms += 59_999
        else:
            ms += second * 1000
            if frac:
                unit = 1000 if second_s is not None else 60_000 if minute_s is not None else 3_600_000
                ms += _fraction_ms(frac, unit)
    # ---- offset
    offset_ms = 0
    if g["sign"]:
        oh = int(g["oh"])
        om = int(g["om"] or g["bom"] or 0)
        osec = int(g["os"] or 0)
        if oh > 23 or om > 59 or osec > 59:
            raise ValueError(f"UTC offset {g['offset']!r} is out of range")
        offset_ms = (oh * 3600 + om * 60 + osec) * 1000
        if g["sign"] != "+":
            offset_ms = -offset_ms
    return days * MS_PER_DAY + ms - offset_ms


def epoch_ms(value: int | Decimal) -> int:
    """Epoch milliseconds of an epoch ``value`` in the unit its size shows: between 2000-01-01 and 9999-12-31 as
    seconds (``1790848800``), milliseconds, microseconds (``1790848800000000``) or nanoseconds; any other value is
    taken as milliseconds (the documented unit; the range check then refuses it).  A fraction finer than a
    millisecond is truncated toward the past, as for ISO texts (``1790848800.1239`` s is ...800123 ms)."""
    if value > 0:
        for per_second, factor in _UNITS:
            if _S_FIRST * per_second <= value < _S_END * per_second:
                if factor is not None:
                    value = value * factor
                else:
                    value = value / (per_second // 1000) if isinstance(value, Decimal) else \
                        Decimal(value) / (per_second // 1000)
                break
    if isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_FLOOR))
    return value


def parse_event_ts(value: Any) -> int:
    """A record's event time in epoch ms: :func:`parse_ts`, and an epoch value of any unit (:func:`epoch_ms`) given
    as an integer, a finite float (``1790848800.5``; its shortest decimal text, so ``.123`` is exact) or a string of
    digits with an optional fraction or exponent (``"1790848800"``, ``"1.7908488E12"``).  Raises ``ValueError`` /
    ``OverflowError`` as :func:`parse_ts` (a NaN, an infinity, a boolean, a negative fraction)."""
    if isinstance(value, bool):
        raise ValueError("ts must be a string or an integer")
    if isinstance(value, int):
        return epoch_ms(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("ts must be a finite number")
        if value < 0:
            raise ValueError("ts must be a string or an integer: a negative epoch with a fraction")
        return epoch_ms(Decimal(repr(value)))
    if isinstance(value, str):
        s = value.strip()
        if _EPOCH_RE.fullmatch(s):
            if len(s.lstrip("-")) > _MAX_EPOCH_DIGITS:
                raise OverflowError(f"epoch value of {len(s)} digits is out of range")
            return epoch_ms(int(s))
        if len(s) <= _MAX_EPOCH_DIGITS and _DECIMAL_RE.fullmatch(s):
            return epoch_ms(Decimal(s))
    return parse_ts(value)


def parse_ts(value: Any) -> int:
    """Event time in epoch milliseconds (``int``) from an ISO-8601 date-time with a UTC offset or epoch milliseconds.

    ``value``: ``int`` (epoch ms, any size) or ``str`` (ISO-8601, or ASCII digits with an optional ``-``; surrounding
    whitespace ignored).  Exact to the millisecond (see the module docstring for the forms and the rounding rule).
    Raises ``ValueError`` (not a time: wrong type, malformed, no offset, impossible date) or ``OverflowError``
    (an epoch string longer than 30 digits)."""
    if isinstance(value, bool):
        raise ValueError("ts must be a string or an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        if _EPOCH_RE.fullmatch(s):
            if len(s.lstrip("-")) > _MAX_EPOCH_DIGITS:
                raise OverflowError(f"epoch value of {len(s)} digits is out of range")
            return int(s)
        return parse_iso8601_ms(s)
    if isinstance(value, float):
        raise ValueError("ts must be a string or an integer: epoch milliseconds are a whole number, got a float")
    raise ValueError("ts must be a string or an integer")
