"""Identity-graph stores: one small interface, one module per backend, chosen by URL scheme and loaded lazily.

Shape borrowed from Feast's ``OnlineStore`` (one abstract class, one module per backend, chosen by a short name in
config and imported only when used):

* ``memory://`` (or ``memory://NAME``) — :class:`journeyflow.adapters.memory_store.MemoryIdentityStore`, an
  in-process graph shared by every open of the same URL in a process;
* ``sqlite:///abs/path.db`` (or ``sqlite://relative/path.db``) — :class:`journeyflow.adapters.sqlite_store.
  SqliteIdentityStore`, the embedded durable default (query option ``?synchronous=full|normal|off|extra``);
* ``bigtable://project/instance/table`` — :class:`journeyflow.adapters.bigtable_store.BigtableIdentityStore`
  (a concurrent union-find over CheckAndMutateRow; needs ``google-cloud-bigtable``).

Every backend applies the same rules as :class:`~journeyflow.stages.identity.graph.IdentityGraph` by calling the
same pure functions (:func:`~journeyflow.stages.identity.graph.pick_root`,
:meth:`~journeyflow.stages.identity.rules.Guard.refusal`): the root of a component is its canonical (minimum
``rank_key``) member, and a link that would exceed a guard cap is refused with the same reason code. Unknown keys
are their own singleton roots; a refused link writes nothing.
"""

from __future__ import annotations

import abc
import importlib
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from journeyflow.stages.identity.graph import LinkOutcome
from journeyflow.stages.identity.rules import LinkRules

__all__ = ["BACKENDS", "IdentityStore", "check_store_url", "open_store"]


class IdentityStore(abc.ABC):
    """Union-find over identifier keys with canonical roots and merge-protection guards (``rules``).

    Keys are identifier keys (``"<kind>:<value>"``, see :mod:`journeyflow.stages.identity.keys`); a key of an
    unknown kind raises ValueError before anything is written. Usable as a context manager (closes on exit).
    """

    rules: LinkRules

    @abc.abstractmethod
    def link(self, a: str, b: str, ts: int = 0, event_id: str = "") -> LinkOutcome:
        """Union the components of ``a`` and ``b`` unless a guard refuses it. Idempotent.

        ``ts`` (epoch ms) and ``event_id`` identify the linking event (kept in audit logs where a backend has one).
        """

    @abc.abstractmethod
    def find(self, key: str) -> str:
        """Canonical root of ``key``'s component (``key`` itself when unknown)."""

    def root_at(self, key: str, ts: int) -> str:
        """The canonical root ``key`` had at event time ``ts`` (epoch ms): the merges are followed from ``key`` while
        the time of the link that made each is at or before ``ts`` (see
        :meth:`~journeyflow.stages.identity.graph.IdentityGraph.root_at`; ``key`` itself when unknown).  A backend
        that keeps no merge times answers :meth:`find`."""
        return self.find(key)

    def rejoin(self, a: str, b: str, ts: int) -> tuple[str, str] | None:
        """Move an existing merge back to ``ts`` when a link between ``a`` and ``b``, already joined, is dated
        before it (see :meth:`~journeyflow.stages.identity.graph.IdentityGraph.rejoin`); ``(absorbed, survivor)``
        or None.  A backend that keeps no merge times: None."""
        return None

    @abc.abstractmethod
    def members(self, root: str) -> list[str]:
        """Members of the component of ``root`` (any member works), sorted by ``rank_key``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Idempotent."""

    def __enter__(self) -> IdentityStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: URL scheme → ``"module:factory"``; the factory takes ``(url, parts, rules, **options)``. Imported on first use.
BACKENDS: dict[str, str] = {
    "memory": "journeyflow.adapters.memory_store:open_memory_store",
    "sqlite": "journeyflow.adapters.sqlite_store:open_sqlite_store",
    "bigtable": "journeyflow.adapters.bigtable_store:open_bigtable_store",
}


def check_store_url(url: str) -> str:
    """``url`` when its scheme is one of :data:`BACKENDS` (checked before a pipeline starts; the store itself is
    opened on the workers); ValueError otherwise."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in BACKENDS:
        raise ValueError(f"unknown identity store {url!r}: use {', '.join(s + '://' for s in BACKENDS)} "
                         "(e.g. sqlite://.journeyflow/identity.db, bigtable://PROJECT/INSTANCE/TABLE)")
    return url


def open_store(url: str, rules: LinkRules | None = None, **options: Any) -> IdentityStore:
    """Open an identity store by URL scheme (``memory://``, ``sqlite://...``, ``bigtable://p/i/t``).

    Query-string options and ``options`` are passed to the backend's constructor (``options`` win). ValueError for
    an unknown scheme or a malformed URL; the backend module is imported only here.
    """
    parts = urlsplit(url)
    target = BACKENDS.get(parts.scheme.lower())
    if target is None:
        raise ValueError(f"unknown identity store scheme {parts.scheme!r} in {url!r} ({', '.join(BACKENDS)})")
    query: dict[str, Any] = dict(parse_qsl(parts.query))
    query.update(options)
    module, _, factory = target.partition(":")
    return getattr(importlib.import_module(module), factory)(url, parts, rules, **query)
