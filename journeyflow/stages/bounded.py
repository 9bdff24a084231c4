"""The bounded decision path in process, without Beam: events → identity clusters → ``ClusterFold`` → outputs.

This is the code the Beam replay runs, step for step: ``transforms.identity.ResolveIdentities`` calls the same
:mod:`journeyflow.stages.identity.clusters` functions as :func:`resolve_clusters`, and
``transforms.decide.FoldClusterFn`` folds each cluster with :func:`fold_cluster`. ``journeyflow compare`` and the
bench's core figures call :func:`resolve_clusters` and :func:`fold_clusters` directly, so what they measure is what
the pipeline decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from journeyflow.model.events import Event
from journeyflow.stages.identity.clusters import ClusterMap, build_cluster_map, key_by_cluster
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, event_links
from journeyflow.stages.processor import ClusterFold, CustomerProcessor, Outputs

__all__ = ["BoundedClusters", "fold_cluster", "fold_clusters", "resolve_clusters"]

#: One item of a cluster: an event (restricted to the cluster's identifiers) and its accepted links ``(a, b)``.
ClusterItem = tuple[Event, tuple[tuple[str, str], ...]]


class BoundedClusters(NamedTuple):
    """Every event of a bounded input keyed by its final identity cluster.

    ``cmap``: identifier → cluster and the accepted links; ``link_rows``: the ``identity_links`` table rows;
    ``links``: every link extracted, in input event order; ``groups``: cluster id → its items, in input order."""

    cmap: ClusterMap
    link_rows: list[dict[str, Any]]
    links: list[LinkRecord]
    groups: dict[str, list[ClusterItem]]

    def cluster_of(self, events: Iterable[Event]) -> dict[str, str]:
        """Identifier key → cluster id for every identifier of ``events`` (unlinked ones map to themselves)."""
        out = dict(self.cmap.root_of)
        for ev in events:
            for k in ev.ids:
                out.setdefault(k, k)
        return out

    def accepted_links(self) -> list[tuple[int, str, str]]:
        """``(ts, a, b)`` of every accepted link, in input event order."""
        accepted = self.cmap.accepted
        return [(lk.ts, lk.a, lk.b) for lk in self.links if (lk.event_id, lk.a, lk.b) in accepted]


def resolve_clusters(events: Iterable[Event], rules: LinkRules) -> BoundedClusters:
    """Resolve every link of ``events`` at once and key each event by its final cluster (the replay's
    ``ResolveIdentities`` step)."""
    events = events if isinstance(events, (list, tuple)) else list(events)
    links = [lk for ev in events for lk in event_links(ev, rules)]
    cmap, rows = build_cluster_map(links, rules)
    groups: dict[str, list[ClusterItem]] = defaultdict(list)
    for ev in events:
        cluster, item = key_by_cluster(ev, cmap, rules)
        groups[cluster].append(item)
    return BoundedClusters(cmap, rows, links, dict(groups))


def fold_cluster(fold: ClusterFold, items: Iterable[ClusterItem], until: int | None) -> Outputs:
    """Sort one cluster's items by ``Event.sort_key`` and fold them (the replay's ``FoldCustomer`` step).

    ``until``: the replay horizon in epoch ms (timers due up to it fire), or None for no timers past the events."""
    return fold.run(sorted(items, key=lambda it: it[0].sort_key), until)


def fold_clusters(clusters: BoundedClusters, processor: CustomerProcessor, until: int | None
                  ) -> Iterator[tuple[str, Outputs]]:
    """``(cluster id, outputs)`` of every cluster, in cluster id order (lazily: one cluster's outputs at a time)."""
    fold = ClusterFold(processor)
    for cluster in sorted(clusters.groups):
        yield cluster, fold_cluster(fold, clusters.groups[cluster], until)

