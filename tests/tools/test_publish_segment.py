"""``journeyflow publish`` on a Segment-Spec ``track.jsonl``: each message (batch envelopes split) is one Pub/Sub
message whose ``ts`` attribute is the Segment event time, merged in event-time order with the other streams; shifting
to now moves every Segment time field."""
from __future__ import annotations

import json

from journeyflow.stages.segment.times import event_time
from journeyflow.tools.pubsub.publisher import _shift_payload, load_dir


def test_track_lines_are_published_per_message_at_their_segment_event_time(tmp_path):
    a = {"type": "track", "event": "A", "messageId": "a", "anonymousId": "d", "originalTimestamp":
         "2026-10-05T10:05:00Z", "sentAt": "2026-10-05T10:05:01Z", "receivedAt": "2026-10-05T10:00:01Z"}
    b = {"type": "page", "messageId": "b", "anonymousId": "d", "timestamp": "2026-10-05T10:00:02Z"}
    c = {"type": "track", "event": "C", "messageId": "c", "anonymousId": "d", "timestamp": "2026-10-05T09:59:59Z"}
    (tmp_path / "track.jsonl").write_text(json.dumps(a) + "\n" + json.dumps({"batch": [b, c]}) + "\n")
    (tmp_path / "web.jsonl").write_text(json.dumps({"event_id": "w", "ts": "2026-10-05T10:00:00.500Z",
                                                    "type": "page_view", "anonymous_id": "d"}) + "\n")
    lines, _blank = load_dir(tmp_path)
    assert [(ln.stream, ln.event_id, ln.own_ts) for ln in lines] == [
        ("track", "c", True), ("track", "a", True), ("web", "w", True), ("track", "b", True)]
    assert lines[1].ts == 1791194400000  # 10:00:00: the skew-corrected time (device clock 5 minutes fast)
    shifted = json.loads(_shift_payload(lines[1].data, 1791194400000 + 3_600_000, "track"))
    assert event_time(shifted)[0] == 1791194400000 + 3_600_000 and shifted["messageId"] == "a"
