"""Identity graph in Cloud Bigtable: a concurrent union-find built from single-row CheckAndMutateRow (CAS).

Layout (one row per identifier key that ever took part in an accepted link; untouched keys have no row and are
their own singleton roots):

* family ``g``: ``parent`` (key of the parent; a root's parent is itself), ``ver`` (8-byte big-endian version,
  bumped by *every* change of the row's ``g`` cells: it is the CAS token), and on roots only ``size`` and the
  per-kind counts ``n_crm``, ``n_email``, ``n_phone``, ``n_anon``; on attached rows ``at``, the event time of the
  link that attached it (written after the attach; ``root_at`` follows ``parent`` only through links dated at or
  before an event's time).
* family ``c``: child pointers ``<child key>#<16 hex token>`` (one per reservation, see below), used to list the
  members of a component top-down. A child pointer only counts if the child's ``parent`` really is this row, so
  stale pointers are harmless.

``link(a, b)`` (after Jayanti & Tarjan's CAS-only concurrent union-find):

1. find both roots by following ``parent`` (no path compression: it would have to move child pointers across
   rows; the guard caps bound component size, hence depth, by ``max_cluster_size``);
2. equal roots → accepted, no change (idempotent); otherwise the shared guard check
   (:meth:`~journeyflow.stages.identity.rules.Guard.refusal`) on the two roots' counts;
3. **reserve** on the winner (the smaller-ranked root, :func:`~journeyflow.stages.identity.graph.pick_root`): one
   CheckAndMutateRow conditioned on the winner's ``ver`` being the one read (so it is still a root and its counts
   are unchanged) that writes the merged counts/size, ``ver+1`` and the child pointer to the loser;
4. **attach** the loser: one CheckAndMutateRow conditioned on the loser's ``ver`` being the one read (it is still a
   root — its parent is itself — with the counts that were added in step 3) that sets ``parent`` to the winner,
   bumps ``ver`` and drops its root-only counts. This is the linearization point of the union;
5. if step 3 fails, retry from 1; if step 4 fails (the loser was meanwhile linked elsewhere or absorbed another
   component), **release** the reservation — delete its child pointer and subtract the loser's counts from the
   current root of the winner (a CAS loop: the winner may have been linked under another root in between, in which
   case the reserved counts moved there with it) — then retry from 1. At most ``max_tries`` (20) rounds, then
   :class:`IdentityStoreConflict`.

The root is always the component's canonical (minimum ``rank_key``) member, so a retried or duplicated union is a
no-op and, when no guard triggers, concurrent writers end with exactly the clusters of a sequential run.

Guard counts and concurrency: counts are added to the surviving root *before* the loser is attached (steps 3→4),
both under CAS, so a root's counts are never below the true size of its component: concurrent links into one
component see each other's reservations and **a cap can never be overshot, not even by one**. The price is the
opposite window: between a reservation and its release (step 4 failed), or forever if the writer dies between
steps 3 and 4, the counts over-estimate the component, so a concurrent link may be refused conservatively. To keep
that rare, a link that would be refused first compares the root counts with the component's verified members; if
they differ (a reservation is in flight) it backs off and retries (a few times) before refusing. A dead writer's
reservation leaves an over-count (and a stale child pointer) until a reconciliation recomputes counts from the
members (not implemented here; a periodic batch connected-components run is the intended repair).

Bigtable's CheckAndMutateRow works on the emulator (it takes a table-level lock there).

Outages: every public operation (``link``, ``find``, ``members``, ``counts``) is retried as a whole when Bigtable
is unreachable (``ServiceUnavailable``, ``DeadlineExceeded``): ``retry_attempts`` tries (default 8) with jittered
exponential backoff from ``retry_initial_s`` (0.2 s) up to ``retry_max_delay_s`` (10 s), each RPC bounded by
``rpc_timeout_s`` (20 s; the client library's own default for reads is 600 s), then
:class:`IdentityStoreUnavailable` naming the attempts (Beam then retries the bundle).  Retrying a whole ``link`` is
safe: a link is idempotent, and a write whose outcome was lost is either seen as done (same root) or redone; a
reservation whose attach never happened is only an over-count (see above), never a lost or duplicated member.
"""

from __future__ import annotations

import logging
import os
import random
import struct
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import SplitResult

