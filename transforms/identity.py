"""ResolveIdentities (bounded replay): the Beam steps around :mod:`journeyflow.stages.identity.clusters`.

Every event's links are collected into one list and resolved at once, in event-time order, by
``build_cluster_map`` (a single ``ResolveGraph`` step); each event is then keyed by its final cluster with
``key_by_cluster`` against that map as a side input.  Events arrive in batches (``EventBatch``: the replay's
``ParseAndValidate`` with ``batch``) and leave as ``(cluster id, ClusterItems)``: one element per cluster and
bundle (up to :data:`FLUSH_ITEMS` items buffered), not one per event (issue 22).  The link set is small next to
the events (a few links per linking event); for very large replays the same graph can be built in an identity store instead (see
``journeyflow.adapters.identity_store``). The in-process equivalent is ``journeyflow.stages.bounded``.
"""
from __future__ import annotations

import sys
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.typehints import typehints

from apache_beam.runners.worker.statecache import CacheAware
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from journeyflow.stages.identity.clusters import KEYER_TUPLES, ClusterKeyer, ClusterMap, build_cluster_map
from journeyflow.stages.identity.opt_outs import cluster_copies
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, event_pairs, linking_types, links_for
from journeyflow.stages.parse_fast import make_event

from journeyflow.transforms.coders import KEYED_ITEMS, Batch, ClusterRows, EventRows, event_rows, typed

#: Items a KeyByCluster worker buffers before it emits its clusters' lists (bounds its memory on Dataflow).
FLUSH_ITEMS = 200_000


class WeighedMap(CacheAware):
    """The cluster map as ``KeyByCluster``'s side input, with its weight for Beam's state cache worked out from its
    sizes (``weight``, bytes: ~120 a mapped identifier, ~300 an accepted link) instead of measured: the SDK
    worker's cache weighs every side input it loads by walking all of its objects (``statecache.get_deep_size``,
    objsize), 58 ms of a demo replay for a map that is read, never changed.  ``CacheAware`` is Beam's hook for
    it: the map's parts are not walked (:meth:`get_referents_for_cache`) and its ``sys.getsizeof`` is the weight."""

    __slots__ = ("cmap", "weight")

    def __init__(self, cmap: ClusterMap):
        self.cmap = cmap
        self.weight = (sys.getsizeof(cmap.root_of) + sys.getsizeof(cmap.accepted) + 120 * len(cmap.root_of)
                       + 300 * len(cmap.accepted))

    def get_referents_for_cache(self) -> list[Any]:
        """None: the weight stands for the whole map."""
        return []

    def __sizeof__(self) -> int:
        return self.weight

    def __reduce__(self):
        return WeighedMap, (self.cmap,)


class _ResolveFn(beam.DoFn):
    def __init__(self, rules: LinkRules):
        self.rules = rules

    def process(self, group: tuple[str, list[list[LinkRecord]]]) -> Iterator[Any]:
        _key, batches = group
        cmap, rows = build_cluster_map([lk for b in batches for lk in b], self.rules)
        yield WeighedMap(cmap)
        if rows:
            yield beam.pvalue.TaggedOutput("links", Batch(rows))  # one list of identity_links rows


#: The one key every batch of links is grouped under (``CollectLinks``: all links meet in one ``ResolveGraph`` call).
ALL_LINKS = ""
#: ``(ALL_LINKS, Batch of LinkRecords)``: ``ExtractLinks``' output.
KEYED_LINKS = typehints.Tuple[str, Batch]


def _batch_links(batch: list, rules: LinkRules) -> tuple[str, Batch]:
    linking = linking_types(rules)
    return ALL_LINKS, Batch(LinkRecord(a, b, ev.ts, ev.uid, ev.stream) for ev in batch  # (``event_links``)
                            if len(ev.ids) > 1 for a, b in event_pairs(ev, linking, rules))


