"""Pub/Sub tooling (journeyflow.tools.pubsub) against the real Pub/Sub emulator, plus its pure helpers."""
from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path

import pytest

from journeyflow.adapters import pubsub_names as names

from journeyflow.model.decisions import ALL_TOPICS, AUDIT_TOPIC, DEAD_LETTER_TOPIC
from journeyflow.model.events import STREAMS
from journeyflow.cli import consume as cli_consume, publish as cli_publish, topics as cli_topics
from journeyflow.tools import pubsub as pt

PROJECT = "test-project"
T0 = 1_790_848_800_000  # 2026-10-01T10:00:00Z


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


def _write_dir(root: Path) -> dict[str, list[bytes]]:
    """Three streams, mixed ts formats, one malformed JSON line and one absurd ts, a blank line."""
    files = {
        "web": [
            {"event_id": "web-1", "ts": "2026-10-01T12:00:00+02:00", "anonymous_id": "a1", "type": "page_view"},
            {"event_id": "web-2", "ts": T0 + 30_000, "anonymous_id": "a1", "type": "product_view"},
            '{"event_id": "web-3", "ts": "2026-10-01T10:0',  # truncated: invalid JSON
            {"event_id": "web-4", "ts": T0 + 90_000, "anonymous_id": "a1", "type": "add_to_cart"},
        ],
        "orders": [
            {"event_id": "orders-1", "ts": T0 + 10_000, "crm_id": "C1", "order_id": "O1", "type": "order_placed"},
            {"event_id": "orders-2", "ts": 1_790_848, "crm_id": "C1", "order_id": "O2", "type": "order_placed"},
            {"event_id": "orders-3", "ts": "2026-10-01T10:01:00Z", "crm_id": "C1", "order_id": "O3",
             "type": "order_cancelled"},
        ],
        "consent": [
            {"event_id": "consent-1", "ts": T0, "email": "a@example.com", "channel": "email", "status": "granted"},
            {"event_id": "consent-2", "ts": T0 + 120_000, "crm_id": "C1", "channel": "sms", "status": "revoked"},
        ],
    }
    lines: dict[str, list[bytes]] = {}
    for stream, rows in files.items():
        lines[stream] = [(r if isinstance(r, str) else json.dumps(r)).encode() for r in rows]
        text = b"\n".join(lines[stream]) + b"\n"
        if stream == "consent":
            text += b"\n"  # trailing blank line: skipped
        (root / f"{stream}.jsonl").write_bytes(text)
    return lines


def _pull(path: str, n: int, deadline_s: float = 10.0) -> list:
    from google.cloud import pubsub_v1

    sub = pubsub_v1.SubscriberClient()
    got = []
    deadline = time.monotonic() + deadline_s
    try:
        while len(got) < n and time.monotonic() < deadline:
            resp = sub.pull(request={"subscription": path, "max_messages": 100}, timeout=5)
            if resp.received_messages:
                sub.acknowledge(request={"subscription": path,
                                         "ack_ids": [m.ack_id for m in resp.received_messages]})
                got += [m.message for m in resp.received_messages]
    finally:
        sub.close()
    return got


def _pull_inputs(prefix: str, streams, n: int) -> list:
    msgs = []
    for s in streams:
        msgs += _pull(names.input_subscription(PROJECT, s, prefix), n[s])
    return sorted(msgs, key=lambda m: int(m.attributes["seq"]))


# ------------------------------------------------------------------------------------------------- pure
def test_names():
    assert names.input_topic("p", "web", "dev-") == "projects/p/topics/dev-in-web"
    assert names.input_subscription("p", "web") == "projects/p/subscriptions/in-web-journeyflow"
    assert names.output_topic("p", AUDIT_TOPIC, "x-") == "projects/p/topics/x-decisions-audit"
    assert names.output_subscription("p", DEAD_LETTER_TOPIC) == "projects/p/subscriptions/dead-letter-sub"
    assert names.state_transfer_topic("p", "x-") == "projects/p/topics/x-state-transfer"
    with pytest.raises(ValueError, match="unknown stream"):
        names.input_topic("p", "clicks")
    with pytest.raises(ValueError, match="unknown output topic"):
        names.output_topic("p", "decisions-fax")
    with pytest.raises(ValueError, match="invalid prefix"):
        names.input_topic("p", "web", "9bad/")


