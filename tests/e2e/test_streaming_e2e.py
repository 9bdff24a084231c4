"""End to end on the real Pub/Sub emulator: publish a scenario, run the streaming pipeline, collect the decision
topics — and get the same decisions as the bounded replay of the same files."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import time
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.tools import pubsub as pt
from journeyflow.pipelines.replay import run_replay
from tests.scenarios import Scenario, read_topic

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PROJECT = "test-project"
LEAD_S = 25  # events are dated this far in the future when published; the wall-clock watermark then passes them


def scenario(t0: datetime) -> Scenario:
    s = Scenario()
    sec = timedelta(seconds=1)
    # welcome for a new contact (consent given first), browse-to-offer, dunning, service escalation + recovery,
    # and an unsubscribe that stops the next email
    for i, (cid, email) in enumerate([("SA", "sa@example.com"), ("SB", "sb@example.com"), ("SC", "sc@example.com")]):
        s.add("consent", t0 + i * sec, crm_id=cid, channel="email", status="granted")
        s.add("crm", t0 + (i + 1) * sec + 0.5 * sec, crm_id=cid, email=email, type="contact_created",
              lifecycle_stage="lead", timezone="UTC", owner_id="owner-01")
    s.add("web", t0 + 5 * sec, anonymous_id="dev-a", type="login", user_id="SA")
    for i in range(3):
        s.add("web", t0 + (6 + i) * sec, anonymous_id="dev-a", type="product_view", product_id="SKU-7")
    s.add("orders", t0 + 10 * sec, crm_id="SB", email="sb@example.com", order_id="O-1", type="payment_failed",
          product_ids=["SKU-1"], amount=9.5, currency="EUR")
    s.add("support", t0 + 11 * sec, email="sc@example.com", ticket_id="T-9", type="ticket_opened", severity="high")
    s.add("support", t0 + 12 * sec, email="sc@example.com", ticket_id="T-9", type="ticket_escalated")
    s.add("support", t0 + 14 * sec, email="sc@example.com", ticket_id="T-9", type="ticket_resolved", csat=1)
    s.add("engagement", t0 + 15 * sec, email="sb@example.com", channel="email", type="unsubscribed")
    s.add("web", t0 + 16 * sec, anonymous_id="dev-b", type="login", user_id="SB")
    for i in range(3):
        s.add("web", t0 + (17 + i) * sec, anonymous_id="dev-b", type="product_view", product_id="SKU-3")
    s.add("web", t0 + 18 * sec, anonymous_id="dev-x", type="teleport")  # dead letter
    s.add("web", t0 + 18 * sec, anonymous_id="dev-y", type="page_view", product_id=[12345])  # kept, field warning
    s.add("web", datetime(2099, 6, 15, 12, tzinfo=timezone.utc), anonymous_id="dev-z", type="page_view")  # too far
    return s


def collect(topic: str, prefix: str) -> list[dict]:
    """The payloads (decoded JSON) on ``topic`` until it has been idle 4 s."""
    msgs = pt.consume(PROJECT, topic, prefix=prefix, timeout=4)
    return [m["data"] if isinstance(m["data"], dict) else json.loads(m["data"]) for m in msgs]


def collect_many(prefix: str, *topics: str) -> list[list[dict]]:
    """:func:`collect` of every topic at once (each waits 4 idle seconds), in the order given."""
    with ThreadPoolExecutor(max_workers=len(topics)) as pool:
        return list(pool.map(lambda t: collect(t, prefix), topics))


def test_streaming_matches_replay_on_the_emulator(pubsub_emulator, tmp_path):
    from journeyflow.pipelines.stream import run_stream

    prefix = "e2e-"
    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=prefix)
        t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=LEAD_S)
        sc = scenario(t0)
        inp = sc.write(tmp_path / "in")
        # identity facts (CRM contacts, consent) are published a moment before the activity: streaming applies
        # identity links in arrival order (see README, "Identity"), replay in event-time order
        facts, activity = tmp_path / "facts", tmp_path / "activity"
        for d, streams in ((facts, ("crm", "consent")), (activity, ("web", "orders", "support", "engagement"))):
            d.mkdir()
            for stream in streams:
                (d / f"{stream}.jsonl").write_text((inp / f"{stream}.jsonl").read_text())
        result = run_stream(["--project", PROJECT, "--topic_prefix", prefix,
                             "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}",
                             "--allowed_lateness", "3s", "--resume=false"], wait=False)  # fresh topics
        try:
            published = sum(pt.publish_dir(PROJECT, facts, rate=None, prefix=prefix).counts.values())
            time.sleep(3)
            published += sum(pt.publish_dir(PROJECT, activity, rate=None, prefix=prefix).counts.values())
            assert published == sc.n
            # wait until the wall-clock watermark has passed every event (+ lateness) and decisions are out
            deadline = t0 + timedelta(seconds=20 + 3 + 12)
            while datetime.now(timezone.utc) < deadline:
                time.sleep(1)
            audit, emails, tasks, dead, warnings = collect_many(
                prefix, "decisions-audit", "decisions-email", "decisions-crm-task", "dead-letter", "field-warnings")
        finally:
            result.cancel()

    out = tmp_path / "replay"
    run_replay(["--input", str(inp), "--output", str(out)])
    replay_audit = read_topic(out, "decisions-audit")

    def key(d):
        return (d["decision_id"], d["customer_id"], d["action"], d["channel"], tuple(d["reason_codes"]),
                tuple(sorted((c["journey_id"], c["reason"]) for c in d["candidates"])))

    assert sorted(map(key, audit)) == sorted(map(key, replay_audit))
    assert {d["decision_id"] for d in emails} == {d["decision_id"] for d in read_topic(out, "decisions-email")}
    assert all(d["address"] for d in emails)
    assert [d["journey_id"] for d in tasks] == ["service_escalation"]
    assert sorted(d["reason"] for d in dead) == ["timestamp_out_of_range", "unknown_type"]
    # the same field warning as the replay's: the record is kept without its bad optional field
    assert [(w["stream"], w["field"], w["reason"]) for w in warnings] == [("web", "product_id", "wrong_type")]
    assert [{k: v for k, v in w.items() if k != "source"} for w in warnings] == \
        [{k: v for k, v in w.items() if k != "source"} for w in read_topic(out, "field-warnings")]
    # the unsubscribe (engagement feedback) stopped SB's browse promo
    sb = [c for d in audit if d["customer_id"] == "crm:SB" for c in d["candidates"] if c["journey_id"] == "browse_offer"]
    assert [c["reason"] for c in sb] == ["consent"]
