"""Streaming identity resolution against the identity graph store (embedded SQLite or Cloud Bigtable).

For each event, its links are applied to the store (``link`` is idempotent, so Beam retries are harmless) and the
event is keyed by the canonical root of its primary identifier.  When a link merges two customers, a
``merge_into`` control event (pseudo-stream ``_identity``) is sent to the absorbed customer's key at the link's
event time; that customer's state then travels to the surviving key through the ``state-transfer`` topic (see
``journeyflow.stages.processor.CustomerProcessor._on_identity``), because a Beam graph cannot hand state from key A to
key B inside one stage.
"""
from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.stages.identity import LinkRules, links_for, rank_key
from journeyflow.model.events import Event
from journeyflow.stages.processor import IDENTITY_STREAM

LINKS = "identity_links"


class ResolveOnlineFn(beam.DoFn):
    def __init__(self, store_url: str, rules: LinkRules):
        self.store_url = store_url
        self.rules = rules
        self.refused = Metrics.counter("journeyflow", "identity_links_refused")
        self.merges = Metrics.counter("journeyflow", "identity_merges")

    def setup(self) -> None:
        from journeyflow.adapters.identity_store import open_store
        self.store = open_store(self.store_url, self.rules)

    def teardown(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def process(self, ev: Event) -> Iterator[Any]:
        for a, b in links_for(ev.stream, ev.type, ev.ids, self.rules):
            outcome = self.store.link(a, b, ev.ts, ev.uid)
            yield beam.pvalue.TaggedOutput(LINKS, {
                "identifier_a": a, "identifier_b": b, "customer_id": outcome.root, "event_id": ev.uid,
                "stream": ev.stream, "ts": ev.ts, "status": "accepted" if outcome.accepted else "refused",
                "reason": outcome.reason})
            if not outcome.accepted:
                self.refused.inc()
            elif outcome.merged:
                old, new = outcome.merged
                self.merges.inc()
                yield old, Event(uid=f"merge:{old}:{ev.uid}", stream=IDENTITY_STREAM, type="merge_into", ts=ev.ts,
                                 ids=(old,), attrs={"into": new})
        primary = min(ev.ids, key=rank_key)
        root = self.store.find(primary)
        yield root, ev


class ResolveIdentitiesOnline(beam.PTransform):
    """Event → (customer id, Event), plus ``identity_links`` rows."""

    def __init__(self, store_url: str, rules: LinkRules, label: str | None = None):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules

    def expand(self, events):
        return events | "ResolveOnline" >> beam.ParDo(ResolveOnlineFn(self.store_url, self.rules)).with_outputs(
            LINKS, main="keyed")
