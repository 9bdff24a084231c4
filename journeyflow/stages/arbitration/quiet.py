"""Quiet hours in the customer's own time zone: when a deferred message is due (the policy's ``quiet_hours``).

Plain Python (``zoneinfo``).  The window runs from ``start`` (inclusive) to ``end`` (exclusive) in local wall time and
wraps past midnight when ``start > end``.  A message proposed inside it is due at the first instant after ``now``
whose local wall time is outside the window; across DST transitions that is:

* an end time in the hour a fall-back repeats: its first pass still ahead (during the second pass, the second one:
  the message does not wait a whole day);
* an end time a spring-forward skips: the instant of the jump (the wall clock jumps past the end);
* a fall-back that turns the wall clock back to a time outside the window (a window inside the repeated hour): the
  instant of the fall-back.

Before these rules an end time's first pass was taken even when already over (a day late), and a skipped end time
mapped one gap length past the jump.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["local_second", "quiet_due", "quiet_due_any", "quiet_due_cached"]


def _inside(sod: int, start: int, end: int) -> bool:
    """True when second-of-day ``sod`` is in the window ``[start, end)`` (wrapping past midnight if start > end)."""
    return start <= sod < end if start < end else sod >= start or sod < end


def quiet_due(zone: ZoneInfo, now: int, start: int, end: int, end_time: time) -> int:
    """0 when ``now`` (epoch ms) is outside quiet hours in ``zone``, else the next allowed time (epoch ms, > now).

    ``start``/``end``: the window's bounds in seconds of the local day; ``end_time``: ``end`` as a ``time``.  Rules:
    the module docstring.  A zone that skips a whole day (Pacific/Apia 2011-12-30) moves on to the next day."""
    return _quiet_due(zone, now, start, end, end_time)[0]


def _quiet_due(zone: ZoneInfo, now: int, start: int, end: int, end_time: time) -> tuple[int, bool]:
    """:func:`quiet_due` and whether the answer is the plain one: the end time's first pass on the window's local
    day, at the UTC offset of ``now`` (then every instant of the same window at that offset has the same answer)."""
    local = datetime.fromtimestamp(now // 1000, zone)
    sod = local.hour * 3600 + local.minute * 60 + local.second
    if not _inside(sod, start, end):
        return 0, False
    day = local.date() + timedelta(days=1 if start > end and sod >= start else 0)
    for i in range(3):
        # both passes of an end time a fall-back repeats (fold 0, then fold 1); fold 0 of a time in a DST gap is one
        # gap length past the jump (corrected below: the offset then differs from now's)
        for fold in (0, 1):
            due = int(datetime.combine(day, end_time, tzinfo=zone).replace(fold=fold).timestamp()) * 1000
            if due > now:
                offset = local.utcoffset()
                if offset != datetime.fromtimestamp(due // 1000, zone).utcoffset():
                    return _past_change(zone, now, due, offset, start, end, end_time), False  # type: ignore[arg-type]
                return due, i == 0 and fold == 0
        day += timedelta(days=1)
    return now + 3_600_000, False


def _past_change(zone: ZoneInfo, now: int, due: int, offset: timedelta, start: int, end: int, end_time: time) -> int:
    """The first allowed time in ``(now, due]`` when the zone's UTC offset changes in between (``offset``: the offset
    at ``now``): the instant of the change (found to the second) if the wall clock then shows a time outside the
    window, else when the wall clock, running on from the change, reaches the end time (at most ``due``)."""
    lo, hi = now // 1000, due // 1000  # the offset at lo is `offset`, at hi another: find the first second of the new
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    after = datetime.fromtimestamp(hi, zone)
    sod = after.hour * 3600 + after.minute * 60 + after.second
    if not _inside(sod, start, end):
        return max(hi * 1000, now + 1)
    day = after.date() + timedelta(days=1 if start > end and sod >= start else 0)
    at = hi + int((datetime.combine(day, end_time) - after.replace(tzinfo=None)).total_seconds())
    return min(max(at * 1000, now + 1), due)


#: Hour buckets :func:`local_second` remembers before it starts again (bounds memory, never changes a result).
OFFSET_HOURS = 65_536


def local_second(zone: ZoneInfo, sec: int, cache: dict) -> int | None:
    """The second of the local day in ``zone`` at epoch second ``sec``, or None when the zone's UTC offset changes
    within ``sec``'s UTC hour.  ``cache``: ``(zone, hour) -> offset seconds | False`` (the offset at the hour's first
    and last second, False when they differ), kept by the caller: the wall clock is then UTC plus that offset."""
    key = (zone, sec // 3600)
    off = cache.get(key)
    if off is None:
        h = sec // 3600 * 3600
        a, b = datetime.fromtimestamp(h, zone).utcoffset(), datetime.fromtimestamp(h + 3599, zone).utcoffset()
        off = a.days * 86400 + a.seconds if a == b and a is not None else False
        if len(cache) >= OFFSET_HOURS:
            cache.clear()
        cache[key] = off
    return None if off is False else (sec + off) % 86400


def quiet_due_cached(zone: ZoneInfo, now: int, start: int, end: int, end_time: time, cache: dict) -> int:
    """:func:`quiet_due`, answered from ``cache`` (kept by the caller) without a ``datetime`` when it can be:

    * 0 when ``now`` is outside the window by the hour's remembered UTC offset (:func:`local_second`);
    * inside the window, the due time :func:`quiet_due` gave for the same window (zone, local day the window ends,
      end time) at the same UTC offset, when that answer was the plain one (the end time's first pass, at the
      offset of ``now``): every instant of that window at that offset is before it, and :func:`quiet_due` compares
      only the offsets at ``now`` and at the due time, so it gives the same answer for each of them.

    Anything else (an hour whose offset changes, an answer across a DST change) is :func:`quiet_due`'s."""
    sec = now // 1000
    key = (zone, sec // 3600)
    off = cache.get(key)
    if off is None:
        local_second(zone, sec, cache)
        off = cache[key]
    if off is False:
        return quiet_due(zone, now, start, end, end_time)
    wall = sec + off
    sod = wall % 86400
    if not (start <= sod < end if start < end else sod >= start or sod < end):  # (``_inside``, inlined)
        return 0
    window = (zone, wall // 86400 + (1 if start > end and sod >= start else 0), off, end_time)
    due = cache.get(window)
    if due is None:
        due, plain = _quiet_due(zone, now, start, end, end_time)
        if plain:
            if len(cache) >= OFFSET_HOURS:
                cache.clear()
            cache[window] = due
    return due


#: Steps :func:`quiet_due_any` takes before it gives up on finding an instant outside every zone's window.
_ANY_STEPS = 16


def quiet_due_any(zones: tuple[ZoneInfo, ...], now: int, start: int, end: int, end_time: time, cache: dict) -> int:
    """:func:`quiet_due_cached` for a customer who may be in any of ``zones`` (``zones.customer_zones``): 0 when
    ``now`` is outside the window in every zone, else the first instant after ``now`` at which it is outside the
    window in every zone (each zone's next allowed time is taken in turn until none is quiet).  When no such
    instant comes within a few days (zones spread so far apart that their windows cover the whole day), the first
    zone's own answer: quiet hours then follow that zone alone rather than never ending."""
    if len(zones) == 1:
        return quiet_due_cached(zones[0], now, start, end, end_time, cache)
    t = now
    for _ in range(_ANY_STEPS):
        later = 0
        for z in zones:
            d = quiet_due_cached(z, t, start, end, end_time, cache)
            if d > later:
                later = d
        if not later:
            return 0 if t == now else t
        if later - now > 3 * 86_400_000:
            break
        t = later
    return quiet_due_cached(zones[0], now, start, end, end_time, cache)
