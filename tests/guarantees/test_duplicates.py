"""The same event delivered twice (same stream and event_id) changes nothing: no second decision, the same state.

* Bounded replay: duplicate lines in the stream files (every record twice, next to each other; some records
  two or three times, the copies shuffled into the file, sometimes before the original) give byte-identical decision topics, the same journey steps and
  customer snapshots (the state at the horizon) as the files without them, and one ``duplicate_event`` dead letter
  per extra copy.
* Streaming: the same element delivered again under TestStream, in the same pane, later but within the allowed
  lateness (``duplicate_event``), and after the customer's horizon has passed it (``late_event``); the decisions are
  those of the bounded fold of the events without duplicates.
* The core: ``CustomerProcessor`` leaves the state byte-identical when it sees a duplicate.
"""
from __future__ import annotations

import json
import random
from datetime import timedelta as td
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream as _TestStream  # (not a test class)
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import ClusterFold
from journeyflow.stages.processor import END_OF_TIME, Outputs
from journeyflow.stages.state import CustomerState
from journeyflow.pipelines.replay import run_replay
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.decide_streaming import DecideOrdered
from tests.scenarios import T0, Scenario, journeys_with_test_extras

H = td(hours=1)
D = td(days=1)
MIN_MS = 60_000
HOUR_MS = 60 * MIN_MS


def build() -> Scenario:
    """Stories where a redelivered event would show: a second promo, a second cart reminder or cross-sell, a
    consent flip-flop, an unsubscribe applied twice, a ticket counted twice."""
    s = Scenario()
    s.contact(-10 * D, "CD1", email="dee@example.com", phone="+1 415-555-0111", consent=("email", "sms"))
    s.add("web", -9 * D, anonymous_id="dev-d1", type="login", user_id="CD1")
    s.add("web", td(0), anonymous_id="dev-d1", type="add_to_cart", product_id="SKU-1")
    s.add("web", 3 * H, anonymous_id="dev-d1", type="page_view", product_id="FLASH")
    s.add("orders", 1 * D, crm_id="CD1", order_id="O-D1", type="order_placed", product_ids=["SKU-7"], amount=12.0,
          currency="EUR")
    s.add("web", 2 * D, anonymous_id="dev-d1", type="page_view", product_id="FLASH")
    s.contact(-10 * D, "CD2", email="dan@example.com")
    s.add("web", -9 * D, anonymous_id="dev-d2", type="login", user_id="CD2")
    s.add("support", td(0), crm_id="CD2", ticket_id="T-D2", type="ticket_opened", severity="high")
    s.add("support", 5 * H, crm_id="CD2", ticket_id="T-D2", type="ticket_resolved", csat=2)
    s.add("web", 4 * D, anonymous_id="dev-d2", type="page_view", product_id="FLASH")
    s.contact(-10 * D, "CD3", email="dora@example.com")
    s.add("consent", td(0), crm_id="CD3", channel="email", status="revoked")
    s.add("consent", 2 * H, crm_id="CD3", channel="email", status="granted")
    s.add("web", 3 * H, anonymous_id="dev-d3", type="login", user_id="CD3")
    s.add("engagement", 4 * H, email="dora@example.com", channel="email", type="unsubscribed")
    s.add("web", 5 * H, anonymous_id="dev-d3", type="page_view", product_id="FLASH")
    return s


def _write(s: Scenario, directory: Path, dup: dict[str, list[int]], placement: str) -> list[str]:
    """Write the scenario with the records at ``dup[stream]`` indexes duplicated; returns the duplicated uids."""
    directory.mkdir(parents=True)
    uids = []
    rng = random.Random(7)
    for stream, recs in s.records.items():
        lines = [json.dumps(r) for r in recs]
        copies = [lines[i] for i in dup.get(stream, [])]
        uids += [f"{stream}/{recs[i]['event_id']}" for i in dup.get(stream, [])]
        if placement == "adjacent":
            out = []
            for i, line in enumerate(lines):
                out += [line] * (1 + dup.get(stream, []).count(i))
        else:  # shuffled: the copy may come first in the file
            out = lines + copies
            rng.shuffle(out)
        (directory / f"{stream}.jsonl").write_text("".join(x + "\n" for x in out))
    return uids


