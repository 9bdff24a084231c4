"""The bounded decision path in process, without Beam: events → identity clusters → ``ClusterFold`` → outputs.

This is the code the Beam replay runs, step for step: ``transforms.identity.ResolveIdentities`` calls the same
:mod:`journeyflow.stages.identity.clusters` functions as :func:`resolve_clusters`, and
``transforms.decide.FoldClusterFn`` folds each cluster with :func:`fold_cluster`. ``journeyflow compare`` and the
bench's core figures call :func:`resolve_clusters` and :func:`fold_clusters` directly, so what they measure is what
the pipeline decides.

:class:`ClusterFold` (the fold of one cluster, identity merges at their event time) lives here; the per-customer
moments it drives, and the poison-input isolation it shares with streaming, are in :mod:`journeyflow.stages.processor`.

Address statuses (issue 16): :func:`resolve_clusters` adds to each cluster the ``ADDRESS_STREAM`` copies of the
address-status changes other clusters' records made to addresses it holds
(:func:`journeyflow.stages.deliverability.address_copies`, the replay's ``ShareAddressStatus`` step).

Opt-outs and account deletions naming several customers (:mod:`journeyflow.stages.identity.opt_outs`):
:func:`resolve_clusters` adds to each other cluster such a record names a status-only copy of it, and
:class:`ClusterFold` gives the record (or copy) to the sub-profile each identifier is part of at its time; copies
are no events of the cluster (not counted, never dead letters) and sort first at equal times.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import (ADDRESS_STREAM, ENGAGEMENT_STATUS_TYPES, STATUS_RANK, STREAM_RANK, Event,
                                      event_rank)
from journeyflow.stages.deliverability import _STATUS_STREAMS as _ADDRESS_STATUS_STREAMS
from journeyflow.stages.deliverability import AddressCopies, address_effects
from journeyflow.stages.identity.clusters import ClusterKeyer, ClusterMap, build_cluster_map
from journeyflow.stages.identity.graph import IdentityGraph
from journeyflow.stages.identity.keys import canonical, rank_key
from journeyflow.stages.identity.online import IDENTITY_STREAM, status_handover
from journeyflow.stages.identity.opt_outs import FAN_OUT_STREAMS as _FAN_OUT_STREAMS
from journeyflow.stages.identity.opt_outs import cluster_copies, fans_out
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, event_pairs, linking_types
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages.parse import mask_pii
from journeyflow.stages.processor import (
    CustomerProcessor,
    Outputs,
    _dead_event,
    _Isolation,
    _Poison,
    pop_all_due_at,
)
from journeyflow.stages.state import CustomerState

__all__ = ["BoundedClusters", "ClusterFold", "fold_cluster", "fold_clusters", "resolve_clusters"]


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


class ClusterFold:
    """Bounded replay of one final identity cluster, with merges applied at their event time.

    Events arrive grouped by their *final* identity cluster (``journeyflow.stages.identity.clusters``). Within the
    cluster, the customer is made of sub-profiles that exist separately until the event that links them; at that
    event's time the event's accepted links are applied to the cluster's own
    :class:`~journeyflow.stages.identity.graph.IdentityGraph` (unguarded: the links were accepted by the global
    resolution already) and the two sub-profiles' states are merged (``CustomerState.merge``, a commutative union)
    under the canonical id of the union (:func:`~journeyflow.stages.identity.graph.pick_root`). Decisions carry the
    customer id that was canonical at decision time. Timers of all sub-profiles fire globally in time order.

    A record that changes an address's status (``deliverability.address_effects``) reaches every sub-profile of the
    cluster, and those created later; the same change from another cluster holding the address arrives as an
    ``ADDRESS_STREAM`` copy, which changes that address's status only.
    """

    def __init__(self, processor: CustomerProcessor):
        self.p = processor

    def run(self, items: Sequence[tuple[Event, Sequence[tuple[str, str]]]], until: int | None) -> Outputs:
        """``items``: (event, accepted links of that event) sorted by event sort key.  ``until``: the replay horizon
        (epoch ms; None: no timer past the last event): timers due up to it fire, and an event dated after it is
        not decided (nor are its links applied): it is a ``timestamp_out_of_range`` dead letter, so a customer's
        decisions never depend on input after the horizon.

        A failing event or timer moment is isolated (module doc, "Poison inputs"): the fold starts again from empty
        states without it."""
        if not isinstance(items, (list, tuple)):
            items = list(items)
        iso: _Isolation | None = None
        while True:
            try:
                return self._run(items, until, iso)
            except _Poison as p:
                poison = p
            if iso is None:  # (named in the log by its canonical id: the smallest of the cluster's ids)
                iso = _Isolation(self.p.max_isolated, min((k for ev, _ in items for k in ev.ids), key=rank_key,
                                                          default=""))
            iso.add(poison)  # raises the original exception when the offender cannot be excluded
            del poison

    def _run(self, items: Sequence[tuple[Event, Sequence[tuple[str, str]]]], until: int | None,
             iso: "_Isolation | None") -> Outputs:
        out = Outputs(fresh_states=True)  # (states start empty, or capped after a merge: ``after_merge``)
        excluded: dict = iso.excluded if iso is not None else {}
        skip_links: set = iso.skip_links if iso is not None else set()
        graph = IdentityGraph(guarded=False)
        states: dict[str, CustomerState] = {}
        # every address-status change seen in the cluster so far: a sub-profile created later may hold the address
        # too (in streaming it is a customer key of its own, which the address router brings up to date); made at
        # the cluster's first such change
        seed: CustomerState | None = None

        def state_of(root: str) -> CustomerState:
            s = states.get(root)
            if s is None:
                s = states[root] = CustomerState(customer_id=root)
                if seed is not None and seed.addr_status:
                    s.addr_status = copy.deepcopy(seed.addr_status)
            return s

        def share_address(ev: Event, applied: CustomerState | None) -> None:
            """An address-status change reaches every sub-profile (any of them may hold the address)."""
            nonlocal seed
            if seed is None:
                seed = CustomerState()
            seed.apply_address(ev)
            for s in states.values():
                if s is not applied:
                    s.apply_address(ev)

        def fire_all(limit: int, strict: bool) -> None:
            # timers of all sub-profiles, globally in time order
            while True:
                if out.pending:  # moments no input is left for are decided (their deferrals may be due first)
                    p.settle_done(out, limit, strict)
                best = None
                for root, s in states.items():
                    if s.timers:
                        d = s.timers[0][0]
                        if d < limit or (not strict and d == limit):
                            if best is None or (d, root) < best:
                                best = (d, root)
                if best is None:
                    return
                s = states[best[1]]
                p._moment(s, pop_all_due_at(s, best[0]), out, excluded)

        # identifier tuple -> the state of its sub-profile; valid until the next merge (which clears it)
        target_of: dict[tuple[str, ...], CustomerState] = {}
        p = self.p
        on_event, fire = p.on_event, p._fire
        pending = out.pending  # (one dict for the whole call: cleared, never replaced)
        horizon = float("inf") if until is None else until
        single = None  # (the only sub-profile's state, while there is one: ``states`` changes only below)
        for ev, links in items:
            ts, stream = ev.ts, ev.stream
            if ts > horizon:  # beyond the replay horizon: not decided, nor its links
                if stream != ADDRESS_STREAM and stream != IDENTITY_STREAM:  # (a copy of another record)
                    out.dead.append(_after_horizon(ev))
                continue
            skip = ev.uid in excluded if excluded else False
            if skip and skip_links and ev.uid in skip_links:
                links = ()
            if not skip or links:  # an excluded event's links are still applied, at their time
                if single is not None:  # the common case: one profile, no scan over sub-profiles
                    if pending or ((timers := single.timers) and timers[0][0] < ts):
                        fire(single, ts, out, True, excluded)
                elif states:
                    fire_all(ts, strict=True)
            if pending:  # the moments before this time are decided (all of them before a merge)
                p.settle_all(out) if links else p.settle_done(out, ts, True)
            if links:
                try:
                    for a, b in links:
                        merged_roots = graph.link(a, b).merged
                        if merged_roots is None:
                            continue
                        target_of.clear()
                        gone, keep = merged_roots
                        sa, sb = states.pop(keep, None), states.pop(gone, None)
                        if sa is not None and sb is not None:
                            merged = sa.merge(sb)
                        else:
                            merged = sa or sb
                        if merged is not None:
                            merged.customer_id = keep
                            states[keep] = merged
                            if sa is not None and sb is not None:
                                p.after_merge(merged, ev.ts, ev.uid, out)
                        single = next(iter(states.values())) if len(states) == 1 else None
                except Exception as exc:
                    raise _Poison((ev.uid,), exc, f"identity links of event {ev.uid}", ev.ts, links=True) from exc
            if skip:
                out.dead.append(_dead_event(ev, excluded[ev.uid]))
                continue
            if stream == ADDRESS_STREAM:  # a change another cluster's record made to an address held here
                try:
                    share_address(ev, None)
                except Exception as exc:
                    raise _Poison((ev.uid,), exc, f"address status {ev.uid}", ev.ts) from exc
                continue
            ids = ev.ids
            target = target_of.get(ids)
            if target is None:
                primary = canonical(ids)
            try:
                if target is None:
                    target = target_of[ids] = state_of(graph.find(primary))
                    single = target if len(states) == 1 else None
                on_event(target, ev, out)
                if stream in _FAN_OUT_STREAMS:
                    if stream != "crm" and (stream == "consent" or ev.type in ENGAGEMENT_STATUS_TYPES) and \
                            address_effects(ev):
                        share_address(ev, target)  # (``is_status_event``, inlined)
                    if len(ids) > 1 and fans_out(ev):  # every sub-profile it names (``opt_outs``)
                        reached = {id(target)}
                        for k in ids:
                            s = state_of(graph.find(k))
                            if id(s) not in reached:
                                reached.add(id(s))
                                on_event(s, status_handover(k, ev), out)
                        single = target if len(states) == 1 else None
            except Exception as exc:
                raise _Poison((ev.uid,), exc, f"event {ev.uid}", ev.ts) from exc
        if until is not None:
            fire_all(until, strict=False)
        p.settle_all(out)
        # (a sub-profile that only an opt-out copy reached, never merged into one with events: no customer to show)
        out.final_states = states if all(s.last_event is not None for s in states.values()) else {
            r: s for r, s in states.items() if s.last_event is not None}
        return out


def _after_horizon(ev: Event) -> DeadLetter:
    """The dead letter of an event dated after the replay horizon (``--until``): ``timestamp_out_of_range``, as a
    record beyond ``--max_event_time`` (the horizon is the replay's "now": no timer fires after it, and no event
    that would arrive after it is decided; a customer's decisions up to the horizon never depend on later input)."""
    return DeadLetter(stream=ev.stream, reason=DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
                      detail="event time after the replay horizon (--until): not decided", payload="",
                      source=mask_pii(ev.uid), event_time=ev.ts)


def resolve_clusters(events: Iterable[Event], rules: LinkRules) -> BoundedClusters:
    """Resolve every link of ``events`` at once and key each event by its final cluster (the replay's
    ``ResolveIdentities`` step).

    Two passes over the events: the links (``event_links``, only for events that carry two identifiers or more, of
    a stream and type that link), then, against the resolved map, each event keyed (:class:`ClusterKeyer`, with
    the pairs of the first pass) and appended to its cluster's group, the addresses it names noted
    (:class:`~journeyflow.stages.deliverability.AddressCopies`), and an opt-out keyed without some of its
    identifiers (they are other clusters') copied to their clusters (:func:`~.identity.opt_outs.cluster_copies`);
    the copies go last."""
    events = events if isinstance(events, (list, tuple)) else list(events)
    linking = linking_types(rules)  # stream -> "*" | event types
    links: list[LinkRecord] = []
    pairs_of: dict[int, list[tuple[str, str]]] = {}  # event index -> its links_for pairs (events that link)
    for i, ev in enumerate(events):
        if len(ev.ids) > 1 and (pairs := event_pairs(ev, linking, rules)):
            pairs_of[i] = pairs
            links.extend(LinkRecord(a, b, ev.ts, ev.uid, ev.stream) for a, b in pairs)  # (event_links)
    cmap, rows = build_cluster_map(links, rules)
    grouped: defaultdict[str, list[ClusterItem]] = defaultdict(list)
    keyer = ClusterKeyer(cmap, rules)  # (``key_by_cluster``, the cluster of each identifier tuple found once)
    key, known = keyer.key, keyer._of_ids
    addresses = AddressCopies()
    note = addresses.add
    root_of, copies = cmap.root_of, []
    for i, ev in enumerate(events):  # (no list of the keyed pairs: fewer objects kept, fewer GC passes over them)
        hit = known.get(ev.ids)
        if hit is not None and hit[1] is None and i not in pairs_of:  # (``key``'s answer for a tuple seen before,
            cluster = hit[0]                                           # all in its cluster, of an event that links
            grouped[cluster].append((ev, ()))                          # nothing: no call per event)
        else:
            cluster, item = key(ev, pairs_of.get(i, ()) if pairs_of else ())
            grouped[cluster].append(item)
            if item[0] is not ev:  # identifiers of other clusters: an opt-out reaches them too (``opt_outs``)
                copies += cluster_copies(ev, cluster, root_of)
            ev = item[0]
        if ev.contact or ev.stream in _ADDRESS_STATUS_STREAMS:  # (what ``AddressCopies.add`` looks at)
            note(cluster, ev)
    for cluster, item in copies:
        grouped[cluster].append(item)
    groups = dict(grouped)  # (a plain dict: an unknown cluster is a KeyError, not a new group)
    for cluster, item in addresses.copies():  # an address's opt-outs reach every holder (replay too)
        groups[cluster].append(item)
    return BoundedClusters(cmap, rows, links, groups)


def fold_cluster(fold: ClusterFold, items: Iterable[ClusterItem], until: int | None) -> Outputs:
    """Sort one cluster's items by ``Event.sort_key`` and fold them (the replay's ``FoldCustomer`` step).

    ``until``: the replay horizon in epoch ms (timers due up to it fire; later events are dead letters:
    :meth:`ClusterFold.run`), or None for no timers past the events."""
    if not isinstance(items, (list, tuple)):
        items = list(items)
    # ``Event.sort_key`` then the index: by time first (ints, no key tuple per item); only the runs of equal times
    # (rare) are then ordered by the rest of the key, (rank, uid, index)
    times = list(map(_TS, map(_EVENT, items)))  # (no bytecode per item)
    order = sorted(range(len(times)), key=times.__getitem__)  # (stable: equal times keep their index order)
    if len(set(times)) != len(times):
        _order_ties(items, times, order)
    return fold.run(list(map(items.__getitem__, order)), until)


_EVENT, _TS = itemgetter(0), attrgetter("ts")


def _order_ties(items: Sequence[ClusterItem], times: list[int], order: list[int]) -> None:
    """Order each run of equal times in ``order`` (indexes of ``items`` sorted by time, equal times by index) by
    the rest of ``Event.sort_key`` and then the index, in place."""
    ranks = _RANK_OF_STREAM
    n, start = len(order), 0
    while start < n:
        t, end = times[order[start]], start + 1
        while end < n and times[order[end]] == t:
            end += 1
        if end - start > 1:
            run = []
            for i in order[start:end]:
                ev = items[i][0]
                r = ranks.get(ev.stream)
                run.append((event_rank(ev.stream, ev.type) if r is None else r, ev.uid, i))
            run.sort()
            order[start:end] = [k[2] for k in run]
        start = end


#: ``event_rank`` of the streams whose rank does not depend on the event type (all but engagement's and crm's: an
#: account deletion is a status record); the copies of an opt-out naming other customers (``IDENTITY_STREAM``,
#: ``identity.opt_outs``) before them all, as streaming's ``flush_order`` puts identity control events first
_RANK_OF_STREAM: dict[str, int] = {s: event_rank(s, "") for s in (*STREAM_RANK, ADDRESS_STREAM)
                                   if s not in ("engagement", "crm")}
_RANK_OF_STREAM[IDENTITY_STREAM] = STATUS_RANK - 1


def fold_clusters(clusters: BoundedClusters, processor: CustomerProcessor, until: int | None
                  ) -> Iterator[tuple[str, Outputs]]:
    """``(cluster id, outputs)`` of every cluster, in cluster id order (lazily: one cluster's outputs at a time)."""
    fold = ClusterFold(processor)
    for cluster in sorted(clusters.groups):
        yield cluster, fold_cluster(fold, clusters.groups[cluster], until)

