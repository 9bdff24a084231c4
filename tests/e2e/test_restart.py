"""Restart on the real Pub/Sub emulator: stop the streaming pipeline mid-stream, start it again with ``--resume``.

The stopped pipeline had acknowledged input it had not processed yet (events held for the allowed lateness) and
per-customer state that lived in the runner's memory.  The restarted one rewinds the input subscriptions (they
retain acknowledged messages), rebuilds every customer from the retained input and goes on.  Checked: no input lost
(every decision of the uninterrupted bounded replay comes out, and the dead letter too), and no decision duplicated
under a different id (what the stopped pipeline emitted is re-emitted with the same ids and content, nothing else).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.tools import pubsub as pt
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import read_topic
from tests.e2e.test_streaming_e2e import LEAD_S, PROJECT, collect_many, scenario

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LATENESS_S = 3
CATCH_UP_S = 6


def _key(d: dict) -> tuple:
    return (d["decision_id"], d["customer_id"], d["decided_at"], d["action"], d["channel"],
            tuple(d["reason_codes"]), tuple(sorted((c["journey_id"], c["reason"]) for c in d["candidates"])))


def _sleep_until(t: datetime) -> None:
    while (left := (t - datetime.now(timezone.utc)).total_seconds()) > 0:
        time.sleep(min(left, 1.0))


def test_stop_mid_stream_and_resume_loses_no_input_and_keeps_decision_ids(pubsub_emulator, tmp_path):
    from journeyflow.pipelines.stream import run_stream

    prefix = "rs-"
    t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
    sc = scenario(t0)
    inp = sc.write(tmp_path / "in")
    out = tmp_path / "replay"
    run_replay(["--input", str(inp), "--output", str(out)])
    expected = sorted(map(_key, read_topic(out, "decisions-audit")))
    assert len(expected) == 5

    facts, activity = tmp_path / "facts", tmp_path / "activity"
    for d, streams in ((facts, ("crm", "consent")), (activity, ("web", "orders", "support", "engagement"))):
        d.mkdir()
        for stream in streams:
            (d / f"{stream}.jsonl").write_text((inp / f"{stream}.jsonl").read_text())
    args = ["--project", PROJECT, "--topic_prefix", prefix,
            "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}", "--allowed_lateness", f"{LATENESS_S}s"]

    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=prefix)
        first = run_stream(args + ["--resume=false"], wait=False)  # a first start on fresh topics
        try:
            published = sum(pt.publish_dir(PROJECT, facts, rate=None, prefix=prefix).counts.values())
            time.sleep(3)
            published += sum(pt.publish_dir(PROJECT, activity, rate=None, prefix=prefix).counts.values())
            assert published == sc.n
            # stop once the watermark has released the decisions due at t0+8 s and t0+10 s, while the support
            # ticket (t0+11 s ...) and the unsubscribe (t0+15 s) are read and acknowledged but still held
            _sleep_until(t0 + timedelta(seconds=10 + LATENESS_S + 1.5))
        finally:
            first.cancel()
        before, dead_before = collect_many(prefix, "decisions-audit", "dead-letter")
        assert 0 < len(before) < len(expected), [d["journey_id"] for d in before]

        second = run_stream(args + ["--resume", "--catch_up", f"{CATCH_UP_S}s"], wait=False)
        try:
            resumed_at = datetime.now(timezone.utc)
            _sleep_until(max(t0 + timedelta(seconds=19), resumed_at + timedelta(seconds=CATCH_UP_S))
                         + timedelta(seconds=LATENESS_S + 8))
            after, dead_after = collect_many(prefix, "decisions-audit", "dead-letter")
        finally:
            second.cancel()

    # no input lost: the resumed pipeline produced every decision of the uninterrupted replay
    assert sorted(map(_key, after)) == expected
    # what the stopped pipeline emitted is re-emitted under the same id with the same content, and there is no
    # decision under any other id
    assert set(map(_key, before)) <= set(map(_key, after))
    assert {d["decision_id"] for d in before} | {d["decision_id"] for d in after} == {k[0] for k in expected}
    # the unsubscribe acknowledged by the stopped pipeline but processed only after the restart still holds
    assert [(d["customer_id"], d["reason_codes"]) for d in after if d["action"] == "suppress"] == \
        [("crm:SB", ["consent"])]
    # the bad record is dead-lettered (once per pipeline that read it); nothing is late: the backlog was held
    # the scenario's two bad records: a web type that does not exist and a record dated 2099 (past --max_event_time)
    bad = ["timestamp_out_of_range", "unknown_type"]
    assert sorted(d["reason"] for d in dead_after) == bad
    assert set(d["reason"] for d in dead_before) <= set(bad)