from journeyflow.adapters.identity_store import IdentityStore
from journeyflow.stages.identity.graph import LinkOutcome, pick_root
from journeyflow.stages.identity.keys import KINDS, Counts, add_counts, rank_key, singleton_counts
from journeyflow.stages.identity.rules import LinkRules

__all__ = ["BigtableIdentityStore", "IdentityStoreConflict", "IdentityStoreUnavailable", "open_bigtable_store"]

log = logging.getLogger(__name__)

FAMILY = "g"
CHILDREN = "c"
COL_PARENT = b"parent"
COL_VER = b"ver"
COL_SIZE = b"size"
#: on an attached row: the event time (8-byte big-endian epoch ms) of the link that attached it (``root_at``)
COL_AT = b"at"
COUNT_COLS: tuple[bytes, ...] = tuple(f"n_{kind}".encode() for kind in KINDS)
_I64 = struct.Struct(">q")
_TOKEN_LEN = 16
_MAX_DEPTH = 10_000


class IdentityStoreConflict(RuntimeError):
    """A link lost the CAS race ``max_tries`` times in a row (or a reservation could not be released)."""


class IdentityStoreUnavailable(RuntimeError):
    """Bigtable stayed unreachable through every retry of one operation."""


def _transient_errors() -> tuple[type[BaseException], ...]:
    from google.api_core import exceptions

    return (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded)


class _Node(NamedTuple):
    key: str
    ver: int | None  # None: the row does not exist (untouched singleton)
    parent: str
    counts: Counts  # meaningful on roots only
    children: tuple[str, ...]
    at: int | None = None  # event time of the link that attached this row to ``parent`` (None: a root, or older rows)


def _child_qualifier(child: str, token: str) -> bytes:
    return f"{child}#{token}".encode()


def _child_of(qualifier: bytes) -> str:
    return qualifier[: -(_TOKEN_LEN + 1)].decode("utf-8")


def _sub_counts(a: Counts, b: Counts) -> Counts:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3])


