"""The pure helpers of ``make bench`` section 3 (journeyflow.tools.bench_stream), on synthetic numbers.  No timing."""
from __future__ import annotations

import json
import math

import pytest

from journeyflow.tools import bench_stream as bs


def test_percentile_is_nearest_rank():
    vals = list(range(1, 101))  # 1..100
    assert bs.percentile(vals, 50) == 50
    assert bs.percentile(vals, 99) == 99
    assert bs.percentile(vals, 100) == 100
    assert bs.percentile(vals, 0) == 1
    assert bs.percentile([7], 99) == 7
    assert bs.percentile(list(reversed(vals)), 90) == 90  # order does not matter
    assert math.isnan(bs.percentile([], 50))


def test_latency_summary_in_seconds():
    s = bs.latency_summary([1000, 2000, 3000, 4000])
    assert s["n"] == 4
    assert s["p50_s"] == 2.0 and s["p99_s"] == 4.0 and s["max_s"] == 4.0
    assert s["mean_s"] == pytest.approx(2.5)
    assert bs.latency_summary([]) == {"n": 0}


def test_count_at_interpolates_and_clamps():
    samples = [(10.0, 0), (12.0, 100), (14.0, 100), (16.0, 300)]
    assert bs.count_at(samples, 11.0) == pytest.approx(50)
    assert bs.count_at(samples, 13.0) == pytest.approx(100)
    assert bs.count_at(samples, 15.5) == pytest.approx(250)
    assert bs.count_at(samples, 5.0) == 0
    assert bs.count_at(samples, 99.0) == 300
    assert math.isnan(bs.count_at([], 1.0))


def test_rate_over_a_window():
    samples = [(float(t), 100.0 * t) for t in range(31)]  # 100/s
    assert bs.rate_over(samples, 5.0, 30.0) == pytest.approx(100.0)
    assert bs.rate_over(samples, 5.5, 7.25) == pytest.approx(100.0)
    stalled = [(0.0, 0.0), (10.0, 50.0), (20.0, 50.0)]
    assert bs.rate_over(stalled, 10.0, 20.0) == 0.0
    assert bs.rate_over(stalled, 0.0, 20.0) == pytest.approx(2.5)
    assert bs.rate_over(stalled, -10.0, 10.0) == pytest.approx(5.0)  # clipped to the sampled span
    assert math.isnan(bs.rate_over(stalled, 30.0, 40.0))
    assert math.isnan(bs.rate_over(stalled, 5.0, 5.0))


def test_event_latencies_count_only_decisions_of_published_events_at_their_time():
    published = {"web/e1": (1_000, 1_001), "support/m1": (2_000, 2_000)}
    decisions = [
        (3_500, "web/e1", 1_001),  # event-triggered: 2.5 s
        (4_100, "support/m1", 2_000),  # 2.1 s
        (9_000, "web/e1", 60_000),  # a deferred candidate decided later, keeps its trigger id: not counted
        (5_000, "welcome:settle:1:2", 2),  # a timer
        (5_000, "web/unknown", 1),  # not published in this phase
        (5_000, None, None),
    ]
    assert bs.event_latencies(decisions, published) == [2_500, 2_100]


def test_max_sustained_takes_the_saturated_phase():
    kept = {"phases": [{"read_per_s": 99.0, "kept_up": True}, {"read_per_s": 250.0, "kept_up": False}]}
    assert bs.max_sustained(kept) == 250.0
    never = {"phases": [{"read_per_s": 7.0, "kept_up": False}, {"offered_rate": 400.0, "skipped": "saturated"}]}
    assert bs.max_sustained(never) == 7.0
    always = {"phases": [{"read_per_s": 99.0, "kept_up": True}, {"read_per_s": 390.0, "kept_up": True}]}
    assert bs.max_sustained(always) == 390.0  # a lower bound: it kept up with everything offered
    assert math.isnan(bs.max_sustained({}))


def test_bench_lines_insert_markers_that_parse_as_support_events(tmp_path):
    from journeyflow.stages.identity.keys import Hasher
    from journeyflow.model.events import Event
    from journeyflow.stages.parse import Parser

    web = [{"event_id": f"w{i}", "ts": 1_790_848_800_000 + i * 1000, "anonymous_id": "a1", "type": "page_view"}
           for i in range(9)]
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in web))
    lines = bs.bench_lines(tmp_path, marker_every=3)
    assert [ln.stream for ln in lines] == ["web", "web", "support"] * 4 + ["web"]
    assert [ln.event_id for ln in lines if ln.stream == "web"] == [f"w{i}" for i in range(9)]
    markers = [ln for ln in lines if ln.stream == "support"]
    assert [m.event_id for m in markers] == [f"bench-marker-{k:06d}" for k in range(4)]
    ev = Parser(Hasher(b"test-key")).parse("support", markers[0].data)
    assert isinstance(ev, Event)
    assert ev.uid == "support/bench-marker-000000" and ev.type == "ticket_escalated"
    assert bs.bench_lines(tmp_path, marker_every=0) == bs.bench_lines(tmp_path, marker_every=0)
    assert len(bs.bench_lines(tmp_path, marker_every=0)) == 9


def test_the_streaming_profile_counts_flushes_of_the_compiled_planner(tmp_path, monkeypatch):
    """Section 3a's flushes per event: ``plan_flush`` is compiled, so cProfile saw no call and the row said 0.00
    flushes per event.  Counted by a wrapper now: at least one flush per customer that had an event, and the
    module's own ``plan_flush`` is put back after the run."""
    from journeyflow.tools import bench_stream_cpu as bsc
    from journeyflow.tools.generator import generate
    from journeyflow.transforms import decide_streaming

    monkeypatch.setenv("JOURNEYFLOW_HASH_KEY", "test-key")
    generate(20, 2, 3, tmp_path / "data")
    records = bsc.raw_records(tmp_path / "data", 150)
    before = decide_streaming.plan_flush
    prof = bsc.profile_journeyflow(records)
    assert decide_streaming.plan_flush is before
    assert prof["events_in"] > 0 and prof["flushes"] > 0
    assert prof["flushes_per_event"] == prof["flushes"] / prof["events_in"]


def test_scale_on_paper_rounds_workers_up(monkeypatch):
    """Section 5 said "2 / 0" for 10,000 events/s: 1.8 vCPUs rounded to 2 and 0.44 workers to 0.  A fraction of a
    worker is a whole worker; the vCPUs keep one decimal."""
    from journeyflow.tools import bench

    monkeypatch.setattr(bench, "RESULTS", {"replay": {"in-process (default)": {"full_events_per_s": 1e6 / 70.7}}})
    monkeypatch.setattr(bench, "ROWS", [])
    bench.scale_on_paper()
    for rate in (10_000, 100_000):
        vcpus = bench.RESULTS["scale"]["rates"][rate]["vcpus"]
        (value,) = [v for _s, f, v, _t in bench.ROWS if f.startswith(f"{rate:,} events/s")]
        shown_vcpus, shown_workers = (float(x.replace(",", "")) for x in value.split(" / "))
        assert shown_workers == math.ceil(vcpus / 4) >= 1
        assert shown_vcpus == round(vcpus, 1)
