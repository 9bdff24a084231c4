"""qa17d: ``journeyflow publish`` stamps a Segment message with the event time the pipeline's parser gives it.

The parser drops a ``timestamp`` (or ``originalTimestamp``) outside the accepted event times when the other time
fields give one inside them (a device clock reset to 1970, epoch seconds where milliseconds belong:
``segment.times.event_time``'s bounds); the publisher read the times without those bounds, found no usable time and
stamped the message with its neighbour's time.  On the streaming path the ``ts`` attribute then differed from the
payload's time: a ``ts_mismatch`` dead letter, where the replay of the same file decided on the event."""
from __future__ import annotations

import json

import pytest

from journeyflow.model.events import Event
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.timeparse import parse_ts
from journeyflow.tools.pubsub.publisher import _shift_payload, load_dir

P = Parser(Hasher(b"test-key"))
BASE = {"type": "track", "event": "Clicked", "anonymousId": "d"}


@pytest.mark.parametrize("times, expected", [
    ({"timestamp": "1970-01-01T00:00:00Z", "receivedAt": "2026-10-05T10:00:00Z"}, "2026-10-05T10:00:00Z"),
    ({"timestamp": "2226-10-05T09:00:00Z", "originalTimestamp": "2026-10-05T09:00:00Z"}, "2026-10-05T09:00:00Z"),
    ({"originalTimestamp": "1970-01-01T00:00:01Z", "receivedAt": "2026-10-05T08:00:00Z"}, "2026-10-05T08:00:00Z"),
])
def test_the_published_ts_is_the_parsers_event_time(tmp_path, times, expected):
    neighbour = {**BASE, "messageId": "n", "timestamp": "2026-10-01T00:00:00Z"}
    msg = {**BASE, "messageId": "m", **times}
    (tmp_path / "track.jsonl").write_text(json.dumps(neighbour) + "\n" + json.dumps(msg) + "\n")
    lines, _ = load_dir(tmp_path)
    line = next(ln for ln in lines if ln.event_id == "m")
    ev = P.parse_full("track", line.data, "t:1").result
    assert isinstance(ev, Event) and ev.ts == parse_ts(expected)
    assert (line.ts, line.own_ts) == (ev.ts, True)
    later = ev.ts + 3_600_000  # --shift_to_now: the shifted payload's event time is the new one
    assert P.parse_full("track", _shift_payload(line.data, later, "track"), "t:1").result.ts == later