class BigtableIdentityStore(IdentityStore):
    """Identity store on a Bigtable table (see the module docstring for the protocol).

    With ``BIGTABLE_EMULATOR_HOST`` set, the client talks to the emulator (anonymous credentials).
    """

    def __init__(
        self,
        project: str,
        instance: str,
        table: str,
        rules: LinkRules | None = None,
        *,
        max_tries: int = 20,
        client: Any = None,
        app_profile_id: str | None = None,
        create_if_missing: bool | str = False,
        retry_attempts: int = 8,
        retry_initial_s: float = 0.2,
        retry_max_delay_s: float = 10.0,
        rpc_timeout_s: float = 20.0,
    ):
        from google.cloud import bigtable
        from google.cloud.bigtable import row_filters

        self.rules = rules or LinkRules()
        self._guard = self.rules.guard()
        self._max_tries = int(max_tries)
        self._retry_attempts = max(1, int(retry_attempts))
        self._retry_initial = float(retry_initial_s)
        self._retry_max_delay = float(retry_max_delay_s)
        self.retries = 0  # operations retried after a transient error (for tests and metrics)
        self._owns_client = client is None
        if client is None:
            client = bigtable.Client(project=project, admin=True)
            if os.environ.get("BIGTABLE_EMULATOR_HOST"):
                # The data client warns on every construction when talking to the emulator; build it quietly.
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Connecting to Bigtable emulator", RuntimeWarning)
                    getattr(client, "_veneer_data_client", None)
        self._client = client
        self.table_id = table
        self._table = client.instance(instance).table(table, app_profile_id=app_profile_id)
        impl = getattr(self._table, "_table_impl", None)  # the data client's table: per-call time budgets
        if impl is not None:
            timeout = float(rpc_timeout_s)
            impl.default_operation_timeout = impl.default_read_rows_operation_timeout = timeout
            impl.default_attempt_timeout = impl.default_read_rows_attempt_timeout = timeout
        rf = row_filters
        self._rf = rf
        self._latest = rf.CellsColumnLimitFilter(1)
        self._has_ver = rf.RowFilterChain(
            filters=[rf.ColumnRangeFilter(FAMILY, COL_VER, COL_VER), rf.CellsColumnLimitFilter(1)]
        )
        if create_if_missing in (True, "1", "true", "True", "yes"):
            self.create_table_if_missing()

    # -- admin -----------------------------------------------------------------------------------------------
    def create_table_if_missing(self) -> bool:
        """Create the table with families ``g`` and ``c`` (max 1 version) unless it exists; True if created.

        Uses the table admin API directly (the emulator has no instance admin API and needs no instance).
        """
        from google.api_core import exceptions
        from google.cloud.bigtable import column_family

        if self._table.exists():
            return False
        gc = column_family.MaxVersionsGCRule(1)
        try:
            self._table.create(column_families={FAMILY: gc, CHILDREN: gc})
        except exceptions.AlreadyExists:
            return False
        return True

    def close(self) -> None:
        """Close the client's channels if this store created the client. Idempotent."""
        if not self._owns_client or self._client is None:
            return
        client, self._client = self._client, None
        data = getattr(client, "_table_data_client", None)
        if data is not None:
            try:
                data.close()
            except Exception:  # pragma: no cover - best effort
                pass
        admin = getattr(client, "_table_admin_client", None)
        if admin is not None:
            try:
                admin.transport.close()
            except Exception:  # pragma: no cover - best effort
                pass

    # -- reads -----------------------------------------------------------------------------------------------
    def _node(self, key: str, row: Any) -> _Node:
        if row is None:
            return _Node(key, None, key, singleton_counts(key), ())
        g = row.cells.get(FAMILY, {})

        def value(col: bytes) -> bytes | None:
            cells = g.get(col)
            return cells[0].value if cells else None

        ver = value(COL_VER)
        if ver is None:  # only stale child pointers left on the row: still an untouched singleton
            return _Node(key, None, key, singleton_counts(key), ())
        parent = (value(COL_PARENT) or key.encode()).decode("utf-8")
        counts: Counts = singleton_counts(key)
        if parent == key:
            raw = [value(c) for c in COUNT_COLS]
            counts = tuple(_I64.unpack(v)[0] if v else 0 for v in raw)  # type: ignore[assignment]
        children = tuple(_child_of(q) for q in row.cells.get(CHILDREN, {}))
        at = value(COL_AT) if parent != key else None
        return _Node(key, _I64.unpack(ver)[0], parent, counts, children, _I64.unpack(at)[0] if at else None)

    def _read(self, key: str) -> _Node:
        return self._node(key, self._table.read_row(key.encode("utf-8"), filter_=self._latest))

    def _read_many(self, keys: Iterable[str]) -> dict[str, _Node]:
        from google.cloud.bigtable.row_set import RowSet

        keys = list(dict.fromkeys(keys))
        row_set = RowSet()
        for key in keys:
            row_set.add_row_key(key.encode("utf-8"))
        rows = {r.row_key.decode("utf-8"): r for r in self._table.read_rows(row_set=row_set, filter_=self._latest)}
        return {key: self._node(key, rows.get(key)) for key in keys}

    def _find_root(self, key: str) -> _Node:
        node = self._read(key)
        for _ in range(_MAX_DEPTH):
            if node.parent == node.key:
                return node
            node = self._read(node.parent)
        raise RuntimeError("identity graph parent chain too long (corrupt table?)")

    def _collect(self, root: _Node) -> list[str]:
        """Verified members of ``root``'s component, breadth-first over child pointers (one read per level)."""
        members = [root.key]
        seen = {root.key}
        level = [root]
        while level:
            wanted: dict[str, set[str]] = {}
            for n in level:
                for c in n.children:
                    if c not in seen:
                        wanted.setdefault(c, set()).add(n.key)
            if not wanted:
                break
            nodes = self._read_many(wanted)
            level = []
            for child, claimed_by in wanted.items():
                node = nodes[child]
                if node.parent in claimed_by:  # else a stale / in-flight reservation pointer
                    seen.add(child)
                    members.append(child)
                    level.append(node)
        return members

    def _overcounted(self, root: _Node) -> bool:
        if root.ver is None:
            return False
        true: Counts = (0, 0, 0, 0)
        for key in self._collect(root):
            true = add_counts(true, singleton_counts(key))
        return true != root.counts

    # -- CAS writes ------------------------------------------------------------------------------------------
    def _cas(self, node: _Node, build: Callable[[Any, bool], None]) -> bool:
        """Apply ``build``'s mutations to ``node``'s row iff its ``ver`` is still the one read; bumps ``ver``."""
        rf = self._rf
        if node.ver is None:
            # Row must still be absent (no ver cell): mutations go in the predicate's false branch.
            row = self._table.conditional_row(node.key.encode("utf-8"), filter_=self._has_ver)
            state = False
        else:
            packed = _I64.pack(node.ver)
            predicate = rf.RowFilterChain(
                filters=[
                    rf.ColumnRangeFilter(FAMILY, COL_VER, COL_VER),
                    rf.CellsColumnLimitFilter(1),
                    rf.ValueRangeFilter(packed, packed),
                ]
            )
            row = self._table.conditional_row(node.key.encode("utf-8"), filter_=predicate)
            state = True
        self._put(row, COL_VER, _I64.pack((node.ver or 0) + 1), state)
        build(row, state)
        matched = bool(row.commit())
        return matched == state

    @staticmethod
    def _put(row: Any, column: bytes, value: bytes, state: bool) -> None:
        # Delete first so the row keeps one version whatever the server timestamps are.
        row.delete_cell(FAMILY, column, state=state)
        row.set_cell(FAMILY, column, value, state=state)

    def _put_counts(self, row: Any, counts: Counts, state: bool) -> None:
        for column, n in zip(COUNT_COLS, counts):
            self._put(row, column, _I64.pack(n), state)
        self._put(row, COL_SIZE, _I64.pack(sum(counts)), state)

    def _reserve(self, winner: _Node, loser: _Node, token: str) -> bool:
        merged = add_counts(winner.counts, loser.counts)

        def build(row: Any, state: bool) -> None:
            if winner.ver is None:
                self._put(row, COL_PARENT, winner.key.encode("utf-8"), state)
            self._put_counts(row, merged, state)
            row.set_cell(CHILDREN, _child_qualifier(loser.key, token), b"", state=state)

        return self._cas(winner, build)

    def _attach(self, loser: _Node, winner_key: str) -> bool:
        def build(row: Any, state: bool) -> None:
            self._put(row, COL_PARENT, winner_key.encode("utf-8"), state)
            for column in (*COUNT_COLS, COL_SIZE):
                row.delete_cell(FAMILY, column, state=state)

        return self._cas(loser, build)

    def _mark_attached_at(self, key: str, ts: int) -> None:
        """Write the attach's link time on the (no longer root) row ``key`` for ``root_at``: a plain write after the
        attach (the row's ``g`` cells no longer change, and ``ver`` is left alone); if it is lost (the writer died
        in between), ``root_at`` treats the attach as at or before any time, as ``find`` does."""
        row = self._table.direct_row(key.encode("utf-8"))
        row.delete_cell(FAMILY, COL_AT)
        row.set_cell(FAMILY, COL_AT, _I64.pack(int(ts)))
        row.commit()

    def _release(self, winner_key: str, loser: _Node, token: str) -> None:
        pointer = self._table.direct_row(winner_key.encode("utf-8"))
        pointer.delete_cell(CHILDREN, _child_qualifier(loser.key, token))
        pointer.commit()
        for attempt in range(self._max_tries * 5):
            root = self._find_root(winner_key)
            remaining = _sub_counts(root.counts, loser.counts)
            if self._cas(root, lambda row, state: self._put_counts(row, remaining, state)):
                return
            self._backoff(attempt)
        raise IdentityStoreConflict("could not release a link reservation; the component's counts stay high")

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.05, 0.001 * (2**attempt))))

    # -- retries -------------------------------------------------------------------------------------------
    def _retrying(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, retried with jittered exponential backoff while Bigtable is unreachable."""
        transient = _transient_errors()
        started = time.monotonic()
        delay = self._retry_initial
        for attempt in range(1, self._retry_attempts + 1):
            try:
                return fn(*args)
            except transient as e:
                if attempt == self._retry_attempts:
                    raise IdentityStoreUnavailable(
                        f"identity store table {self.table_id!r}: {what} failed {attempt} times in "
                        f"{time.monotonic() - started:.1f}s (retry_attempts={self._retry_attempts}); "
                        f"last error: {type(e).__name__}: {str(e)[:200]}") from e
                self.retries += 1
                log.warning("identity store table %r unreachable (%s), %s retried in %.2fs (attempt %d of %d)",
                            self.table_id, type(e).__name__, what, delay, attempt, self._retry_attempts)
                time.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, self._retry_max_delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- API -------------------------------------------------------------------------------------------------
    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        """See :meth:`IdentityStore.link` (module doc: the CAS protocol); :class:`IdentityStoreConflict` after
        ``max_tries`` lost races, :class:`IdentityStoreUnavailable` when Bigtable stays unreachable."""
        singleton_counts(a), singleton_counts(b)  # validate kinds before any write
        return self._retrying("link", self._link, a, b, ts)

    def _link(self, a: str, b: str, ts: int = 0) -> LinkOutcome:
        overcount_retries = max(1, self._max_tries // 4)
        for attempt in range(self._max_tries):
            root_a, root_b = self._find_root(a), self._find_root(b)
            if root_a.key == root_b.key:
                return LinkOutcome(True, None, root_a.key, None)
            reason = self._guard.refusal(root_a.counts, root_b.counts, (a, b))
            if reason is not None:
                if overcount_retries > 0 and (self._overcounted(root_a) or self._overcounted(root_b)):
                    overcount_retries -= 1
                    self._backoff(attempt + 3)
                    continue
                return LinkOutcome(False, reason, root_a.key, None)
            winner_key, _ = pick_root(root_a.key, root_b.key)
            winner, loser = (root_a, root_b) if winner_key == root_a.key else (root_b, root_a)
            token = uuid.uuid4().hex[:_TOKEN_LEN]
            if not self._reserve(winner, loser, token):
                self._backoff(attempt)
                continue
            if self._attach(loser, winner.key):
                self._mark_attached_at(loser.key, ts)
                return LinkOutcome(True, None, winner.key, (loser.key, winner.key))
            self._release(winner.key, loser, token)
            self._backoff(attempt)
        raise IdentityStoreConflict(f"link lost the CAS race {self._max_tries} times")

    def find(self, key: str) -> str:
        """See :meth:`IdentityStore.find` (follows ``parent`` pointers; one read per level)."""
        return self._retrying("find", lambda: self._find_root(key).key)

    def root_at(self, key: str, ts: int) -> str:
        """See :meth:`IdentityStore.root_at`: ``parent`` pointers are followed while the time of the link that set
        each (``at``; rows attached before it was kept count as at or before any time) is at or before ``ts``."""
        def walk() -> str:
            node = self._read(key)
            for _ in range(_MAX_DEPTH):
                if node.parent == node.key or (node.at is not None and node.at > ts):
                    return node.key
                node = self._read(node.parent)
            raise RuntimeError("identity graph parent chain too long (corrupt table?)")
        return self._retrying("root_at", walk)

    def rejoin(self, a: str, b: str, ts: int) -> tuple[str, str] | None:
        """See :meth:`IdentityStore.rejoin` (the absorbed row's ``at`` is moved back to ``ts``)."""
        def run() -> tuple[str, str] | None:
            x, y = self.root_at(a, ts), self.root_at(b, ts)
            if x == y or self._find_root(a).key != self._find_root(b).key:
                return None
            for old, new in ((x, y), (y, x)):
                node = self._read(old)
                if node.parent == new and node.at is not None and node.at > ts:
                    self._mark_attached_at(old, ts)
                    return old, new
            return None
        return self._retrying("rejoin", run)

    def members(self, root: str) -> list[str]:
        """See :meth:`IdentityStore.members` (verified members, breadth-first over child pointers)."""
        return self._retrying("members", lambda: sorted(self._collect(self._find_root(root)), key=rank_key))

    def counts(self, key: str) -> Counts:
        """Per-kind counts stored on ``key``'s root (may over-estimate while a reservation is in flight)."""
        return self._retrying("counts", lambda: self._find_root(key).counts)


def open_bigtable_store(url: str, parts: SplitResult, rules: LinkRules | None, **options: Any) -> BigtableIdentityStore:
    """Open ``bigtable://PROJECT/INSTANCE/TABLE``; ``options``: :class:`BigtableIdentityStore` keywords.

    ValueError unless the URL names exactly a project, an instance and a table."""
    segments = [parts.netloc, *filter(None, parts.path.split("/"))]
    if len(segments) != 3 or not all(segments):
        raise ValueError(f"bigtable store URL must be bigtable://project/instance/table, not {url!r}")
    return BigtableIdentityStore(*segments, rules=rules, **options)
