"""qa17d: a customer identified from the backend (no zone) and tracked in the browser (``context.timezone`` on every
call) gets quiet hours in her own zone, with the same decisions bounded and streaming, whatever the arrival order.
Before, only an identify call's zone counted: the trial email of 15:00Z went out at midnight in Tokyo (UTC's quiet
hours, the policy's ``default_timezone``).  The Segment messages go through the parser, event names with a
zero-width space among them (read as the name they show: ``segment.calls.event_name_text``)."""
from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import Parser
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.timeparse import parse_ts
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.beam.test_streaming_state import run_stream

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
CONFIG = EngineConfig.from_files(journeys=str(EXAMPLE / "journeys.yaml"), attributes=str(EXAMPLE / "attributes.yaml"))
P = Parser(Hasher(b"test-key"))


def events(user: str, zone: str | None) -> list[Event]:
    ctx = {"timezone": zone} if zone else {}
    msgs = [  # the backend's identify (a server library: no context.timezone), then the browser's calls
        {"type": "identify", "userId": user, "timestamp": "2026-03-01T09:00:00Z",
         "traits": {"email": f"{user}@example.com", "plan": "trial"}},
        {"type": "page", "userId": user, "name": "Pricing", "timestamp": "2026-03-09T10:00:00Z", "context": ctx},
        {"type": "track", "userId": user, "event": "\u200bTrial Ending Soon", "timestamp": "2026-03-10T15:00:00Z",
         "properties": {"days_left": 3}, "context": ctx}]
    out = [Event(f"consent/{user}", "consent", "consent_granted", parse_ts("2026-02-01T00:00:00Z"),
                 (f"crm:{user}",), {"channel": "email", "status": "granted"})]
    for i, m in enumerate(msgs):
        ev = P.parse_full("track", json.dumps({"messageId": f"{user}-{i}", **m}).encode(), "t:1").result
        assert isinstance(ev, Event), ev
        out.append(ev)
    return out


def bounded(evs: list[Event]) -> list[tuple]:
    out = ClusterFold(CONFIG.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                    END_OF_TIME)
    return sorted((d.customer_id, d.action, d.due_at) for d in out.decisions if d.journey_id == "trial_ending")


@pytest.mark.parametrize("seed", [3])
def test_the_device_zone_sets_quiet_hours_bounded_and_streaming(seed):
    evs = events("tokyo", "Asia/Tokyo") + events("london", "Europe/London")
    expected = bounded(evs)
    # 15:00Z is 00:00 in Tokyo: deferred to 08:00 JST (23:00Z); 15:00 in London: sent
    assert ("crm:tokyo", "wait", parse_ts("2026-03-10T23:00:00Z")) in expected, expected
    assert ("crm:london", "send", None) in expected, expected
    ts, opts = run_stream(evs, seed, jitter_ms=3_600_000)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.DECISIONS] | beam.Filter(lambda d: d.journey_id == "trial_ending")
                    | beam.Map(lambda d: (d.customer_id, d.action, d.due_at)), equal_to(expected))
