"""``sqlite:///abs/path.db`` (or ``sqlite://relative/path.db``) identity store: the embedded durable default.

Durable across restarts, WAL mode, one ``BEGIN IMMEDIATE`` transaction per link (so several processes may share the
file). Query option ``?synchronous=full`` fsyncs every commit; the default ``normal`` survives process crashes but
may lose the last commits on power loss.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any
from urllib.parse import SplitResult

from journeyflow.adapters.identity_store import IdentityStore
from journeyflow.stages.identity.graph import LinkOutcome, pick_root
from journeyflow.stages.identity.keys import KINDS, Counts, add_counts, rank_key, singleton_counts
from journeyflow.stages.identity.rules import LinkRules

__all__ = ["SqliteIdentityStore", "open_sqlite_store"]

_SCHEMA_VERSION = "1"
_COUNT_COLUMNS = tuple(f"n_{kind}" for kind in KINDS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS identity_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identity_node (key TEXT PRIMARY KEY, root TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identity_node_by_root ON identity_node (root);
CREATE TABLE IF NOT EXISTS identity_root (
    root TEXT PRIMARY KEY, {", ".join(f"{c} INTEGER NOT NULL" for c in _COUNT_COLUMNS)}
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identity_merge (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, old_root TEXT NOT NULL, new_root TEXT NOT NULL,
    ts INTEGER NOT NULL, event_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identity_merge_by_old_root ON identity_merge (old_root);
"""


