"""Issue 19's custom-journey example (examples/trial_ending) on the streaming path: Segment-Spec messages published
to ``in-track`` on the real Pub/Sub emulator -- ``identify`` (``plan: trial``, email), a few ``Signed In`` tracks
(mapped to web ``login``, counted by the computed attribute ``logins_7d``), then ``Trial Ending Soon`` -- run with
``--journeys examples/trial_ending/journeys.yaml --attributes examples/trial_ending/attributes.yaml``.  Ann (2 logins)
gets the email at her identify address; Bob (5 logins in 7 days) gets none; the decisions are the bounded replay's of
the same messages.

One change a streaming test needs (nothing specific to this journey): quiet hours are off in the policy (the test
runs at any hour; the journey's category, sales, is deferred in quiet hours)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from journeyflow.config.engine import default_text
from journeyflow.pipelines.replay import run_replay
from tests.e2e.test_segment_streaming import stream_segment_scenario
from tests.scenarios import Scenario, read_topic
from tests.segment_source import SegmentSource

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LEAD_S = 20
SEC = timedelta(seconds=1)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
# (anonymous id, user id, email, Signed In calls before "Trial Ending Soon")
CUSTOMERS = [("dev-ann", "u-ann", "Ann@Example.com", 2), ("dev-bob", "u-bob", "bob@example.com", 5)]


def config_files(tmp_path) -> list[str]:
    policy = default_text("policy.yaml")
    old = "quiet_hours:\n  enabled: true"
    assert old in policy
    (tmp_path / "policy.yaml").write_text(policy.replace(old, "quiet_hours:\n  enabled: false"))
    return ["--journeys", str(EXAMPLE / "journeys.yaml"), "--attributes", str(EXAMPLE / "attributes.yaml"),
            "--policy", str(tmp_path / "policy.yaml")]


def scenario(t0: datetime, tmp_path):
    """(consent-only dir, Segment-only dir, both, number of messages): the consent grants come first (published
    before the activity so they are in state when the email is decided)."""
    consent = Scenario()
    sources = []
    for i, (anon, user, email, logins) in enumerate(CUSTOMERS):
        consent.add("consent", t0 - 10 * SEC, email=email.lower(), channel="email", status="granted")
        src = SegmentSource(anon, skew=timedelta(minutes=2 + i))
        src.identify(t0, user, email=email, plan="trial")
        for k in range(logins):
            src.track(t0 + (1 + k) * SEC, "Signed In")
        src.track(t0 + 7 * SEC, "Trial Ending Soon", days_left=3, plan="trial")
        sources.append(src)
    facts, activity, both = tmp_path / "facts", tmp_path / "activity", tmp_path / "in"
    consent.write(facts)
    consent.write(both)
    for src in sources:
        src.write(activity)
    (both / "track.jsonl").write_text((activity / "track.jsonl").read_text())
    return facts, activity, both, consent.n + sum(len(s.messages) for s in sources)


def test_trial_ending_journey_with_computed_attribute_streams_like_replay(pubsub_emulator, tmp_path):
    cfg = config_files(tmp_path)
    t0, both, audit, emails, dead = stream_segment_scenario(pubsub_emulator, tmp_path, "trial-", cfg, scenario,
                                                            LEAD_S, 7 + 3 + 12)

    assert dead == []
    assert [(d["customer_id"], d["journey_id"], d["content_id"], d["address"]) for d in emails] == \
        [("crm:u-ann", "trial_ending", "trial_ending_offer", "ann@example.com")]
    assert not any(d["customer_id"] == "crm:u-bob" and d["action"] == "send" for d in audit)

    out = tmp_path / "replay"
    until = int((t0 + 20 * SEC).timestamp() * 1000)
    summary = run_replay(["--input", str(both), "--output", str(out), *cfg, "--until", str(until)])
    assert summary.condition_errors == 0

    def key(d):
        return (d["decision_id"], d["customer_id"], d["action"], d["channel"], tuple(d["reason_codes"]),
                tuple(sorted((c["journey_id"], c["reason"]) for c in d["candidates"])))

    replayed = read_topic(out, "decisions-audit")
    assert [(d["customer_id"], d["action"]) for d in replayed] == [("crm:u-ann", "send")]
    assert sorted(map(key, audit)) == sorted(map(key, replayed))