class _KeyByClusterFn(beam.DoFn):
    """EventRows → ``(cluster id, ClusterRows)``, buffered per cluster over the bundle (:data:`FLUSH_ITEMS`)."""

    def __init__(self, rules: LinkRules):
        self.rules = rules
        self._keyer: ClusterKeyer | None = None
        self._linking = linking_types(rules)

    def start_bundle(self) -> None:
        """Empty buffer."""
        self._by_cluster: dict[str, ClusterRows] = {}
        self._n = 0

    def process(self, rows: list, weighed: WeighedMap) -> Iterator[tuple[str, ClusterRows]]:
        """Keys every event of ``rows`` (its field tuples: ``EventRows``) by its final cluster (``key_by_cluster``,
        through a ``ClusterKeyer``); an opt-out naming identifiers of other clusters also goes, as a status-only
        copy, to each of them (``identity.opt_outs.cluster_copies``).  Each item is the event's fields plus its
        accepted links; an Event is built only for an event ``key`` must look at (one that links, or whose
        identifier tuple is not known to lie in one cluster): the others' fields pass on as they came."""
        keyer, buf, cmap, rules = self._keyer, self._by_cluster, weighed.cmap, self.rules
        if keyer is None or keyer.cmap is not cmap:  # (one keyer per map: it remembers each identifier tuple's cluster)
            self._keyer = keyer = ClusterKeyer(cmap, rules, limit=KEYER_TUPLES)
        key, known, linking, make = keyer.key, keyer._of_ids, self._linking, make_event
        for row in rows:
            ids = row[4]
            pairs: Any = ()
            if len(ids) > 1:  # (``event_pairs``, inlined on the fields)
                types = linking.get(row[1])
                if types is not None and (types == "*" or row[2] in types):
                    pairs = links_for(row[1], row[2], ids, rules)
            hit = known.get(ids)
            if hit is not None and hit[1] is None and not pairs:  # (``key``'s answer for a tuple seen before, all in
                cluster, item = hit[0], row + _NO_LINKS            # its cluster, of an event that links nothing)
            else:
                ev = make(*row)
                cluster, (kept, links) = key(ev, pairs)
                item = (kept.uid, kept.stream, kept.type, kept.ts, kept.ids, kept.attrs, kept.contact, links)
                if kept is not ev:  # identifiers of other clusters: an opt-out reaches them too (``opt_outs``)
                    for other, (copy, copy_links) in cluster_copies(ev, cluster, cmap.root_of):
                        items = buf.get(other)
                        if items is None:
                            buf[other] = items = ClusterRows()
                        items.append((copy.uid, copy.stream, copy.type, copy.ts, copy.ids, copy.attrs, copy.contact,
                                      copy_links))
            items = buf.get(cluster)
            if items is None:
                buf[cluster] = items = ClusterRows()
            items.append(item)
        self._n += len(rows)
        if self._n >= FLUSH_ITEMS:
            yield from buf.items()
            self.start_bundle()

    def finish_bundle(self) -> Iterator[WindowedValue]:
        """The bundle's buffered clusters."""
        for kv in self._by_cluster.items():
            yield WindowedValue(kv, MIN_TIMESTAMP, [GlobalWindow()])
        self.start_bundle()


def _itself(value: Any) -> Any:
    return value


#: An unlinked item's links, appended to its event's fields.
_NO_LINKS: tuple = ((),)


class ResolveIdentities(beam.PTransform):
    """EventBatches → (cluster id, ClusterItems: [(event, accepted links)]); also ``identity_links`` rows (accepted
    and refused), as lists."""

    def __init__(self, rules: LinkRules, label: str | None = None):
        super().__init__(label)
        self.rules = rules

    def expand(self, events):
        """``(keyed, link rows)``: steps ``ExtractLinks`` → ``CollectLinks`` → ``ResolveGraph`` → ``ClusterMap``,
        ``EventRows`` → ``KeyByCluster`` (the events wait for the map as their field tuples, ``EventRows``, and are keyed as
        such: issue 22).

        ``CollectLinks`` is a GroupByKey under one key, not ``combiners.ToList`` (a CombineGlobally: eight more
        steps in the graph, each with its fixed cost per replay: issue 22).  Every EventBatch (never empty) gives
        one list of links, so the map exists whenever there is an event to key; with no events at all nothing is
        grouped, nothing is keyed and no identity_links row is written, as before."""
        rules = self.rules
        resolved = (
            events
            | "ExtractLinks" >> beam.Map(_batch_links, rules).with_output_types(KEYED_LINKS)
            | "CollectLinks" >> beam.GroupByKey()
            | "ResolveGraph" >> beam.ParDo(_ResolveFn(rules)).with_outputs("links", main="map")
        )
        # the side input is read from a single-output step: Beam's bundle-based DirectRunner adds every output bundle
        # of a multi-output step to a view of one of them (``EvaluationContext._update_side_inputs_container`` looks at
        # the first bundle only): the ``links`` lists reached the map's view (or, first in order, left it empty)
        cluster_map = resolved.map | "ClusterMap" >> beam.Map(_itself)
        rows = events | "EventRows" >> beam.Map(event_rows).with_output_types(EventRows)  # (fused with the parse)
        keyed = rows | "KeyByCluster" >> beam.ParDo(
            _KeyByClusterFn(rules), beam.pvalue.AsSingleton(cluster_map)).with_output_types(KEYED_ITEMS)
        return keyed, typed(resolved.links)
