"""qa10f: common spellings of a time with an explicit zone are times, in every stream (``stages.time_spellings``).

Before: ``2026-11-29 10:00:00 +0000`` (Ruby), ``2026-11-29 10:00:00 UTC`` (Rails, PostgreSQL), Go's
``time.Time.String()``, Java's ``ZonedDateTime``, RFC 5322 / HTTP dates and JavaScript's ``Date.toString()`` were
``bad_timestamp`` dead letters (a Segment message, a web event): each names its instant unambiguously.  Texts
without a zone, with a zone word naming several offsets, or with a day of the week that is not the date's stay
refused.  Expected values are computed here with ``datetime`` from the instant each spelling names."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.timeparse import parse_ts
from tests.stages.test_input_edge_cases import GOOD, P

UTC = timezone.utc


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SPELLINGS = [
    ("2026-11-29 10:00:00 +0000", T0),  # Ruby Time#to_s
    ("2026-11-29 10:00:00 UTC", T0),  # Rails TimeWithZone#to_s, PostgreSQL
    ("2026-11-29 10:00:00 utc", T0),
    ("2026-11-29T10:00:00 Z", T0),
    ("2026-11-29T10:00:00GMT", T0),
    ("2026-11-29 10:00:00 -0800", T0 + timedelta(hours=8)),
    ("2026-11-29 10:00:00 +05:30", T0 - timedelta(hours=5, minutes=30)),
    ("2026-11-29 10:00:00.123456789 +0000 UTC", T0 + timedelta(milliseconds=123)),  # Go time.Time.String()
    ("2026-11-29 10:00:00.5 +0100 CET m=+0.000123", T0 - timedelta(hours=1) + timedelta(milliseconds=500)),
    ("2026-11-29T10:00:00+01:00[Europe/Paris]", T0 - timedelta(hours=1)),  # Java ZonedDateTime, RFC 9557
    ("2026-11-29T10:00:00Z[UTC]", T0),
    ("2026/11/29 10:00:00 +0000", T0),
    ("Sun, 29 Nov 2026 10:00:00 +0000", T0),  # RFC 5322
    ("Sun, 29 Nov 2026 10:00:00 GMT", T0),  # HTTP-date
    ("29 Nov 2026 10:00:00 PST", T0 + timedelta(hours=8)),  # an RFC 5322 zone
    ("Sun, 29 Nov 2026 10:00:00.250 UTC +00:00", T0 + timedelta(milliseconds=250)),  # Rails inspect
    ("Sun Nov 29 2026 10:00:00 GMT+0530 (India Standard Time)", T0 - timedelta(hours=5, minutes=30)),  # JS
    ("Sun Nov 29 10:00:00 UTC 2026", T0),  # Java Date.toString(), Unix date
    # already read before (RFC 3339 variants the brief names): still the same
    ("2026-11-29T10:00:00.123456789Z", T0 + timedelta(milliseconds=123)),
    ("2026-11-29t10:00:00z", T0),
]
REFUSED = ["2026-11-29 10:00:00", "2026-11-29 10:00:00 CET", "2026-11-29 10:00:00 IST", "Sun Nov 29 10:00:00 2026",
           "2026-11-29T10:00:00[Europe/Paris]", "Mon, 29 Nov 2026 10:00:00 GMT", "2026-11-31 10:00:00 UTC",
           "2026-11-29 25:00:00 +0000", "29/11/2026 10:00:00 +0000", "2026-11-29 10:00:00 UTC+5",
           "yesterday at 10 UTC"]


@pytest.mark.parametrize("text, instant", SPELLINGS)
def test_a_spelling_with_an_explicit_zone_is_its_instant(text, instant):
    assert parse_ts(text) == ms(instant)


@pytest.mark.parametrize("text", REFUSED)
def test_a_spelling_without_one_zone_is_refused(text):
    with pytest.raises(ValueError):
        parse_ts(text)


@pytest.mark.parametrize("text, instant", SPELLINGS[:3] + SPELLINGS[12:14])
def test_a_segment_message_and_a_web_event_with_such_a_time_are_kept(text, instant):
    seg = {"type": "track", "messageId": "m-1", "userId": "u1", "event": "Clicked", "timestamp": text}
    res = P.parse_full("track", json.dumps(seg).encode(), "t:1")
    assert isinstance(res.result, Event) and res.result.ts == ms(instant) and res.warnings == ()
    web = {**GOOD["web"], "ts": text}
    for parse in (P.parse_full, P.parse):
        got = parse("web", json.dumps(web).encode(), "t:1")
        got = got.result if hasattr(got, "result") else got
        assert isinstance(got, Event) and got.ts == ms(instant), got


def test_a_time_without_a_zone_is_still_a_dead_letter():
    web = {**GOOD["web"], "ts": "2026-11-29 10:00:00"}
    res = P.parse_full("web", json.dumps(web).encode(), "t:1")
    assert isinstance(res.result, DeadLetter) and res.result.reason == "bad_timestamp"
    assert "no UTC offset" in res.result.detail