class SqliteIdentityStore(IdentityStore):
    """Embedded durable store.

    Layout ("quick-find"): ``identity_node(key, root)`` maps every linked key straight to its canonical root, and
    ``identity_root`` holds the per-kind counts of every non-singleton root, so ``find`` is one indexed lookup and
    a guard check two. A merge relabels the losing component (at most ``max_cluster_size`` rows) inside the same
    transaction and appends to the ``identity_merge`` audit log (old root, new root, ts, event_id), from which
    merge events can be emitted.
    """

    def __init__(self, path: str, rules: LinkRules | None = None, synchronous: str = "normal", timeout: float = 30.0):
        if synchronous.lower() not in {"off", "normal", "full", "extra"}:
            raise ValueError(f"synchronous must be off|normal|full|extra, not {synchronous!r}")
        self.path = path
        self.rules = rules or LinkRules()
        self._guard = self.rules.guard()
        self._lock = threading.RLock()
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn = self._conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        with self._tx(immediate=True):
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                conn.execute(statement)
            row = conn.execute("SELECT v FROM identity_meta WHERE k='schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO identity_meta (k, v) VALUES ('schema_version', ?)", (_SCHEMA_VERSION,))
            elif row[0] != _SCHEMA_VERSION:
                raise RuntimeError(f"{path}: identity store schema {row[0]}, expected {_SCHEMA_VERSION}")

    # -- plumbing --------------------------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection; RuntimeError once closed."""
        if self._conn is None:
            raise RuntimeError("identity store is closed")
        return self._conn

    class _Tx:
        def __init__(self, store: SqliteIdentityStore, immediate: bool):
            self.store, self.immediate = store, immediate

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            conn = self.store.conn
            conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
            return conn

        def __exit__(self, exc_type: Any, *exc: object) -> None:
            try:
                self.store.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.store._lock.release()

    def _tx(self, immediate: bool = False) -> SqliteIdentityStore._Tx:
        return SqliteIdentityStore._Tx(self, immediate)

    @staticmethod
    def _root_of(conn: sqlite3.Connection, key: str) -> str:
        row = conn.execute("SELECT root FROM identity_node WHERE key = ?", (key,)).fetchone()
        return key if row is None else row[0]

    @staticmethod
    def _counts_of(conn: sqlite3.Connection, root: str) -> Counts:
        row = conn.execute(
            f"SELECT {', '.join(_COUNT_COLUMNS)} FROM identity_root WHERE root = ?", (root,)
        ).fetchone()
        return singleton_counts(root) if row is None else tuple(row)  # type: ignore[return-value]

    # -- API -------------------------------------------------------------------------------------------------
    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        """See :meth:`IdentityStore.link`; a merge also appends ``(loser, winner, ts, event_id)`` to the
        audit log."""
        singleton_counts(a), singleton_counts(b)  # validate kinds before touching the database
        with self._tx(immediate=True) as conn:
            ra, rb = self._root_of(conn, a), self._root_of(conn, b)
            if ra == rb:
                return LinkOutcome(True, None, ra, None)
            counts_a, counts_b = self._counts_of(conn, ra), self._counts_of(conn, rb)
            reason = self._guard.refusal(counts_a, counts_b, (a, b))
            if reason is not None:
                return LinkOutcome(False, reason, ra, None)
            winner, loser = pick_root(ra, rb)
            conn.execute("INSERT OR IGNORE INTO identity_node (key, root) VALUES (?, ?), (?, ?)", (a, ra, b, rb))
            conn.execute("UPDATE identity_node SET root = ? WHERE root = ?", (winner, loser))
            conn.execute("DELETE FROM identity_root WHERE root = ?", (loser,))
            conn.execute(
                f"INSERT OR REPLACE INTO identity_root (root, {', '.join(_COUNT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
                (winner, *add_counts(counts_a, counts_b)),
            )
            conn.execute(
                "INSERT INTO identity_merge (old_root, new_root, ts, event_id) VALUES (?, ?, ?, ?)",
                (loser, winner, int(ts), event_id),
            )
            return LinkOutcome(True, None, winner, (loser, winner))

    def find(self, key: str) -> str:
        """See :meth:`IdentityStore.find`."""
        with self._tx() as conn:
            return self._root_of(conn, key)

    def root_at(self, key: str, ts: int) -> str:
        """See :meth:`IdentityStore.root_at`: the merge log's ``old_root -> new_root`` edges are followed while their
        link's time is at or before ``ts`` (one indexed lookup per merge on the way)."""
        with self._tx() as conn:
            for _ in range(self.rules.max_cluster_size + 1):  # each merge on the way absorbed at least one key
                row = conn.execute("SELECT new_root, ts FROM identity_merge WHERE old_root = ? ORDER BY seq LIMIT 1",
                                   (key,)).fetchone()
                if row is None or row[1] > ts:
                    break
                key = row[0]
            return key

    def rejoin(self, a: str, b: str, ts: int) -> tuple[str, str] | None:
        """See :meth:`IdentityStore.rejoin` (the merge log's time of that merge is moved back to ``ts``)."""
        x, y = self.root_at(a, ts), self.root_at(b, ts)
        if x == y:
            return None
        with self._tx(immediate=True) as conn:
            if self._root_of(conn, a) != self._root_of(conn, b):
                return None
            for old, new in ((x, y), (y, x)):
                row = conn.execute("SELECT seq, new_root, ts FROM identity_merge WHERE old_root = ? ORDER BY seq "
                                   "LIMIT 1", (old,)).fetchone()
                if row is not None and row[1] == new and row[2] > ts:
                    conn.execute("UPDATE identity_merge SET ts = ? WHERE seq = ?", (int(ts), row[0]))
                    return old, new
        return None

    def members(self, root: str) -> list[str]:
        """See :meth:`IdentityStore.members`."""
        with self._tx() as conn:
            actual = self._root_of(conn, root)
            rows = conn.execute("SELECT key FROM identity_node WHERE root = ?", (actual,)).fetchall()
        return sorted((r[0] for r in rows), key=rank_key) if rows else [root]

    def counts(self, key: str) -> Counts:
        """Per-kind counts of ``key``'s component."""
        with self._tx() as conn:
            return self._counts_of(conn, self._root_of(conn, key))

    def merges(self) -> list[tuple[str, str, int, str]]:
        """The merge audit log: ``(old_root, new_root, ts, event_id)`` in commit order."""
        with self._tx() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                "SELECT old_root, new_root, ts, event_id FROM identity_merge ORDER BY seq"
            )]

    def clear(self) -> None:
        """Forget every link (the merge log included): the local runner's restart rebuilds the graph from the
        retained input along with the customers' states (``pipelines.stream``, issue 23.3)."""
        with self._tx(immediate=True) as conn:
            for table in ("identity_node", "identity_root", "identity_merge"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        """Close the connection. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_sqlite_store(url: str, parts: SplitResult, rules: LinkRules | None, **options: Any) -> SqliteIdentityStore:
    """Open ``sqlite://PATH``; ``options``: :class:`SqliteIdentityStore` keywords. ValueError without a path."""
    path = parts.netloc + parts.path
    if not path:
        raise ValueError(f"sqlite store URL needs a path: {url!r}")
    return SqliteIdentityStore(path, rules, **options)
