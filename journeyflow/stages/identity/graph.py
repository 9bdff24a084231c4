"""The identity graph: a union-find over identifier keys with canonical roots and merge-protection guards.

Every union in journeyflow goes through the rule of :func:`pick_root`: the root of a component is its canonical
member (the minimum :func:`~.keys.rank_key`), so the loser is linked under the winner. That is the rule of Jayanti &
Tarjan's concurrent union-find (Distributed Computing 2021, arXiv 2003.01203: link the larger id under the
smaller): the canonical id then does not depend on the order in which links arrive, and a retried union is a no-op.
The stores in :mod:`journeyflow.adapters` (memory, SQLite, Bigtable) and the bounded fold
(:mod:`journeyflow.stages.cluster_fold`) all apply it.

Determinism: without refusals the roots do not depend on the order of the links. Refusals do (whichever link comes
first wins the capacity), so the bounded path applies links sorted by ``(ts, event_id, a, b)``; :func:`resolve`
does exactly that, which makes the result a pure function of the set of links.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from journeyflow.stages.identity.keys import Counts, add_counts, rank_key, singleton_counts
from journeyflow.stages.identity.rules import LinkRecord, LinkRules, default_rules

__all__ = ["IdentityGraph", "LinkOutcome", "RefusedLink", "ResolveResult", "pick_root", "resolve"]


def pick_root(a: str, b: str) -> tuple[str, str]:
    """``(winner, loser)`` for merging the components rooted at ``a`` and ``b``: the smaller-ranked root survives.

    ValueError for a key of unknown kind (see :func:`~.keys.rank_key`)."""
    return (a, b) if rank_key(a) <= rank_key(b) else (b, a)


class LinkOutcome(NamedTuple):
    """What one ``link(a, b)`` did (same shape for the in-memory graph and every store)."""

    accepted: bool
    #: None when accepted, else ``"kind_cap:<kind>"``, ``"cluster_size_cap"`` or ``"shared_identifier"``.
    reason: str | None
    #: Canonical root of ``a``'s component after the operation.
    root: str
    #: ``(old_root, new_root)`` when two components were merged, else None.
    merged: tuple[str, str] | None


class RefusedLink(NamedTuple):
    """A link a guard refused, with the reason (``"kind_cap:<kind>"``, ``"cluster_size_cap"`` or ``"shared_identifier"``)."""

    link: LinkRecord
    reason: str


class IdentityGraph:
    """In-memory union-find over identifier keys with canonical roots and merge-protection guards.

    Internally it is a classic union-by-size forest with path halving (so ``find`` and the guard checks are
    O(α(n)) amortized); each internal root carries the component's canonical key (its minimum ``rank_key``
    member, which is what the public API calls the *root*, see :func:`pick_root`), its per-kind counts and its
    member list (the smaller list is appended to the larger, O(n log n) overall). Not thread-safe: wrap it (see
    :class:`journeyflow.adapters.memory_store.MemoryIdentityStore`).

    ``guarded=False`` applies every link (no caps): for re-applying links that were already accepted, e.g. inside
    one final cluster in the bounded fold. Keys of unknown kind raise ValueError.

    ``ts`` and ``event_id`` are accepted by :meth:`link` for parity with the stores; order-dependence of guard
    refusals is handled by the caller applying links in ``(ts, event_id)`` order (see :func:`resolve`).
    """

    __slots__ = ("_parent", "_canon", "_counts", "_members", "_guard", "rules", "_into")

    def __init__(self, rules: LinkRules | None = None, *, guarded: bool = True):
        self.rules = rules or default_rules()
        self._guard = self.rules.guard() if guarded else None
        self._parent: dict[str, str] = {}
        self._canon: dict[str, str] = {}  # internal root -> canonical key
        self._counts: dict[str, Counts] = {}  # internal root -> per-kind counts
        self._members: dict[str, list[str]] = {}  # internal root -> members
        #: canonical id of each absorbed component -> (the canonical id it was merged into, the link's time):
        #: the merge history :meth:`root_at` follows
        self._into: dict[str, tuple[str, int]] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def __contains__(self, key: object) -> bool:
        return key in self._parent

    def add(self, key: str) -> None:
        """Make ``key`` known as a singleton component (no-op when known; ValueError for an unknown kind)."""
        if key not in self._parent:
            counts = singleton_counts(key)  # validates the kind
            self._parent[key] = key
            self._canon[key] = key
            self._counts[key] = counts
            self._members[key] = [key]

    def _root(self, key: str) -> str:
        parent = self._parent
        p = parent[key]
        while p != key:
            gp = parent[p]
            parent[key] = gp  # path halving
            key, p = gp, parent[gp]
        return key

    def find(self, key: str) -> str:
        """Canonical root of ``key``'s component (``key`` itself when unknown)."""
        if key not in self._parent:
            return key
        return self._canon[self._root(key)]

    def root_at(self, key: str, ts: int) -> str:
        """The customer ``key`` belonged to at event time ``ts`` (epoch ms): the merges recorded by :meth:`link` are
        followed from ``key`` while their link's time is at or before ``ts`` (``key`` itself when unknown).

        This is replay's rule (``stages.bounded.ClusterFold``: sub-profiles stay apart until the linking event's
        time) for links applied in any order: an absorbed component keeps its own id for the events dated before the
        link that absorbed it.  Links are applied in arrival order in streaming, so a link dated before a merge that
        was already applied is recorded at its own time on the absorbed side's path; ``stages.identity.flush_plan``
        sorts out what this cannot say (a chain whose links arrived out of order)."""
        into = self._into
        for _ in range(len(into) + 1):
            nxt = into.get(key)
            if nxt is None or nxt[1] > ts:
                return key
            key = nxt[0]
        return key  # pragma: no cover - a merge history is a forest (each id is absorbed once)

    def rejoin(self, a: str, b: str, ts: int) -> tuple[str, str] | None:
        """A link between ``a`` and ``b`` (already one component) dated ``ts``, earlier than the merge that joined
        them: when the merge history says their customers at ``ts`` were two (``x`` and ``y``) and one was merged
        directly into the other later, that merge is moved back to ``ts`` (the same pair seen again with an earlier
        time, arriving after the later one) and ``(x, y)`` (absorbed, survivor) is returned; else None (nothing
        to change, or a history this cannot mend: the link's time is then kept as the components' merge was)."""
        x, y = self.root_at(a, ts), self.root_at(b, ts)
        if x == y or self.find(a) != self.find(b):
            return None
        for old, new in ((x, y), (y, x)):
            into = self._into.get(old)
            if into is not None and into[0] == new and into[1] > ts:
                self._into[old] = (new, ts)
                return old, new
        return None

    def counts(self, key: str) -> Counts:
        """Per-kind counts of ``key``'s component."""
        if key not in self._parent:
            return singleton_counts(key)
        return self._counts[self._root(key)]

    def members(self, key: str) -> list[str]:
        """Members of the component of ``key`` (normally its root), sorted by ``rank_key``."""
        if key not in self._parent:
            return [key]
        return sorted(self._members[self._root(key)], key=rank_key)

    def clusters(self) -> dict[str, list[str]]:
        """``{canonical root: members sorted by rank_key}`` for every known key (singletons included)."""
        return {self._canon[r]: sorted(m, key=rank_key) for r, m in self._members.items()}

    def root_map(self) -> dict[str, str]:
        """``{key: canonical root}`` for every known key (singletons map to themselves); what :meth:`clusters`
        says, without sorting the members."""
        canon = self._canon
        return {m: canon[r] for r, members in self._members.items() for m in members}

    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        """Union the components of ``a`` and ``b`` unless a guard refuses it. Idempotent.

        The surviving root is chosen by :func:`pick_root`; a refused link changes nothing (but makes both keys
        known). ValueError for a key of unknown kind."""
        self.add(a)
        self.add(b)
        ra, rb = self._root(a), self._root(b)
        if ra == rb:
            return LinkOutcome(True, None, self._canon[ra], None)
        counts_a, counts_b = self._counts[ra], self._counts[rb]
        if self._guard is not None:
            reason = self._guard.refusal(counts_a, counts_b, (a, b))
            if reason is not None:
                return LinkOutcome(False, reason, self._canon[ra], None)
        canon_a, canon_b = self._canon[ra], self._canon[rb]
        winner, loser = pick_root(canon_a, canon_b)
        big, small = (ra, rb) if len(self._members[ra]) >= len(self._members[rb]) else (rb, ra)
        self._parent[small] = big
        self._canon[big] = winner
        self._counts[big] = add_counts(counts_a, counts_b)
        self._members[big].extend(self._members.pop(small))
        del self._canon[small], self._counts[small]
        self._into[loser] = (winner, ts)
        return LinkOutcome(True, None, winner, (loser, winner))


class ResolveResult(NamedTuple):
    """:func:`resolve`'s result: the graph, and the links in the order applied, split into accepted and refused."""

    graph: IdentityGraph
    accepted: list[LinkRecord]
    refused: list[RefusedLink]


def resolve(links: Iterable[LinkRecord], rules: LinkRules | None = None) -> ResolveResult:
    """Apply links in ``(ts, event_id, a, b)`` order; the result depends only on the set of links."""
    graph = IdentityGraph(rules)
    accepted: list[LinkRecord] = []
    refused: list[RefusedLink] = []
    for rec in sorted(links, key=lambda r: (r.ts, r.event_id, r.a, r.b)):
        outcome = graph.link(rec.a, rec.b, rec.ts, rec.event_id)
        if outcome.accepted:
            accepted.append(rec)
        else:
            refused.append(RefusedLink(rec, outcome.reason or ""))
    return ResolveResult(graph, accepted, refused)
