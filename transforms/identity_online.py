"""ResolveIdentitiesOnline (streaming): the Beam step around :func:`journeyflow.stages.identity.online.resolve_online`.

Each event's links are applied to the identity graph store (embedded SQLite, memory or Cloud Bigtable, chosen by
URL) and the event is keyed by its customer; a merge sends a ``merge_into`` control event to the absorbed
customer's key and a ``merge_from`` to the surviving one (see the stage module for the state hand-over through
the ``state-transfer`` topic); an opt-out naming identifiers of other customers sends each of them a status-only
copy (``journeyflow.stages.identity.opt_outs``).
"""
from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.model.events import Event
from journeyflow.stages.identity.online import MERGE_INTO, resolve_online
from journeyflow.stages.identity.rules import LinkRules

LINKS = "identity_links"


class ResolveOnlineFn(beam.DoFn):
    """Event → ``(customer id, Event)``, ``(absorbed id, merge_into event)`` and ``(surviving id, merge_from
    event)``, and for an opt-out naming other customers' identifiers ``(that customer id, status-only absorb)``
    (``stages.identity.opt_outs``); ``identity_links`` rows on the
    :data:`LINKS` output. Counters ``identity_links_refused`` and ``identity_merges``. The store is opened in
    ``setup`` (per DoFn instance) from ``store_url`` and closed in ``teardown``."""

    def __init__(self, store_url: str, rules: LinkRules):
        self.store_url = store_url
        self.rules = rules
        self.refused = Metrics.counter("journeyflow", "identity_links_refused")
        self.merges = Metrics.counter("journeyflow", "identity_merges")

    def setup(self) -> None:
        """Open the identity store (``journeyflow.adapters.identity_store.open_store``)."""
        from journeyflow.adapters.identity_store import open_store
        self.store = open_store(self.store_url, self.rules)

    def teardown(self) -> None:
        """Close the identity store, if it was opened."""
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def process(self, ev: Event) -> Iterator[Any]:
        """Resolve one event against the store and emit its rows, merge control events and keyed event."""
        res = resolve_online(self.store, ev, self.rules)
        for row in res.rows:
            yield beam.pvalue.TaggedOutput(LINKS, row)
            if row["status"] != "accepted":
                self.refused.inc()
        for target, control in res.merges:
            if control.type == MERGE_INTO:
                self.merges.inc()
            yield target, control
        yield res.customer_id, res.event  # (without the identifiers of a refused link: ``resolve_online``)


class ResolveIdentitiesOnline(beam.PTransform):
    """Event → (customer id, Event), plus ``identity_links`` rows."""

    def __init__(self, store_url: str, rules: LinkRules, label: str | None = None):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules

    def expand(self, events):
        """``ResolveOnline`` step; outputs ``keyed`` (main) and :data:`LINKS`."""
        return events | "ResolveOnline" >> beam.ParDo(ResolveOnlineFn(self.store_url, self.rules)).with_outputs(
            LINKS, main="keyed")
