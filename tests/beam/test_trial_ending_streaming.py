"""Issue 19's custom journey on the streaming path: examples/trial_ending (a ``track`` event, an ``identify``
trait and the computed attribute ``logins_7d``) under DecideOrdered with out-of-order arrival gives the bounded
fold's decisions -- traits and computed attributes survive the per-event state encoding of streaming."""
from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.beam.test_streaming_state import run_stream

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "trial_ending"
CONFIG = EngineConfig.from_files(journeys=str(EXAMPLE / "journeys.yaml"), attributes=str(EXAMPLE / "attributes.yaml"))
HOUR = 3_600_000
T0 = 1_772_355_600_000  # 2026-03-01T09:00:00Z
CONTACT = {"email": "ann@example.com"}


def events(cid: str, logins: int) -> list[Event]:
    evs = [Event(f"consent/{cid}", "consent", "consent_granted", T0 - HOUR, (cid,),
                 {"channel": "email", "status": "granted"}, CONTACT),
           Event(f"track/{cid}-i", "track", "identify", T0, (cid,), {"traits": {"plan": "trial"}}, CONTACT)]
    evs += [Event(f"web/{cid}-l{i}", "web", "login", T0 + (i + 1) * HOUR, (cid,), {}) for i in range(logins)]
    evs.append(Event(f"track/{cid}-t", "track", "Trial Ending Soon", T0 + 48 * HOUR, (cid,),
                     {"properties": {"days_left": 3}}))
    return evs


def bounded(evs: list[Event]) -> list[tuple[str, str, str | None]]:
    out = ClusterFold(CONFIG.build_processor()).run([(ev, ()) for ev in sorted(evs, key=lambda x: x.sort_key)],
                                                    END_OF_TIME)
    return sorted((d.customer_id, d.action, d.channel) for d in out.decisions)


@pytest.mark.parametrize("seed", [1])
def test_trial_ending_streaming_gives_the_bounded_decisions(seed):
    evs = events("crm:A", logins=2) + events("crm:B", logins=6)
    expected = bounded(evs)
    assert ("crm:A", "send", "email") in expected and not any(c == "crm:B" for c, _, _ in expected)
    ts, opts = run_stream(evs, seed, jitter_ms=HOUR)
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG)
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: (d.customer_id, d.action, d.channel)), equal_to(expected))
