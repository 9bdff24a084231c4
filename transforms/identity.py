"""ResolveIdentities (bounded replay): the Beam steps around :mod:`journeyflow.stages.identity.clusters`.

Every event's links are collected into one list and resolved at once, in event-time order, by
``build_cluster_map`` (a single ``ResolveGraph`` step); each event is then keyed by its final cluster with
``key_by_cluster`` against that map as a side input. The link set is small next to the events (a few links per
linking event); for very large replays the same graph can be built in an identity store instead (see
``journeyflow.adapters.identity_store``). The in-process equivalent is ``journeyflow.stages.bounded``.
"""
from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam

from journeyflow.stages.identity.clusters import build_cluster_map, key_by_cluster
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, event_links
from journeyflow.transforms.coders import KEYED_ITEM


class _ResolveFn(beam.DoFn):
    def __init__(self, rules: LinkRules):
        self.rules = rules

    def process(self, links: list[LinkRecord]) -> Iterator[Any]:
        cmap, rows = build_cluster_map(links, self.rules)
        yield cmap
        for r in rows:
            yield beam.pvalue.TaggedOutput("links", r)


class ResolveIdentities(beam.PTransform):
    """Events → (cluster id, (event, accepted links)); also ``identity_links`` rows (accepted and refused)."""

    def __init__(self, rules: LinkRules, label: str | None = None):
        super().__init__(label)
        self.rules = rules

    def expand(self, events):
        """``(keyed, link rows)``: steps ``ExtractLinks`` → ``CollectLinks`` → ``ResolveGraph``, ``KeyByCluster``."""
        rules = self.rules
        resolved = (
            events
            | "ExtractLinks" >> beam.FlatMap(event_links, rules)
            | "CollectLinks" >> beam.combiners.ToList()
            | "ResolveGraph" >> beam.ParDo(_ResolveFn(rules)).with_outputs("links", main="map")
        )
        keyed = events | "KeyByCluster" >> beam.Map(
            key_by_cluster, beam.pvalue.AsSingleton(resolved.map), rules).with_output_types(KEYED_ITEM)
        return keyed, resolved.links
