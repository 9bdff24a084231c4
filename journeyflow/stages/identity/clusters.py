"""Bounded identity clustering: every link of a replay resolved at once, then each event keyed by its final cluster.

Every event's links (per the link rules) are collected and applied in event-time order ``(ts, event_id)`` to one
guarded union-find (:func:`~.graph.resolve`), which makes the clusters independent of the order the files were
read in. Each event is then keyed by its *final* cluster (:func:`key_by_cluster`), carrying the links it
contributed that were accepted; the bounded fold (:class:`journeyflow.stages.bounded.ClusterFold`) re-applies those
links at their event time inside the cluster, so a decision before a login still sees two separate customers, and
one after sees the union.

Plain Python: the Beam replay (``transforms.identity.ResolveIdentities``) and the in-process bounded path
(:mod:`journeyflow.stages.bounded`) both call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any, NamedTuple

from journeyflow.model.events import Event
from journeyflow.stages.identity.graph import resolve
from journeyflow.stages.identity.keys import canonical
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, links_for
from journeyflow.stages.mailboxes import refused_contact

__all__ = ["KEYER_TUPLES", "ClusterKeyer", "ClusterMap", "build_cluster_map", "key_by_cluster", "link_row",
           "resolve_cluster_map"]


class ClusterMap(NamedTuple):
    """Result of resolving all links: identifier → canonical cluster id, and the accepted ``(event uid, a, b)``.

    Identifiers that took part in no link are absent from ``root_of`` (they are their own cluster)."""

    root_of: dict[str, str]
    accepted: frozenset[tuple[str, str, str]]


def link_row(a: str, b: str, customer_id: str, event_id: str, stream: str, ts: int, status: str,
             reason: str | None) -> dict[str, Any]:
    """One ``identity_links`` table row: a link ``a``–``b`` of event ``event_id`` (``ts`` in epoch ms), the
    cluster it ended in, ``status`` ``"accepted"`` or ``"refused"`` and the guard's ``reason`` (None if accepted).
    """
    return {"identifier_a": a, "identifier_b": b, "customer_id": customer_id, "event_id": event_id,
            "stream": stream, "ts": ts, "status": status, "reason": reason}


def build_cluster_map(links: Iterable[LinkRecord], rules: LinkRules) -> tuple[ClusterMap, list[dict[str, Any]]]:
    """Resolve every link at once (:func:`~.graph.resolve`): the cluster map and the ``identity_links`` rows
    (accepted first, then refused, each in application order)."""
    cmap, rows = resolve_cluster_map(links, rules)
    return cmap, list(rows)


def resolve_cluster_map(links: Iterable[LinkRecord], rules: LinkRules
                        ) -> tuple[ClusterMap, Iterator[dict[str, Any]]]:
    """:func:`build_cluster_map` with the ``identity_links`` rows made one at a time as the iterator is consumed
    (the same rows in the same order), for a caller that writes them away: a bucketed replay of 100,000 customers
    (352,000 links) held them all as dicts at once, ~0.7 KB each (issue 22, flat memory)."""
    res = resolve(links, rules)
    root_of = res.graph.root_map()
    accepted = frozenset(map(_ACCEPTED_KEY, res.accepted))  # ((event_id, a, b) of each: no generator frame)
    return ClusterMap(root_of, accepted), _link_rows(res.accepted, res.refused, root_of)


def _link_rows(accepted: list[LinkRecord], refused: list, root_of: dict[str, str]) -> Iterator[dict[str, Any]]:
    for lk in accepted:
        yield link_row(lk.a, lk.b, root_of.get(lk.a, lk.a), lk.event_id, lk.stream, lk.ts, "accepted", None)
    for lk, reason in refused:
        yield link_row(lk.a, lk.b, root_of.get(lk.a, lk.a), lk.event_id, lk.stream, lk.ts, "refused", reason)


_ACCEPTED_KEY = attrgetter("event_id", "a", "b")

#: identifier tuples a long-lived :class:`ClusterKeyer` (a Beam worker's, a bucketed replay's) remembers before it
#: starts again: bounds its memory, never changes a result
KEYER_TUPLES = 65_536


class ClusterKeyer:
    """Keys events by their final cluster against one :class:`ClusterMap` (what :func:`key_by_cluster` does), with
    the cluster of each identifier tuple remembered: a customer's events carry the same few tuples, so the
    canonical id and the restriction are worked out once per tuple instead of once per event.

    ``limit``: identifier tuples remembered before the memory is cleared (None: unbounded, for a bounded input held
    in memory anyway; 0: none); the result never depends on it."""

    __slots__ = ("cmap", "rules", "limit", "_of_ids", "_joined")

    def __init__(self, cmap: ClusterMap, rules: LinkRules, limit: int | None = None):
        self.cmap, self.rules, self.limit = cmap, rules, limit
        #: identifier tuple -> (final cluster, the identifiers of the tuple in that cluster, or None when all are)
        self._of_ids: dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]] = {}
        self._joined: set[str] | None = None  #: roots of clusters of two identifiers or more (made when needed)

    def _cluster_of(self, ids: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None]:
        root_of = self.cmap.root_of
        primary = canonical(ids)
        cluster = root_of.get(primary, primary)
        kept = None
        if len(ids) > 1:
            kept = tuple(k for k in ids if root_of.get(k, k) == cluster)
            if len(kept) == len(ids):
                kept = None
        if self.limit is None or len(self._of_ids) < self.limit:
            self._of_ids[ids] = (cluster, kept)
        elif self.limit:  # full: start again (the bound only limits memory)
            self._of_ids.clear()
            self._of_ids[ids] = (cluster, kept)
        return cluster, kept

    def _others(self, ids: tuple[str, ...], kept: tuple[str, ...]) -> set[str]:
        """The identifiers of ``ids`` not ``kept`` that are another customer's: in a cluster of two identifiers or
        more (a singleton a cap refused, ``kind_cap:email`` on the customer's own side, is its own new address)."""
        if self._joined is None:
            self._joined = {r for k, r in self.cmap.root_of.items() if k != r}
        root_of, joined = self.cmap.root_of, self._joined
        return {k for k in ids if k not in kept and (root_of.get(k, k) != k or k in joined)}

    def key(self, ev: Event, pairs: list[tuple[str, str]] | tuple | None = None) -> tuple[str, tuple[Event, tuple]]:
        """:func:`key_by_cluster` of ``ev`` against this keyer's map.  ``pairs``: ``links_for`` of the event as it
        is, when the caller has it (None: worked out here)."""
        hit = self._of_ids.get(ev.ids)
        cluster, kept = hit if hit is not None else self._cluster_of(ev.ids)
        if kept is not None:  # (an address whose link was refused is another customer's: noted in the contact)
            contact = ev.contact and refused_contact(ev.contact, self._others(ev.ids, kept), pairs if pairs
                                                     is not None else links_for(ev.stream, ev.type, ev.ids, self.rules))
            ev = Event(ev.uid, ev.stream, ev.type, ev.ts, kept, ev.attrs, contact)
            pairs = None  # (of the identifiers left)
        if len(ev.ids) < 2:  # (half the events: one identifier, no link)
            return cluster, (ev, ())
        if pairs is None:
            pairs = links_for(ev.stream, ev.type, ev.ids, self.rules)
        if not pairs:  # (most events link nothing)
            return cluster, (ev, ())
        accepted, uid = self.cmap.accepted, ev.uid
        return cluster, (ev, tuple((a, b) for a, b in pairs if (uid, a, b) in accepted))


def key_by_cluster(ev: Event, cmap: ClusterMap, rules: LinkRules) -> tuple[str, tuple[Event, tuple]]:
    """``(final cluster id, (event restricted to that cluster's identifiers, accepted links of the event))``.

    The cluster is that of the event's canonical identifier; identifiers of the event that a guard kept out of
    that cluster are dropped from the event.  (One event; to key many against one map, :class:`ClusterKeyer`
    remembers the cluster of each identifier tuple.)"""
    return ClusterKeyer(cmap, rules, 0).key(ev)
