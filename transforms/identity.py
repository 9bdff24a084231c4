"""Identity resolution stages.

Bounded replay (``ResolveIdentities``): every event's links (per the link rules) are collected and applied in
event-time order ``(ts, event_id)`` to one union-find with the over-merge guards, which makes the clusters
independent of the order the files were read in.  Each event is then keyed by its *final* cluster, carrying the
links it contributed that were accepted; ``ClusterFold`` re-applies those links at their event time inside the
cluster, so a decision before a login still sees two separate customers, and one after sees the union.

The link set is small next to the events (a few links per linking event) and is resolved in one place; for very
large replays the same graph can be built in the identity store instead (see ``journeyflow.adapters.identity_store``).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, NamedTuple

import apache_beam as beam

from journeyflow.stages.identity import LinkRecord, LinkRules, links_for, rank_key, resolve
from journeyflow.model.events import Event


class ClusterMap(NamedTuple):
    """Result of resolving all links: identifier → canonical cluster id, and the accepted (event uid, a, b)."""

    root_of: dict[str, str]
    accepted: frozenset[tuple[str, str, str]]


def event_links(ev: Event, rules: LinkRules) -> list[LinkRecord]:
    return [LinkRecord(a, b, ev.ts, ev.uid, ev.stream) for a, b in links_for(ev.stream, ev.type, ev.ids, rules)]


def build_cluster_map(links: Iterable[LinkRecord], rules: LinkRules) -> tuple[ClusterMap, list[dict[str, Any]]]:
    res = resolve(links, rules)
    graph = res.graph
    root_of: dict[str, str] = {}
    for root, members in graph.clusters().items():
        for m in members:
            root_of[m] = root
    accepted = frozenset((lk.event_id, lk.a, lk.b) for lk in res.accepted)
    rows = [_link_row(lk, root_of.get(lk.a, lk.a), "accepted", None) for lk in res.accepted]
    rows += [_link_row(lk, root_of.get(lk.a, lk.a), "refused", reason) for lk, reason in res.refused]
    return ClusterMap(root_of, accepted), rows


def _link_row(lk: LinkRecord, customer_id: str, status: str, reason: str | None) -> dict[str, Any]:
    return {"identifier_a": lk.a, "identifier_b": lk.b, "customer_id": customer_id, "event_id": lk.event_id,
            "stream": lk.stream, "ts": lk.ts, "status": status, "reason": reason}


def key_by_cluster(ev: Event, cmap: ClusterMap, rules: LinkRules) -> tuple[str, tuple[Event, tuple]]:
    """(final cluster id, (event restricted to that cluster's identifiers, accepted links of the event))."""
    root_of = cmap.root_of
    primary = min(ev.ids, key=rank_key)
    cluster = root_of.get(primary, primary)
    ids = tuple(k for k in ev.ids if root_of.get(k, k) == cluster)
    if len(ids) != len(ev.ids):
        ev = Event(ev.uid, ev.stream, ev.type, ev.ts, ids, ev.attrs, ev.contact)
    links = tuple((a, b) for a, b in links_for(ev.stream, ev.type, ids, rules)
                  if (ev.uid, a, b) in cmap.accepted)
    return cluster, (ev, links)


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
        rules = self.rules
        resolved = (
            events
            | "ExtractLinks" >> beam.FlatMap(event_links, rules)
            | "CollectLinks" >> beam.combiners.ToList()
            | "ResolveGraph" >> beam.ParDo(_ResolveFn(rules)).with_outputs("links", main="map")
        )
        keyed = events | "KeyByCluster" >> beam.Map(
            key_by_cluster, beam.pvalue.AsSingleton(resolved.map), rules)
        return keyed, resolved.links