def _rows(out: Path, table: str) -> list[str]:
    rows = pq.read_table(out / "tables" / table).to_pylist()
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


@pytest.fixture(scope="module")
def replays(tmp_path_factory):
    root = tmp_path_factory.mktemp("dups")
    journeys = root / "journeys.yaml"
    journeys.write_text(journeys_with_test_extras())
    s = build()
    every = {stream: list(range(len(recs))) for stream, recs in s.records.items()}  # every record twice
    some = {"web": [1, 2, 2, 4], "orders": [0], "support": [0], "consent": [2, 3], "engagement": [0]}
    runs = {}
    for name, dup, placement in [("clean", {}, "adjacent"), ("adjacent", every, "adjacent"),
                                 ("shuffled", some, "shuffled")]:
        uids = _write(s, root / name, dup, placement)
        summary = run_replay(["--input", str(root / name), "--output", str(root / f"out-{name}"),
                              "--journeys", str(journeys)])
        runs[name] = (root / f"out-{name}", summary, uids)
    return runs


@pytest.mark.parametrize("name", ["adjacent", "shuffled"])
def test_duplicate_lines_change_no_decision_and_no_state(replays, name):
    clean, clean_summary, _ = replays["clean"]
    out, summary, uids = replays[name]
    assert uids and summary.reconciles
    assert summary.records_read == clean_summary.records_read + len(uids)
    assert summary.events_decided == clean_summary.events_decided
    for topic in sorted(p.name for p in (clean / "topics").iterdir()):
        if topic != "dead-letter.jsonl":
            assert (out / "topics" / topic).read_bytes() == (clean / "topics" / topic).read_bytes(), topic
    assert sum(clean_summary.decisions.values()) > 5
    for table in ("decisions", "suppressed_candidates", "journey_steps", "customer_snapshots"):
        assert _rows(out, table) == _rows(clean, table), table
    # the identity graph is the same (a redelivered linking event adds a second, identical row: see the note)
    assert set(_rows(out, "identity_links")) == set(_rows(clean, "identity_links"))
    dead = [json.loads(x) for x in (out / "topics" / "dead-letter.jsonl").read_text().splitlines()]
    assert sorted(d["source"] for d in dead if d["reason"] == "duplicate_event") == sorted(uids)
    assert len(dead) == len(uids)


def test_the_clean_run_has_the_decisions_a_duplicate_would_repeat(replays):
    out, summary, _ = replays["clean"]
    audit = [json.loads(x) for x in (out / "topics" / "decisions-audit.jsonl").read_text().splitlines()]
    journeys = {d["journey_id"] for d in audit if d["action"] in ("send", "wait")}
    assert {"flash_promo", "cart_abandonment"} <= journeys, journeys
    assert not summary.dead_letters


# ------------------------------------------------------------------------------------------------ streaming
CONFIG = EngineConfig(journeys_with_test_extras(), "<journeys with test extras>",
                      EngineConfig.from_files().policy_yaml, "<default policy>")
T = int(T0.timestamp() * 1000)


def ev(uid: str, stream: str, type_: str, ts: int, **attrs) -> Event:
    return Event(uid, stream, type_, ts, ("crm:C1",), attrs, {"email": "c1@example.com"})


def history() -> list[Event]:
    return [
        ev("crm/c1", "crm", "contact_created", T - 10 * 24 * HOUR_MS, timezone="UTC", lifecycle_stage="customer"),
        ev("consent/c1", "consent", "consent_granted", T - 10 * 24 * HOUR_MS + 1, channel="email", status="granted"),
        ev("web/w1", "web", "add_to_cart", T, product_id="SKU-1"),
        ev("web/w2", "web", "page_view", T + 2 * HOUR_MS, product_id="FLASH"),
        ev("orders/o1", "orders", "order_placed", T + 5 * HOUR_MS, order_id="O1", product_ids=["SKU-9"]),
        ev("web/w3", "web", "page_view", T + 30 * HOUR_MS, product_id="FLASH"),
    ]


