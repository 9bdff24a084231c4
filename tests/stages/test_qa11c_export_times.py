"""qa11c: event times as the built-in streams' sources really export them.

``ts`` was read as epoch *milliseconds* only: epoch seconds (Unix ``date +%s``, Python ``time.time()``, the Stripe,
Zendesk and Intercom APIs) were 1970 and ``timestamp_out_of_range`` dead letters -- a consent revoke among them, so
the opt-out never applied; a float (``1790848800.5``, or pandas' ``1.7908488e12`` for an integer column with gaps)
was a ``bad_timestamp`` or ``schema_violation``; microseconds (BigQuery exports) were past the latest time.  The unit
of an epoch value is the one that puts it between 2000 and 9999 (the ranges of s, ms, µs and ns do not overlap:
``stages.timeparse.epoch_ms``).  Every built-in stream, both parse paths, and the Segment times."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.timeparse import epoch_ms, parse_event_ts
from tests.stages.test_input_edge_cases import GOOD, HASHER, TS

STREAMS = sorted(set(GOOD) - {"track"})
SECONDS = TS // 1000
SPELLINGS = {  # how a source writes the instant TS (2026-10-01T10:00:00Z)
    "epoch seconds": SECONDS, "epoch seconds text": str(SECONDS), "float seconds": float(SECONDS),
    "float milliseconds": float(TS), "pandas float text": "1.7908488E12", "microseconds": TS * 1000,
    "nanoseconds": TS * 1_000_000, "microseconds text": str(TS * 1000),
}


def both(stream: str, rec: dict):
    raw = json.dumps(rec).encode()
    full = Parser(HASHER).parse_full(stream, raw, "t:1").result
    assert Parser(HASHER).parse(stream, raw, "t:1") == full
    return full


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_an_epoch_time_in_any_unit_is_the_same_instant(stream, spelling):
    ev = both(stream, {**GOOD[stream], "ts": SPELLINGS[spelling]})
    assert isinstance(ev, Event), ev
    assert ev.ts == TS


def test_a_consent_revoke_dated_in_epoch_seconds_is_applied_not_dead_lettered():
    ev = both("consent", {**GOOD["consent"], "status": "revoked", "ts": SECONDS})
    assert isinstance(ev, Event) and ev.type == "consent_revoked" and ev.ts == TS


def test_a_fraction_of_a_second_is_kept_to_the_millisecond_and_truncated():
    assert both("web", {**GOOD["web"], "ts": SECONDS + 0.123}).ts == TS + 123
    assert both("web", {**GOOD["web"], "ts": f"{SECONDS}.1239"}).ts == TS + 123
    assert parse_event_ts(TS * 1000 + 999) == TS  # µs: finer than a ms, toward the past


@pytest.mark.parametrize("value", [123, -5, 10**25, float("nan"), "NaN", "1e400", True])
def test_values_that_are_no_time_in_any_unit_stay_dead_letters(value):
    got = both("web", {**GOOD["web"], "ts": value})
    assert isinstance(got, DeadLetter), got
    assert got.reason in ("timestamp_out_of_range", "bad_timestamp")


def test_the_unit_ranges_do_not_overlap():
    first, end = Decimal(946_684_800), Decimal(253_402_300_800)  # 2000-01-01, 10000-01-01 in seconds
    for per_second in (1, 1000, 10**6, 10**9):
        assert epoch_ms(int(first * per_second)) == 946_684_800_000
        assert epoch_ms(int(end * per_second) - 1) // 1000 == 253_402_300_799
    units = (1, 1000, 10**6, 10**9)
    assert all(end * a < first * b for a, b in zip(units, units[1:]))  # each unit's end below the next one's start


def test_segment_times_in_epoch_seconds_are_read_too():
    msg = {"type": "track", "messageId": "m1", "userId": "u1", "event": "Clicked", "timestamp": SECONDS}
    ev = Parser(HASHER).parse("track", json.dumps(msg).encode())
    assert isinstance(ev, Event) and ev.ts == TS
