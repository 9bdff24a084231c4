"""DecideForCustomers (bounded): group each identity cluster's events, sort them by event time, fold them through
the per-customer core (state → journeys → arbitration), timers included.

This is the cheapest event-time-correct shape on a batch runner (one shuffle, a sort per key, a plain-Python
fold); the streaming path (``transforms.decide_streaming``) drives the very same ``CustomerProcessor`` from Beam
state and event-time timers, so both give the same decisions for the same events.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.config.engine import EngineConfig
from journeyflow.model.events import Event
from journeyflow.stages.bounded import fold_cluster
from journeyflow.stages.processor import END_OF_TIME, ClusterFold
from journeyflow.stages.snapshot import snapshot_row

DECISIONS = "decisions"
STEPS = "journey_steps"
DEAD = "dead_letter"
SNAPSHOTS = "customer_snapshots"


class FoldClusterFn(beam.DoFn):
    def __init__(self, config: EngineConfig):
        self.config = config
        self.decisions = Metrics.counter("journeyflow", "decisions")
        self.duplicates = Metrics.counter("journeyflow", "duplicate_events")
        self.events = Metrics.counter("journeyflow", "events_decided")
        self.errors = Metrics.counter("journeyflow", "processing_errors")

    def setup(self) -> None:
        self.fold = ClusterFold(self.config.build_processor())

    def process(self, element: tuple[str, Iterable[tuple[Event, tuple]]], until: int | None) -> Iterator[Any]:
        _cluster, items = element
        items = list(items)
        out = fold_cluster(self.fold, items, until)  # the in-process bounded path's per-cluster step
        self.decisions.inc(len(out.decisions))
        self.events.inc(out.events)
        self.duplicates.inc(sum(dl.reason == "duplicate_event" for dl in out.dead))
        self.errors.inc(sum(dl.reason == "processing_error" for dl in out.dead))
        for d in out.decisions:
            yield d
        for s in out.steps:
            yield beam.pvalue.TaggedOutput(STEPS, s)
        for dl in out.dead:
            yield beam.pvalue.TaggedOutput(DEAD, dl)
        # the snapshot is taken at the replay horizon (or, with --until end, at the cluster's last event)
        at = until if until is not None and until < END_OF_TIME else max(ev.ts for ev, _ in items)
        for st in out.final_states.values():
            yield beam.pvalue.TaggedOutput(SNAPSHOTS, snapshot_row(st, at))


class DecideForCustomers(beam.PTransform):
    """(cluster, (event, links)) → decisions (main), journey steps, dead letters (duplicates), snapshots."""

    def __init__(self, config: EngineConfig, until, label: str | None = None):
        super().__init__(label)
        self.config = config
        self.until = until  # an int, None, or a singleton PCollection (max event time of the input)

    def expand(self, keyed):
        until = self.until
        if isinstance(until, beam.pvalue.PCollection):
            until = beam.pvalue.AsSingleton(until)
        return (
            keyed
            | "GroupByCustomer" >> beam.GroupByKey()
            | "FoldCustomer" >> beam.ParDo(FoldClusterFn(self.config), until).with_outputs(
                STEPS, DEAD, SNAPSHOTS, main=DECISIONS)
        )
