"""``journeyflow publish`` reads its payloads by the project's JSON rule (``stages.json_text.loads_json``), as the
pipeline does: a record holding an integer of more than 4,300 digits (Python's int max str digits) is a record
with its own ``ts`` and ``event_id`` (before: unreadable, its ts inferred from its neighbours, and with
``--shift_to_now`` a ValueError once read), the too-long integer is out of every range (±inf, the pipeline's value
for it); a record nested too deeply for Python's decoder is an unreadable line (its ts inferred, published as is:
the pipeline dead-letters it) instead of a RecursionError that stops the publish."""
from __future__ import annotations

import json
import time
import uuid

from journeyflow.stages.json_text import loads_json
from journeyflow.tools import pubsub as pt
from journeyflow.tools.pubsub.publisher import _shift_payload

BIG = "9" * 4400
HUGE = ('{"event_id":"o1","ts":"2026-10-01T10:00:00Z","type":"order_placed","customer":{"crm_id":"C1"},'
        '"order_id":"O1","amount":%s}' % BIG)
DEEP = '{"event_id":"o3","ts":"2026-10-01T12:00:00Z","x":' + "[" * 100_000 + "]" * 100_000 + "}"
PLAIN = ('{"event_id":"o2","ts":"2026-10-01T11:00:00Z","type":"order_placed","customer":{"crm_id":"C1"},'
         '"order_id":"O2","amount":1}')
SEGMENT = ('{"messageId":"m1","type":"track","event":"X","timestamp":"2026-10-01T10:30:00Z","userId":"u1",'
           '"properties":{"n":-%s}}' % BIG)


def _dir(tmp_path):
    (tmp_path / "orders.jsonl").write_text("\n".join([HUGE, PLAIN, DEEP]) + "\n")
    (tmp_path / "track.jsonl").write_text(SEGMENT + "\n")
    return tmp_path


def test_a_too_long_integer_leaves_the_record_its_own_ts_and_id(tmp_path):
    lines, _ = pt.load_dir(_dir(tmp_path))
    got = {(ln.stream, ln.index): (ln.ts, ln.own_ts, ln.event_id) for ln in lines}
    assert got[("orders", 0)] == (1790848800000, True, "o1")
    assert got[("track", 0)] == (1790850600000, True, "m1")
    assert got[("orders", 2)] == (got[("orders", 1)][0], False, None)  # the previous line's ts


def test_shifting_a_payload_with_a_too_long_integer(tmp_path):
    for raw, stream in ((HUGE, "orders"), (SEGMENT, "track")):
        out = _shift_payload(raw.encode(), 1_800_000_000_000, stream)
        rec = json.loads(out)
        original = loads_json(raw)
        if stream == "orders":
            assert rec["ts"] == 1_800_000_000_000
            assert rec["amount"] == original["amount"] == float("inf")
        else:
            assert rec["properties"]["n"] == original["properties"]["n"] == float("-inf")


def test_publish_shift_to_now_with_a_too_long_integer(pubsub_emulator, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    project = "test-project"
    pt.create_topics(project, prefix)
    try:
        before = int(time.time() * 1000)
        stats = pt.publish_dir(project, _dir(tmp_path), rate=None, prefix=prefix, shift_to_now=True)
        assert stats.errors == 0 and stats.total == 4
        assert stats.inferred_ts == {"orders": 1}  # only the too-deep line
        assert stats.first_ts >= before
    finally:
        pt.delete_topics(project, prefix)
