"""Quiet hours across DST transitions (QA of the compliance area): the deferred due time is the first instant after
the decision whose local wall time is outside the window, in every zone, also when a transition falls between.

Before: an end time in the hour a fall-back repeats was taken at its first pass even when that pass was already
over, so a send deferred during the second pass waited a whole day (New York, quiet 00:00-01:30, deferred at
01:10 EST: due the next night instead of 20 minutes later); an end time a spring-forward skips mapped an hour past
the gap; a fall-back that turns the wall clock back out of the window was not seen.  A message is never due
inside quiet hours (that held before and is checked here too).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from journeyflow.config.engine import EngineConfig, default_text
from journeyflow.model.decisions import Candidate
from journeyflow.stages.state import CustomerState


def arbiter(start: str, end: str):
    text = default_text("policy.yaml").replace('start: "21:00"', f'start: "{start}"').replace(
        'end: "08:00"', f'end: "{end}"')
    return EngineConfig(default_text("journeys.yaml"), "<j>", text, "<p>").build_processor().arbiter


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def deferred_to(arb, zone: str, now: int) -> int | None:
    """Due time of a marketing push (no address needed beyond a CRM id) proposed at ``now`` for a customer in
    ``zone``, or None when it is sent now."""
    state = CustomerState(customer_id="crm:A", ids=["crm:A"], tz=zone, consent={"push": ["granted", 0]})
    cand = Candidate("promo", "s1", "marketing", 300, "send", "push", "promo", "web/1", now)
    result = arb.arbitrate(state, [cand], now, "crm:A", "web/1")
    if result.deferred:
        return result.deferred[0][0]
    assert [d.action for d in result.decisions] == ["send"]
    return None


@pytest.mark.parametrize(("zone", "window", "now", "due"), [
    # fall-back, second pass of 01:xx: the end (01:30) comes again in 20 minutes (before: the next night)
    ("America/New_York", ("00:00", "01:30"), "2026-11-01T01:10:00-05:00", "2026-11-01T01:30:00-05:00"),
    # fall-back, first pass: the first 01:30 (EDT)
    ("America/New_York", ("00:00", "01:30"), "2026-11-01T00:50:00-04:00", "2026-11-01T01:30:00-04:00"),
    # spring-forward skips 02:00-03:00: a window ending at 02:30 ends at the jump, 03:00 EDT (before: 03:30 EDT)
    ("America/New_York", ("01:00", "02:30"), "2026-03-08T01:10:00-05:00", "2026-03-08T03:00:00-04:00"),
    # fall-back turns 01:59 BST back to 01:00 GMT, outside a 01:30-02:30 window (before: 02:30 GMT)
    ("Europe/London", ("01:30", "02:30"), "2026-10-25T01:45:00+01:00", "2026-10-25T01:00:00+00:00"),
    # a 45-minute zone whose spring-forward (02:45 -> 03:45) skips the end 03:00 (before: 04:00)
    ("Pacific/Chatham", ("01:00", "03:00"), "2026-09-27T02:30:00+12:45", "2026-09-27T03:45:00+13:45"),
    # Chatham's fall-back (03:45 -> 02:45), second pass: 03:00 comes again in 15 minutes (before: the next day)
    ("Pacific/Chatham", ("01:00", "03:00"), "2026-04-05T02:45:00+12:45", "2026-04-05T03:00:00+12:45"),
    # half-hour offsets, the default window across midnight, no transition
    ("Asia/Kolkata", ("21:00", "08:00"), "2026-10-05T23:10:00+05:30", "2026-10-06T08:00:00+05:30"),
    ("Australia/Adelaide", ("21:00", "08:00"), "2026-04-04T21:30:00+10:30", "2026-04-05T08:00:00+09:30"),
])
def test_the_deferral_ends_at_the_first_allowed_local_time(zone, window, now, due):
    assert deferred_to(arbiter(*window), zone, ms(now)) == ms(due)


def _quiet(t_ms: int, zone: ZoneInfo, start: time, end: time) -> bool:
    t = datetime.fromtimestamp(t_ms / 1000, zone).time()
    return start <= t < end if start < end else t >= start or t < end


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    out, t, prev = [], datetime(year, 1, 1, tzinfo=timezone.utc), None
    while t.year == year:
        off = t.astimezone(zone).utcoffset()
        if prev is not None and off != prev:
            out.append(t)
        prev, t = off, t + timedelta(hours=1)
    return out


@pytest.mark.parametrize("zone_name", ["America/New_York", "Europe/Dublin", "Australia/Lord_Howe", "Pacific/Chatham"])
def test_around_every_transition_a_due_time_is_never_quiet_nor_later_than_needed(zone_name):
    """Oracle over the 2026 transitions of zones with 1-hour, 30-minute and 45-minute offsets: every 10 minutes from
    18 h before to 18 h after each, for windows across midnight and inside the transition hours: sent now exactly
    when the wall clock is outside the window; otherwise due at an allowed time, with every 5-minute step before it
    (and the second before it) still quiet."""
    zone = ZoneInfo(zone_name)
    for start, end in [("21:00", "08:00"), ("01:00", "03:00"), ("01:30", "02:30"), ("00:00", "02:00")]:
        arb, s, e = arbiter(start, end), time.fromisoformat(start), time.fromisoformat(end)
        for tr in _transitions(zone, 2026):
            base = int((tr - timedelta(hours=18)).timestamp() * 1000) + 17_000
            for k in range(0, 36 * 6):
                now = base + k * 600_000
                due = deferred_to(arb, zone_name, now)
                assert (due is not None) == _quiet(now, zone, s, e)
                if due is None:
                    continue
                assert due > now and not _quiet(due, zone, s, e), (zone_name, start, end, now, due)
                assert _quiet(due - 1000, zone, s, e)
                assert all(_quiet(t, zone, s, e) for t in range(now, due, 300_000)), (zone_name, start, end, now)