def test_token_bucket_paces_with_fake_clock():
    now = [0.0]
    bucket = pt.TokenBucket(10.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(21):
        bucket.acquire()
    assert now[0] == pytest.approx(2.0)  # first token is free, then 10/s


def test_load_dir_merges_in_event_time_order_and_infers_bad_ts(tmp_path):
    lines = _write_dir(tmp_path)
    merged, blank = pt.load_dir(tmp_path)
    assert blank == {"web": 0, "orders": 0, "consent": 1}
    assert len(merged) == 9
    ts = [ln.ts for ln in merged]
    assert ts == sorted(ts)
    by_data = {ln.data: ln for ln in merged}
    bad_json = by_data[lines["web"][2]]
    assert not bad_json.own_ts and bad_json.ts == T0 + 30_000  # the previous web line's time
    absurd = by_data[lines["orders"][1]]
    assert not absurd.own_ts and absurd.ts == T0 + 10_000 and absurd.event_id == "orders-2"
    # ties: consent before orders before web; malformed lines stay right after their predecessor
    assert [ln.data for ln in merged[:3]] == [lines["consent"][0], lines["web"][0], lines["orders"][0]]
    assert merged.index(bad_json) == merged.index(by_data[lines["web"][1]]) + 1
    assert len(pt.load_dir(tmp_path, limit=3)[0]) == 3


def test_check_access_fails_fast(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(names.PubSubToolError, match="nothing accepts connections"):
        pt.check_access()
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(names.PubSubToolError, match="credentials are not available"):
        pt.check_access()
    assert time.monotonic() - started < 15


# --------------------------------------------------------------------------------------------- emulator
@pytest.mark.emulator
def test_create_topics_is_idempotent(pubsub_emulator):
    from google.cloud import pubsub_v1

    prefix = _prefix()
    first = pt.create_topics(PROJECT, prefix)
    second = pt.create_topics(PROJECT, prefix)
    assert first == second
    assert len(first) == 2 * (len(STREAMS) + 1 + len(ALL_TOPICS) + 1)  # + Pub/Sub's dead-letter topic
    sub = pubsub_v1.SubscriberClient()
    try:
        out = sub.get_subscription(request={"subscription": names.output_subscription(PROJECT, "decisions-sms", prefix)})
        assert out.enable_message_ordering and out.ack_deadline_seconds == 60
        assert out.topic == names.output_topic(PROJECT, "decisions-sms", prefix)
        inp = sub.get_subscription(request={"subscription": names.input_subscription(PROJECT, "crm", prefix)})
        assert inp.ack_deadline_seconds == 60 and not inp.enable_message_ordering
        assert inp.dead_letter_policy.dead_letter_topic == names.pubsub_dead_letter_topic(PROJECT, prefix)
        assert inp.dead_letter_policy.max_delivery_attempts == pt.MAX_DELIVERY_ATTEMPTS
        assert not out.dead_letter_policy.dead_letter_topic  # downstream subscriptions keep their messages
    finally:
        sub.close()
    deleted = pt.delete_topics(PROJECT, prefix)
    assert sorted(deleted) == sorted(first)
    assert pt.delete_topics(PROJECT, prefix) == []


@pytest.mark.emulator
def test_publish_dir_at_rate(pubsub_emulator, tmp_path):
    prefix = _prefix()
    pt.create_topics(PROJECT, prefix)
    lines = _write_dir(tmp_path)
    stats = pt.publish_dir(PROJECT, tmp_path, rate=25.0, prefix=prefix)
    assert stats.errors == 0, stats.first_error
    assert stats.counts == {"web": 4, "orders": 3, "consent": 2}
    assert stats.inferred_ts == {"web": 1, "orders": 1}
    assert stats.skipped == {"consent": 1}
    assert stats.elapsed_s >= 8 / 25  # 9 messages, first token free
    assert stats.rate <= 25 * 1.25
    assert set(stats.latency_ms) == {"p50", "p90", "p99", "max"}

    msgs = _pull_inputs(prefix, ("web", "orders", "consent"), {"web": 4, "orders": 3, "consent": 2})
    assert len(msgs) == 9
    assert [int(m.attributes["seq"]) for m in msgs] == list(range(9))
    ts = [int(m.attributes["ts"]) for m in msgs]
    assert ts == sorted(ts)
    published = [int(m.attributes["published_at_ms"]) for m in msgs]
    assert published == sorted(published) and published[-1] - published[0] >= 250
    for m in msgs:
        stream = m.attributes["stream"]
        assert m.data in lines[stream]  # unchanged bytes
        i = lines[stream].index(m.data)
        if (stream, i) in (("web", 2), ("orders", 1)):
            assert m.attributes["ts_inferred"] == "true"
        else:
            assert "ts_inferred" not in m.attributes
            assert json.loads(m.data)["event_id"] == m.attributes["event_id"]
    assert "event_id" not in next(m for m in msgs if m.data == lines["web"][2]).attributes
    first = msgs[0]
    assert first.attributes["stream"] == "consent" and int(first.attributes["ts"]) == T0
    pt.delete_topics(PROJECT, prefix)


@pytest.mark.emulator
def test_publish_dir_shift_to_now(pubsub_emulator, tmp_path):
    prefix = _prefix()
    pt.create_topics(PROJECT, prefix)
    lines = _write_dir(tmp_path)
    before = int(time.time() * 1000)
    stats = pt.publish_dir(PROJECT, tmp_path, rate=None, prefix=prefix, shift_to_now=True, time_scale=10.0)
    assert stats.errors == 0 and stats.total == 9
    assert stats.original_first_ts == T0 and stats.shifted
    from journeyflow.stages.parse import parse_ts

    originals = {}
    for rows in lines.values():
        for raw in rows:
            try:
                originals[json.loads(raw)["event_id"]] = json.loads(raw)
            except ValueError:
                pass
    msgs = _pull_inputs(prefix, ("web", "orders", "consent"), {"web": 4, "orders": 3, "consent": 2})
    start = int(msgs[0].attributes["ts"])
    assert before <= start <= int(time.time() * 1000)
    assert stats.first_ts == start and stats.last_ts == start + 12_000
    for m in msgs:
        ts = int(m.attributes["ts"])
        if m.attributes.get("ts_inferred"):
            assert m.data in lines[m.attributes["stream"]]  # payload untouched: still dead-letters
            continue
        record = json.loads(m.data)
        assert record["ts"] == ts  # payload rewritten as epoch ms, same value as the attribute
        original = originals[record["event_id"]]
        assert ts - start == (parse_ts(original["ts"]) - T0) / 10  # spacing compressed 10x
        assert {k: v for k, v in record.items() if k != "ts"} == {k: v for k, v in original.items() if k != "ts"}
    pt.delete_topics(PROJECT, prefix)


def _decision(customer: str, n: int) -> dict:
    return {"decision_id": f"d-{customer}-{n}", "customer_id": customer, "decided_at": T0 + n * 1000,
            "journey_id": "j1", "step_id": f"s{n}", "action": "send", "channel": "email", "content_id": None,
            "category": "marketing", "priority": 1, "reason_codes": [], "candidates": [], "trigger_event_id": "x"}


@pytest.mark.emulator
def test_consume_ordered_and_deduplicated(pubsub_emulator):
    from google.cloud import pubsub_v1

    prefix = _prefix()
    pt.create_topics(PROJECT, prefix)
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True))
    topic = names.output_topic(PROJECT, "decisions-email", prefix)
    futures = []
    sent = [_decision(c, n) for n in range(5) for c in ("C1", "C2")]
    sent.append(_decision("C1", 2))  # duplicate publish of an already-sent decision
    for d in sent:
        futures.append(publisher.publish(topic, json.dumps(d).encode(), ordering_key=d["customer_id"],
                                         decision_id=d["decision_id"], customer_id=d["customer_id"]))
    for f in futures:
        f.result(timeout=10)
    publisher.stop()

    # peek first: nothing acknowledged, everything released for the next consumer at once
    peek_stats: dict = {}
    peeked = pt.consume(PROJECT, "decisions-email", prefix=prefix, timeout=1.5, ack=False, stats=peek_stats)
    assert len(peeked) == 10 and peek_stats["released"] >= 10

    seen = []
    stats: dict = {}
    started = time.monotonic()
    got = pt.consume(PROJECT, "decisions-email", prefix=prefix, timeout=1.5, callback=seen.append, stats=stats)
    assert time.monotonic() - started < 10
    assert got == seen
    assert sorted(r["decision_id"] for r in got) == sorted({d["decision_id"] for d in sent})
    assert stats["consumed"] == 10 and stats["duplicates"] == 1
    for customer in ("C1", "C2"):
        mine = [r["data"]["decided_at"] for r in got if r["ordering_key"] == customer]
        assert mine == sorted(mine) and len(mine) == 5
    assert all(r["attributes"]["decision_id"] == r["data"]["decision_id"] for r in got)

    # acked: nothing left; max_messages stops early
    assert pt.consume(PROJECT, "decisions-email", prefix=prefix, timeout=1.0) == []
    publisher = pubsub_v1.PublisherClient()
    for d in (_decision("C3", 0), _decision("C3", 1)):
        publisher.publish(topic, json.dumps(d).encode(), decision_id=d["decision_id"]).result(timeout=10)
    publisher.stop()
    # max_messages stops early; the rest is released and the next consumer gets it at once (no 60 s wait:
    # the emulator keeps cancelled streams, consume half-closes instead)
    first = pt.consume(PROJECT, "decisions-email", prefix=prefix, max_messages=1, timeout=5.0)
    rest = pt.consume(PROJECT, "decisions-email", prefix=prefix, timeout=1.5)
    assert len(first) == 1 and len(rest) == 1
    assert {first[0]["decision_id"], rest[0]["decision_id"]} == {"d-C3-0", "d-C3-1"}
    pt.delete_topics(PROJECT, prefix)


