"""Quiet hours through the remembered hourly UTC offsets (``quiet.quiet_due_cached``) give the same due time as
``quiet.quiet_due`` at every instant, across DST transitions, in zones with odd offsets and on both sides of
midnight (the fold's fast path must never change a decision)."""
from __future__ import annotations

import random
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from journeyflow.stages.arbitration.quiet import local_second, quiet_due, quiet_due_cached

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia",
         "America/St_Johns", "UTC", "Africa/Casablanca"]
WINDOWS = [(time(21, 0), time(8, 0)), (time(1, 30), time(2, 30)), (time(0, 0), time(6, 0))]


def _instants(rng: random.Random) -> list[int]:
    """Epoch ms: random instants of 2011-2026 plus every minute around this zone-independent sample of DST
    change days (UTC), where a wrong offset would show."""
    out = [rng.randrange(1_293_840_000_000, 1_798_761_600_000) for _ in range(1500)]
    for day in ("2024-03-10", "2024-03-31", "2024-10-06", "2024-10-27", "2024-11-03", "2011-12-29", "2024-04-07"):
        base = int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) * 1000
        out += [base + m * 60_000 + rng.randrange(60_000) for m in range(-12 * 60, 36 * 60, 7)]
    return out


@pytest.mark.parametrize("zone_name", ZONES)
def test_cached_quiet_due_equals_quiet_due(zone_name):
    zone, rng, cache = ZoneInfo(zone_name), random.Random(zone_name), {}
    for start_t, end_t in WINDOWS:
        start, end = start_t.hour * 3600 + start_t.minute * 60, end_t.hour * 3600 + end_t.minute * 60
        for now in _instants(rng):
            assert quiet_due_cached(zone, now, start, end, end_t, cache) == quiet_due(zone, now, start, end, end_t), \
                (zone_name, start_t, end_t, now)


@pytest.mark.parametrize("zone_name", ZONES)
def test_local_second_is_the_wall_clock_or_unknown(zone_name):
    zone, rng, cache = ZoneInfo(zone_name), random.Random(1), {}
    for now in _instants(rng):
        sec = now // 1000
        got = local_second(zone, sec, cache)
        local = datetime.fromtimestamp(sec, zone)
        if got is not None:
            assert got == local.hour * 3600 + local.minute * 60 + local.second
        else:  # only in an hour whose UTC offset changes
            h = sec // 3600 * 3600
            assert datetime.fromtimestamp(h, zone).utcoffset() != datetime.fromtimestamp(h + 3599, zone).utcoffset()


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_remembered_window_due_equals_quiet_due_minute_by_minute(zone_name):
    """Every minute of the nights around a spring-forward and a fall-back, asked in a shuffled order with one cache:
    the due times remembered per window (zone, local day, UTC offset, end time) are those of ``quiet_due``."""
    zone, rng = ZoneInfo(zone_name), random.Random(zone_name)
    start_t, end_t = time(21, 0), time(8, 0)
    start, end = start_t.hour * 3600, end_t.hour * 3600
    for first, last in (("2024-03-08", "2024-04-09"), ("2024-10-24", "2024-11-06")):
        lo = int(datetime.fromisoformat(first).replace(tzinfo=timezone.utc).timestamp()) * 1000
        hi = int(datetime.fromisoformat(last).replace(tzinfo=timezone.utc).timestamp()) * 1000
        instants = list(range(lo, hi, 60_000 * 13))
        rng.shuffle(instants)
        cache: dict = {}
        for now in instants:
            assert quiet_due_cached(zone, now, start, end, end_t, cache) == quiet_due(zone, now, start, end, end_t), \
                (zone_name, now)
        assert any(len(k) == 4 for k in cache)  # answers were remembered per window (and then read back)
