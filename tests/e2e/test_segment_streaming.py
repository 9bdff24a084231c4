"""Issue 19 (points 1-2) on the streaming path: Segment-Spec messages published to ``in-track`` on the real Pub/Sub
emulator (one of them inside a ``{"batch": [...]}`` envelope) run the default cart journey: the shopper who leaves
gets the reminder at the email of their ``identify`` call, the one with an ``Order Completed`` gets none -- and the
decisions are the bounded replay's of the same files.

The default journeys and policy with two changes a streaming test needs (nothing Segment-specific): the cart
journey's first wait is 5 s instead of 1 h (the emulator's watermark is the wall clock), and quiet hours are off (the
test runs at any hour)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from journeyflow.config.engine import default_text
from journeyflow.pipelines.replay import run_replay
from journeyflow.tools import pubsub as pt
from tests.e2e.test_streaming_e2e import collect_many
from tests.scenarios import Scenario, read_topic
from tests.segment_source import SegmentSource

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PROJECT = "test-project"
LEAD_S = 25
SEC = timedelta(seconds=1)


def config_files(tmp_path) -> list[str]:
    journeys = default_text("journeys.yaml")
    old = "      - id: wait_1h\n        wait: 1h\n      - id: reminder_email"
    assert old in journeys
    (tmp_path / "journeys.yaml").write_text(journeys.replace(old, old.replace("wait: 1h", "wait: 5s")))
    policy = default_text("policy.yaml")
    old = "quiet_hours:\n  enabled: true"
    assert old in policy
    (tmp_path / "policy.yaml").write_text(policy.replace(old, "quiet_hours:\n  enabled: false"))
    return ["--journeys", str(tmp_path / "journeys.yaml"), "--policy", str(tmp_path / "policy.yaml")]


def scenario(t0: datetime, tmp_path):
    consent = Scenario()
    sources = []
    for i, (anon, user, email, order) in enumerate([("dev-ann", "u-ann", "Ann@Example.com", False),
                                                    ("dev-bob", "u-bob", "bob@example.com", True)]):
        consent.add("consent", t0 - 10 * SEC, email=email.lower(), channel="email", status="granted")
        src = SegmentSource(anon, skew=timedelta(minutes=2 + i))
        src.page(t0, "Home")
        src.track(t0 + SEC, "Product Viewed", product_id="SKU-9")
        src.identify(t0 + 2 * SEC, user, email=email, plan="trial")
        src.track(t0 + 4 * SEC, "Product Added", product_id="SKU-9", quantity=1)
        if order:
            src.track(t0 + 7 * SEC, "Order Completed", order_id=f"o-{user}", total=20.0, currency="EUR",
                      products=[{"product_id": "SKU-9", "quantity": 1}])
        sources.append(src)
    facts, activity, both = tmp_path / "facts", tmp_path / "activity", tmp_path / "in"
    consent.write(facts)
    consent.write(both)
    sources[0].write(activity, batch_from=2)
    sources[1].write(activity)
    (both / "track.jsonl").write_text((activity / "track.jsonl").read_text())
    return facts, activity, both, consent.n + sum(len(s.messages) for s in sources)


def stream_segment_scenario(pubsub_emulator, tmp_path, prefix: str, cfg: list[str], scenario, lead_s: int,
                            wait_s: int):
    """Streams ``scenario(t0, tmp_path)`` (consent facts first, then the Segment messages on ``in-track``) through
    ``journeyflow stream`` with ``cfg`` on the emulator, ``t0`` being ``lead_s`` seconds from now, and collects the
    audit, email and dead-letter topics once ``t0 + wait_s`` has passed: ``(t0, the files of both, audit, emails,
    dead)``."""
    from journeyflow.pipelines.stream import run_stream

    with pubsub_emulator.patched_env():
        pt.create_topics(PROJECT, prefix=prefix)
        t0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=lead_s)
        facts, activity, both, n = scenario(t0, tmp_path)
        result = run_stream(["--project", PROJECT, "--topic_prefix", prefix, *cfg,
                             "--identity_store", f"sqlite:///{tmp_path / 'identity.db'}",
                             "--allowed_lateness", "3s"], wait=False)
        try:
            stats = pt.publish_dir(PROJECT, facts, rate=None, prefix=prefix)
            time.sleep(2)
            stats2 = pt.publish_dir(PROJECT, activity, rate=None, prefix=prefix)
            assert sum(stats.counts.values()) + sum(stats2.counts.values()) == n
            assert stats2.counts == {"track": n - 2}  # a batch envelope is published as its messages
            deadline = t0 + timedelta(seconds=wait_s)
            while datetime.now(timezone.utc) < deadline:
                time.sleep(1)
            audit, emails, dead = collect_many(prefix, "decisions-audit", "decisions-email", "dead-letter")
        finally:
            result.cancel()
    return t0, both, audit, emails, dead


def test_segment_messages_on_in_track_drive_the_cart_journey(pubsub_emulator, tmp_path):
    cfg = config_files(tmp_path)
    t0, both, audit, emails, dead = stream_segment_scenario(pubsub_emulator, tmp_path, "seg-", cfg, scenario,
                                                            LEAD_S, 7 + 5 + 3 + 14)

    assert dead == []
    reminders = [d for d in emails if d["journey_id"] == "cart_abandonment"]
    assert [(d["customer_id"], d["content_id"], d["address"]) for d in reminders] == \
        [("crm:u-ann", "cart_reminder_1", "ann@example.com")]
    out = tmp_path / "replay"
    until = int((t0 + 20 * SEC).timestamp() * 1000)  # past the reminder (t0 + 9 s), before any later timer
    run_replay(["--input", str(both), "--output", str(out), *cfg, "--until", str(until)])

    def key(d):
        return (d["decision_id"], d["customer_id"], d["action"], d["channel"], tuple(d["reason_codes"]),
                tuple(sorted((c["journey_id"], c["reason"]) for c in d["candidates"])))

    assert sorted(map(key, audit)) == sorted(map(key, read_topic(out, "decisions-audit")))
