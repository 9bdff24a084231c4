"""qa10g: a Segment device time that contradicts the other times is not the event time.

Before: with ``timestamp`` absent or bad, ``receivedAt - (sentAt - originalTimestamp)`` was used even when ``sentAt``
was *before* ``originalTimestamp`` (the device clock contradicting itself): ``sentAt`` from 2019 beside an
``originalTimestamp`` and ``receivedAt`` of 2026 put the event in 2033, seven years after its arrival, and inside the
accepted range.  Without a usable ``sentAt``, an ``originalTimestamp`` after ``receivedAt`` was the event time too.
An event does not happen after the server received it: now ``receivedAt`` is the event time and
``originalTimestamp`` is dropped with a field warning (``stages.segment.times``)."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.times import event_time
from journeyflow.stages.timeparse import parse_ts
from tests.stages.test_input_edge_cases import HASHER

RECEIVED = "2026-10-05T10:00:05.000Z"


def message(**times):
    return {"type": "track", "messageId": "m1", "userId": "u1", "event": "Clicked", **times}


def parse(msg):
    return Parser(HASHER).parse_full("track", json.dumps(msg), "t:1")


@pytest.mark.parametrize("times", [
    {"originalTimestamp": "2026-10-05T09:59:00Z", "sentAt": "2019-10-05T09:59:30Z"},  # sentAt from another year
    {"originalTimestamp": "2026-10-05T09:59:00Z", "sentAt": "2026-10-05T09:58:00Z"},  # sent before it happened
    {"timestamp": "yesterday", "originalTimestamp": "2026-10-05T09:59:00Z", "sentAt": "2019-10-05T09:59:30Z"},
    {"originalTimestamp": "2033-10-05T09:59:00Z"},  # no sentAt: a device time years after the arrival
    {"originalTimestamp": "2026-10-05T10:05:00Z", "sentAt": "bad"},  # a fast device clock, sentAt unusable
])
def test_a_device_time_after_the_arrival_is_not_the_event_time(times):
    got = parse(message(receivedAt=RECEIVED, **times))
    assert isinstance(got.result, Event), got.result
    assert got.result.ts == parse_ts(RECEIVED)
    assert got.result.ts <= parse_ts(RECEIVED)
    assert any(w.field == "originalTimestamp" for w in got.warnings), got.warnings


def test_consistent_device_times_are_still_corrected_by_the_spec_rule():
    orig, sent = "2026-10-05T09:59:00Z", "2026-10-05T09:59:30Z"
    got = parse(message(originalTimestamp=orig, sentAt=sent, receivedAt=RECEIVED))
    assert got.result.ts == parse_ts(RECEIVED) - (parse_ts(sent) - parse_ts(orig))
    assert not got.warnings
    same = parse(message(originalTimestamp=orig, sentAt=orig, receivedAt=RECEIVED))  # sent when it happened
    assert same.result.ts == parse_ts(RECEIVED) and not same.warnings
    early = parse(message(originalTimestamp=orig, receivedAt=RECEIVED))  # no sentAt, before the arrival
    assert early.result.ts == parse_ts(orig) and not early.warnings


def test_a_given_timestamp_is_still_used_as_it_is():
    """Rule 1 (timestamp, what server libraries and imports set) does not consult the other fields."""
    ts = "2026-10-05T08:00:00Z"
    assert event_time(message(timestamp=ts, originalTimestamp="2030-01-01T00:00:00Z", sentAt="2019-01-01T00:00:00Z",
                              receivedAt=RECEIVED))[:2] == (parse_ts(ts), "timestamp")


@pytest.mark.parametrize("times", [
    {"originalTimestamp": "1970-01-01T00:00:07Z"},  # a device clock reset to the epoch, no sentAt
    {"timestamp": "20261005", "originalTimestamp": "1970-01-01T00:00:07Z"},  # a date of digits: 1970 in any unit
    {"timestamp": "2150-01-01T00:00:00Z"},  # after the accepted event times
    {"originalTimestamp": "1970-01-01T00:00:07Z", "sentAt": "2026-10-05T09:59:30Z"},  # the correction: 1970 too
])
def test_an_out_of_range_time_beside_a_good_arrival_is_dropped_not_the_message(times):
    got = parse(message(receivedAt=RECEIVED, **times))
    assert isinstance(got.result, Event), got.result
    assert got.result.ts == parse_ts(RECEIVED)
    dropped = {w.field for w in got.warnings}
    assert dropped >= ({"timestamp"} if "timestamp" in times else {"originalTimestamp"}), got.warnings


def test_an_out_of_range_time_alone_is_still_an_out_of_range_dead_letter():
    got = parse(message(originalTimestamp="1970-01-01T00:00:07Z"))
    assert not isinstance(got.result, Event)
    assert got.result.reason == "timestamp_out_of_range"
    got = parse(message(timestamp="1970-01-01T00:00:07Z", receivedAt="1970-01-01T00:00:09Z"))
    assert not isinstance(got.result, Event) and got.result.reason == "timestamp_out_of_range"
