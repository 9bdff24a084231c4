"""qa10f: a Segment message whose ``timestamp`` is bad but whose other time fields are good is kept.

Before: a present ``timestamp`` that was not a time dead-lettered the message (``bad_timestamp``) even when
``originalTimestamp`` / ``sentAt`` / ``receivedAt`` gave its time by the Segment Spec's own rule (``timestamp =
receivedAt - (sentAt - originalTimestamp)``).  A record that can be understood is kept: the bad field is dropped with a
field warning and the event time is derived from the good ones (``stages.segment.times``); only a message with no
usable time at all is a ``bad_timestamp`` dead letter.  Every combination of bad fields is checked against the rule,
computed here independently of the code."""
from __future__ import annotations

import itertools
import json

import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import Event
from journeyflow.stages.fields import is_warning_field
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser

P = Parser(Hasher(b"test-key"))
GOOD = {"timestamp": ("2026-10-05T10:00:00.000Z", 1791194400000),
        "originalTimestamp": ("2026-10-05T09:59:00.000Z", 1791194340000),
        "sentAt": ("2026-10-05T09:59:30.000Z", 1791194370000),
        "receivedAt": ("2026-10-05T10:00:05.000Z", 1791194405000)}
BAD = ("yesterday", "2026-13-45T99:00:00Z", "2026-10-05T10:00:00", True, {"ms": 1})


def expected_time(good: dict[str, int]) -> int | None:
    """The Segment Spec's event time from the good fields: timestamp; the skew-corrected device time; the device
    time; the arrival."""
    if "timestamp" in good:
        return good["timestamp"]
    if "originalTimestamp" in good:
        if "sentAt" in good and "receivedAt" in good:
            return good["receivedAt"] - (good["sentAt"] - good["originalTimestamp"])
        return good["originalTimestamp"]
    return good.get("receivedAt")


def parse(message):
    res = P.parse_full("track", json.dumps(message).encode(), "t:1")
    assert all(is_warning_field("track", w.field) for w in res.warnings), res.warnings
    return res


CASES = [(present, bad) for n in range(1, 5) for present in itertools.combinations(GOOD, n)
         for k in range(0, n + 1) for bad in itertools.combinations(present, k)]


@pytest.mark.parametrize("present, bad", CASES, ids=[f"{'+'.join(p)}|bad:{'+'.join(b) or '-'}" for p, b in CASES])
def test_every_combination_of_bad_time_fields_keeps_what_can_be_understood(present, bad):
    message = {"type": "track", "messageId": "m-1", "anonymousId": "dev-1", "event": "Clicked"}
    for i, f in enumerate(present):
        message[f] = BAD[i % len(BAD)] if f in bad else GOOD[f][0]
    good = {f: GOOD[f][1] for f in present if f not in bad}
    want = expected_time(good)
    res = parse(message)
    if want is None:  # nothing left that is a time: the message has no event time
        assert isinstance(res.result, DeadLetter) and res.result.reason == "bad_timestamp", res.result
        return
    assert isinstance(res.result, Event), res.result
    assert res.result.ts == want
    # a bad field is reported when it was consulted: with a good timestamp the others are not read
    consulted = set(bad) if "timestamp" not in good else set()
    assert {w.field for w in res.warnings} == consulted
    assert all(w.action == "dropped" for w in res.warnings)


def test_a_bad_timestamp_beside_a_good_device_time_is_the_brief_example():
    res = parse({"type": "track", "messageId": "m-2", "userId": "u1", "event": "Order Completed",
                 "timestamp": "not a time", "originalTimestamp": "2026-10-05T09:59:00.000Z",
                 "properties": {"order_id": "o1", "total": 5}})
    assert isinstance(res.result, Event) and res.result.ts == GOOD["originalTimestamp"][1]
    assert [(w.field, w.reason, w.action) for w in res.warnings] == [("timestamp", "wrong_type", "dropped")]
