"""``memory://[NAME]`` identity store: an :class:`~journeyflow.stages.identity.graph.IdentityGraph` behind a lock.

One graph per URL (and link rules) per process, like a named in-memory database: every open of the same URL in a
process gets the same graph. Runners may call a DoFn's ``setup`` more than once (Beam's bundle-based DirectRunner
does it for every bundle), so a graph per open would forget every link at the next bundle. Not durable.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import SplitResult

from journeyflow.adapters.identity_store import IdentityStore
from journeyflow.stages.identity.graph import IdentityGraph, LinkOutcome
from journeyflow.stages.identity.rules import LinkRules

__all__ = ["MemoryIdentityStore", "open_memory_store"]


class MemoryIdentityStore(IdentityStore):
    """Non-durable store over :class:`IdentityGraph` (thread-safe)."""

    def __init__(self, rules: LinkRules | None = None):
        self.graph = IdentityGraph(rules)
        self.rules = self.graph.rules
        self._lock = threading.Lock()

    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        """See :meth:`IdentityStore.link` (``ts`` is kept with a merge, for :meth:`root_at`)."""
        with self._lock:
            return self.graph.link(a, b, ts, event_id)

    def find(self, key: str) -> str:
        """See :meth:`IdentityStore.find`."""
        with self._lock:
            return self.graph.find(key)

    def root_at(self, key: str, ts: int) -> str:
        """See :meth:`IdentityStore.root_at`."""
        with self._lock:
            return self.graph.root_at(key, ts)

    def rejoin(self, a: str, b: str, ts: int) -> tuple[str, str] | None:
        """See :meth:`IdentityStore.rejoin`."""
        with self._lock:
            return self.graph.rejoin(a, b, ts)

    def members(self, root: str) -> list[str]:
        """See :meth:`IdentityStore.members`."""
        with self._lock:
            return self.graph.members(root)

    def clear(self) -> None:
        """Forget every link (see ``SqliteIdentityStore.clear``)."""
        with self._lock:
            self.graph = IdentityGraph(self.rules)


_MEMORY_STORES: dict[tuple[str, str], MemoryIdentityStore] = {}
_MEMORY_STORES_LOCK = threading.Lock()


def open_memory_store(url: str, parts: SplitResult, rules: LinkRules | None, **options: Any) -> MemoryIdentityStore:
    """The process's graph for ``url`` (and these link rules), created on first use; ``close`` keeps it.

    ``options`` (query string) are ignored."""
    rules = rules or LinkRules()
    key = (url, rules.fingerprint())
    with _MEMORY_STORES_LOCK:
        store = _MEMORY_STORES.get(key)
        if store is None:
            store = _MEMORY_STORES[key] = MemoryIdentityStore(rules)
        return store