@pytest.mark.emulator
def test_cli_glue(pubsub_emulator, tmp_path, capsys, monkeypatch):
    _write_dir(tmp_path)
    prefix = _prefix()
    monkeypatch.setenv("PUBSUB_PROJECT_ID", PROJECT)

    def parse(add, argv):
        p = argparse.ArgumentParser()
        add(p)
        return p.parse_args(argv)

    assert cli_topics.create(parse(cli_topics.add_target_args, ["--topic_prefix", prefix])) == 0
    assert "topics and" in capsys.readouterr().out
    ns = parse(cli_publish.add_args, ["--topic_prefix", prefix, "--input", str(tmp_path), "--limit", "4", "--shift_to_now"])
    assert ns.project == PROJECT and ns.rate is None and ns.shift_to_now and ns.limit == 4
    assert cli_publish.run(ns) == 0
    assert "published 4 messages" in capsys.readouterr().out

    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    publisher.publish(names.output_topic(PROJECT, DEAD_LETTER_TOPIC, prefix), b'{"reason": "invalid_json"}',
                      decision_id="dl-1").result(timeout=10)
    publisher.stop()
    ns = parse(cli_consume.add_args, ["--topic_prefix", prefix, "--topic", DEAD_LETTER_TOPIC, "--timeout", "1",
                                     "--max_messages", "5"])
    assert cli_consume.run(ns) == 0
    out = capsys.readouterr()
    assert json.loads(out.out.strip()) == {"attributes": {"decision_id": "dl-1"}, "data": {"reason": "invalid_json"}}
    assert "consumed 1 decisions" in out.err
    with pytest.raises(names.PubSubToolError, match="do not exist"):
        pt.publish_dir(PROJECT, tmp_path, None, prefix="nothere-")
    pt.delete_topics(PROJECT, prefix)


@pytest.mark.emulator
def test_rewind_for_resume_replays_inputs_purges_state_transfer_and_keeps_pubsub_dead_letters(pubsub_emulator):
    prefix = _prefix()
    pt.create_topics(PROJECT, prefix)
    try:
        done = pt.rewind_for_resume(PROJECT, prefix)
        expected = {names.input_subscription(PROJECT, s, prefix): "replay" for s in STREAMS}
        expected[names.state_transfer_subscription(PROJECT, prefix)] = "purged"
        assert done == expected  # neither the downstream subscriptions nor pubsub-dead-letter-sub are touched
    finally:
        pt.delete_topics(PROJECT, prefix)