def bounded(events: list[Event]) -> list[str]:
    out = ClusterFold(CONFIG.build_processor()).run([(e, ()) for e in sorted(events, key=lambda e: e.sort_key)],
                                                    END_OF_TIME)
    return sorted(d.decision_id for d in out.decisions)


def _elements(events: list[Event]) -> list[TimestampedValue]:
    return [TimestampedValue((e.ids[0], e), e.ts / 1000) for e in events]


def _run(ts: _TestStream, lateness_ms: int, expected_dead: list[tuple[str, str]], expected: list[str]) -> None:
    last = max(e.ts for e in history())
    for days in (1, 5, 40):  # let event time run on, then end the stream (see test_streaming_state.settle)
        ts = ts.advance_watermark_to((last + days * 24 * HOUR_MS) / 1000)
    ts = ts.advance_watermark_to_infinity()
    opts = PipelineOptions()
    opts.view_as(StandardOptions).streaming = True
    with TestPipeline(options=opts) as p:
        out = p | ts | DecideOrdered(CONFIG, allowed_lateness_ms=lateness_ms)
        assert_that(out[ss.DECISIONS] | beam.Map(lambda d: d.decision_id), equal_to(expected), label="decisions")
        assert_that(out[ss.DEAD] | beam.Map(lambda d: (d.source, d.reason)), equal_to(expected_dead), label="dead")


def test_streaming_duplicates_in_the_pane_later_within_lateness_and_after_the_horizon():
    events = history()
    expected = bounded(events)
    assert len(expected) >= 3
    by_uid = {e.uid: e for e in events}
    lateness = 2 * HOUR_MS
    ts = _TestStream()
    # 1. the contact, its consent and a copy of the consent in the same pane
    ts = ts.add_elements(_elements(events[:2] + [by_uid["consent/c1"]]))
    ts = ts.advance_watermark_to((T - HOUR_MS) / 1000)
    # 2. the cart, then its redelivery after the watermark passed it but within the allowed lateness
    ts = ts.add_elements(_elements([by_uid["web/w1"], by_uid["web/w2"]]))
    ts = ts.advance_watermark_to((T + HOUR_MS) / 1000)  # past w1, before w1 + lateness: not yet decided
    ts = ts.add_elements(_elements([by_uid["web/w1"]]))
    # 3. the order, then (once the customer's horizon has passed it) a redelivery of the promo page view
    ts = ts.add_elements(_elements([by_uid["orders/o1"], by_uid["web/w3"]]))
    ts = ts.advance_watermark_to((T + 10 * HOUR_MS) / 1000)  # horizon T + 8h: w2 (T + 2h) is done
    ts = ts.add_elements(_elements([by_uid["web/w2"]]))
    _run(ts, lateness, [("consent/c1", "duplicate_event"), ("web/w1", "duplicate_event"),
                        ("web/w2", "late_event")], expected)


def test_streaming_every_event_delivered_several_times_in_shuffled_order(copies=3):
    events = history()
    rng = random.Random(copies)
    arrival = [e for e in events for _ in range(copies)]
    rng.shuffle(arrival)
    ts = _TestStream().add_elements(_elements(arrival))  # all before any watermark move: one flush per moment
    dead = [(e.uid, "duplicate_event") for e in events for _ in range(copies - 1)]
    _run(ts, 0, dead, bounded(events))


def test_the_processor_leaves_the_state_byte_identical_on_a_duplicate():
    processor = CONFIG.build_processor()
    for dup in history():
        once, twice = CustomerState(customer_id="crm:C1"), CustomerState(customer_id="crm:C1")
        out_once, out_twice = Outputs(), Outputs()
        events = sorted(history(), key=lambda e: e.sort_key)
        processor.advance(once, events, T + 60 * HOUR_MS, out_once)
        processor.advance(twice, sorted(events + [dup], key=lambda e: e.sort_key), T + 60 * HOUR_MS, out_twice)
        assert twice.to_bytes() == once.to_bytes(), dup.uid
        assert [d.decision_id for d in out_twice.decisions] == [d.decision_id for d in out_once.decisions]
        assert [(d.source, d.reason) for d in out_twice.dead] == [(dup.uid, "duplicate_event")]
        assert out_twice.events == out_once.events
