"""qa10g: time spellings that contradict themselves are refused, not read at one of their halves.

Before: ``stages.time_spellings`` read ``Z+02:00`` and Rails' ``UTC +02:00`` as +02:00, Go's ``+0200 UTC`` as +02:00,
``+00:00 PM`` as 10:00 (not 22:00), ``[Europe/Paris]`` / ``[America/New_York]`` beside any offset (a DST-gap local
time, ``Etc/GMT+2`` that is UTC-2), offsets up to 23:59 (no zone is beyond 14:00), and any word whose first three
letters were a day's name (``Satan`` for Saturday).  Each gave a time that may be hours wrong: a message at the
wrong hour.  Now a ``ValueError`` naming the contradiction (a ``bad_timestamp`` dead letter or a field warning)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.time_spellings import other_spelling_ms
from journeyflow.stages.timeparse import parse_ts
from tests.stages.test_input_edge_cases import HASHER


def iso_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


CONTRADICTIONS = [
    "2026-11-29T10:00:00Z+02:00",  # Z is UTC, +02:00 is not
    "2026-11-29 10:00:00 Z+0200",
    "2026-11-29 10:00:00 UT+0200",
    "2026-11-29 10:00:00 UTC +02:00",  # Rails' "<zone> <its offset>": the zone UTC has offset 0
    "Sun, 29 Nov 2026 10:00:00.123 UTC +02:00",
    "2026-11-29 10:00:00 +0200 UTC",  # Go's "<offset> <abbreviation>"
    "2026-11-29 10:00:00 -0800 GMT",
    "2026-11-29 10:00:00 +0000 PST",
    "2026-11-29 10:00:00 +00:00 PM",  # a 12-hour clock: 10 PM or 10 AM?
    "2026-11-29 10:00:00 +0000 am",
    "2026-03-08T02:30:00-05:00[America/New_York]",  # 02:30 does not exist in New York that day
    "2026-03-08T02:30:00-04:00[America/New_York]",
    "2026-03-29T02:30:00+01:00[Europe/Paris]",
    "2026-11-29T10:00:00+02:00[Etc/GMT+2]",  # POSIX sign: Etc/GMT+2 is UTC-2
    "2026-11-29T10:00:00+05:00[Europe/Paris]",
    "2026-11-29T10:00:00+01:00[!Nowhere/Land]",  # critical and unknown (RFC 9557)
    "2026-11-29 10:00:00 +1500",  # beyond +14:00: no zone
    "2026-11-29 10:00:00 -2359",
    "Sun, 29 Nov 2026 10:00:00 +2300",
    "Satan, 28 Nov 2026 10:00:00 +0000",  # not a day's name
    "Montag, 30 Nov 2026 10:00:00 +0000",  # German Monday
    "Sunxyz, 29 Nov 2026 10:00:00 GMT",
]


@pytest.mark.parametrize("text", CONTRADICTIONS)
def test_a_spelling_that_contradicts_itself_is_refused(text):
    with pytest.raises(ValueError):
        parse_ts(text)


@pytest.mark.parametrize("text", ["2026-11-29 10:00:00 GMT+2", "2026-11-29 10:00:00 GMT+02",
                                  "Sun, 29 Nov 2026 10:00:00 GMT-3", "Sun, 29 Nov 26 10:00:00 +0000",
                                  "2027-02-29 10:00:00 +0000", "Mon, 29 Feb 2027 10:00:00 GMT",
                                  "Sonntag, 29 Nov 2026 10:00:00 +0000", "2026-11-29T10:00:00[Europe/Paris]"])
def test_posix_offsets_two_digit_years_and_impossible_dates_stay_refused(text):
    with pytest.raises(ValueError):
        parse_ts(text)


@pytest.mark.parametrize("text, iso", [
    ("2026-11-29T10:00:00+01:00[Europe/Paris]", "2026-11-29T10:00:00+01:00"),
    ("2026-07-29T10:00:00+02:00[Europe/Paris]", "2026-07-29T10:00:00+02:00"),
    ("2026-11-01T01:30:00-04:00[America/New_York]", "2026-11-01T01:30:00-04:00"),  # DST overlap: the offset says
    ("2026-11-01T01:30:00-05:00[America/New_York]", "2026-11-01T01:30:00-05:00"),  # which of the two
    ("2026-07-29T10:00:00Z[Europe/London]", "2026-07-29T10:00:00+00:00"),  # Z: no local offset told (RFC 9557)
    ("2026-11-29T10:00:00+01:00[Nowhere/Land]", "2026-11-29T10:00:00+01:00"),  # elective, unknown: offset holds
    ("2026-11-29T10:00:00+01:00[u-ca=hebrew]", "2026-11-29T10:00:00+01:00"),
    ("2026-11-29 10:00:00.5 +0100 CET m=+0.011", "2026-11-29T10:00:00.5+01:00"),
    ("2026-11-29 10:00:00 +0000 UTC", "2026-11-29T10:00:00+00:00"),
    ("2026-11-29 10:00:00 -0500 EST", "2026-11-29T10:00:00-05:00"),
    ("Sun, 29 Nov 2026 10:00:00.123 UTC +00:00", "2026-11-29T10:00:00.123+00:00"),
    ("Sun Nov 29 2026 10:00:00 GMT+0200 (Eastern European Standard Time)", "2026-11-29T10:00:00+02:00"),
    ("Sun Nov 29 10:00:00 GMT+02:00 2026", "2026-11-29T10:00:00+02:00"),  # Java Date.toString, custom zone
    ("Sunday, 29 Nov 2026 10:00:00 +1400", "2026-11-29T10:00:00+14:00"),
    ("Tues, 1 Dec 2026 10:00:00 -1200", "2026-12-01T10:00:00-12:00"),
    ("Thurs, 3 Dec 2026 10:00:00 GMT", "2026-12-03T10:00:00+00:00"),
])
def test_consistent_spellings_are_still_read(text, iso):
    assert parse_ts(text) == iso_ms(iso)


def test_unknown_spellings_are_still_none_not_an_error():
    for text in ("2026-11-29 10:00:00 CET", "yesterday", "2026-11-29 10:00:00 PM +0000"):
        assert other_spelling_ms(text) is None


def test_a_segment_message_with_a_contradicting_timestamp_uses_its_other_times():
    """The field is dropped with a warning and the rule goes on (stages.segment.times); before, its wrong hour was
    the event time."""
    msg = {"type": "track", "messageId": "m1", "userId": "u1", "event": "Clicked",
           "timestamp": "2026-11-29 10:00:00 +0200 UTC", "receivedAt": "2026-11-29T10:00:05Z"}
    got = Parser(HASHER).parse_full("track", json.dumps(msg), "t:1")
    assert isinstance(got.result, Event)
    assert got.result.ts == iso_ms("2026-11-29T10:00:05+00:00")
