"""DecideForCustomers (bounded): group each identity cluster's events, sort them by event time, fold them through
the per-customer core (state → journeys → arbitration), timers included.

This is the cheapest event-time-correct shape on a batch runner (one shuffle, a sort per key, a plain-Python
fold); the streaming path (``transforms.decide_streaming``) drives the very same ``CustomerProcessor`` from Beam
state and event-time timers, so both give the same decisions for the same events.  Output tags and counters are
shared with it (``transforms.outputs``).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple

import apache_beam as beam

from journeyflow.config.engine import EngineConfig
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from journeyflow.model.events import ADDRESS_STREAM, Event
from journeyflow.stages.bounded import ClusterFold, fold_cluster
from journeyflow.stages.processor import END_OF_TIME
from journeyflow.stages.snapshot import snapshot_row
from journeyflow.transforms.coders import Batch, cluster_pairs, typed
from journeyflow.transforms.outputs import DEAD, DECISIONS, SNAPSHOTS, STEPS, TAGGED, DecideCounters

#: Outputs a FoldClusterFn buffers (batched mode) before it emits them as lists.
FLUSH_OUTPUTS = 50_000


class LatestOf(NamedTuple):
    """A horizon given as the latest of a PCollection's values (epoch ms; None when it is empty): the replay's
    ``EventTimes`` (each EventBatch's latest event time).  :class:`DecideForCustomers` reads the values as a list
    side input and takes their maximum: what ``CombineGlobally(max)`` gave as a singleton, without the eight steps
    of a global combine in the graph (each with its fixed cost per replay: issue 22)."""

    values: beam.PCollection


class FoldClusterFn(beam.DoFn):
    """(cluster key, [(event, accepted links of that event)]) → the cluster's outputs (tags of
    ``transforms.outputs``), folded by :class:`~journeyflow.stages.bounded.ClusterFold` up to ``until`` (epoch
    ms; None: no timers fire after the last event).

    ``batched`` (the replay): the grouped values are ``ClusterItems`` lists (concatenated), and the outputs are
    buffered and emitted as one list per tag (when :data:`FLUSH_OUTPUTS` are buffered and at the end of the bundle)
    instead of one element per record (issue 22).  ``latest``: ``until`` arrives as a list of times (a
    :class:`LatestOf` horizon) and the fold runs up to their maximum (None for an empty list)."""

    def __init__(self, config: EngineConfig, batched: bool = False, latest: bool = False):
        self.config = config
        self.batched = batched
        self.latest = latest
        self.counters = DecideCounters()

    def start_bundle(self) -> None:
        """Empty output buffers (batched mode); only this bundle's failed conditions are counted."""
        self.counters.start_bundle()
        self._out: dict[str, list] = {DECISIONS: Batch(), STEPS: Batch(), DEAD: Batch(), SNAPSHOTS: Batch()}
        self._n = 0

    def _flush(self, windowed: bool) -> Iterator[Any]:
        for tag, items in self._out.items():
            if items:
                v = WindowedValue(items, MIN_TIMESTAMP, [GlobalWindow()]) if windowed else items
                yield v if tag == DECISIONS else beam.pvalue.TaggedOutput(tag, v)
        self.start_bundle()

    def finish_bundle(self) -> Iterator[Any]:
        """Batched mode: the bundle's remaining outputs, one list per tag."""
        if self.batched:
            yield from self._flush(True)

    def setup(self) -> None:
        """One ClusterFold (and CustomerProcessor) per worker."""
        self.fold = ClusterFold(self.config.build_processor())

    def process(self, element: tuple[str, Iterable[tuple[Event, tuple]]], until: int | None) -> Iterator[Any]:
        """Sorts the cluster's items by event sort key, folds them, emits and counts the outputs, then one snapshot row
        per customer of the cluster."""
        if self.latest:
            until = max(until, default=None)
        _cluster, items = element
        items = [it for batch in items for it in cluster_pairs(batch)] if self.batched else list(items)
        out = fold_cluster(self.fold, items, until)  # the in-process bounded path's per-cluster step
        # the snapshot is taken at the replay horizon (or, with --until end, at the cluster's last event)
        # (address-status copies are not the cluster's own events: they do not move its last event time)
        at = until if until is not None and until < END_OF_TIME else max(
            (ev.ts for ev, _ in items if ev.stream != ADDRESS_STREAM), default=max(ev.ts for ev, _ in items))
        attributes, stale_ms = self.fold.p.engine.attributes, self.fold.p.engine.open_ticket_ms
        if self.batched:
            self.counters.count(out)
            buf = self._out
            buf[DECISIONS].extend(out.decisions)
            buf[STEPS].extend(out.steps)
            buf[DEAD].extend(out.dead)
            buf[SNAPSHOTS].extend(snapshot_row(st, at, attributes=attributes, open_ticket_ms=stale_ms) for st in out.final_states.values())
            self._n += len(out.decisions) + len(out.steps) + len(out.final_states)
            if self._n >= FLUSH_OUTPUTS:
                yield from self._flush(False)
            return
        yield from self.counters.emit(out)
        for st in out.final_states.values():
            yield beam.pvalue.TaggedOutput(SNAPSHOTS, snapshot_row(st, at, attributes=attributes, open_ticket_ms=stale_ms))


class DecideForCustomers(beam.PTransform):
    """(cluster, (event, links)) → decisions (main) and the tagged outputs of ``transforms.outputs`` (journey
    steps, dead letters (duplicates, processing errors), snapshots; no state transfers in bounded replay).

    ``until``: the replay horizon in epoch ms, ``None``, a singleton PCollection (the input's max event time), or
    a :class:`LatestOf` (the maximum of a PCollection's times).
    ``batched``: the input is ``(cluster, ClusterItems)`` and every output is a list (:class:`FoldClusterFn`)."""

    def __init__(self, config: EngineConfig, until, label: str | None = None, batched: bool = False):
        super().__init__(label)
        self.config = config
        self.until = until
        self.batched = batched

    def expand(self, keyed):
        """``GroupByCustomer`` then ``FoldCustomer`` (all tags of ``transforms.outputs``)."""
        until, latest = self.until, isinstance(self.until, LatestOf)
        if latest:
            until = beam.pvalue.AsList(until.values)
        elif isinstance(until, beam.pvalue.PCollection):
            until = beam.pvalue.AsSingleton(until)
        out = (
            keyed
            | "GroupByCustomer" >> beam.GroupByKey()
            | "FoldCustomer" >> beam.ParDo(FoldClusterFn(self.config, self.batched, latest), until).with_outputs(
                *TAGGED, main=DECISIONS)
        )
        if self.batched:  # lists of records: BatchCoder (transforms.coders)
            for tag in (DECISIONS, *TAGGED):
                typed(out[tag])
        return out
