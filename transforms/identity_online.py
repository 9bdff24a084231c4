"""ResolveIdentitiesOnline (streaming): the Beam step around :func:`journeyflow.stages.identity.online.resolve_online`.

Each event's links are applied to the identity graph store (embedded SQLite, memory or Cloud Bigtable, chosen by
URL) and the event is keyed by its customer; a merge sends a ``merge_into`` control event to the absorbed
customer's key and a ``merge_from`` to the surviving one (see the stage module for the state hand-over through
the ``state-transfer`` topic); an opt-out naming identifiers of other customers sends each of them a status-only
copy (``journeyflow.stages.identity.opt_outs``).

With ``addresses`` (the streaming pipeline), the step also gives the address router's messages of everything it keys
(``transforms.address.address_messages``) on :data:`ADDRESSES`, and :class:`RouteAddressStatus` routes them: the
router's input without a step of its own (``ShareAddressStatus/AddressMessages`` before: a runner step per keyed
element, issue 22; the messages, their order and their timestamps are the same).
"""
from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.model.events import Event
from journeyflow.stages.identity.online import MERGE_INTO, resolve_online
from journeyflow.stages.identity.rules import LinkRules
from journeyflow.transforms.address import AddressRouterFn, address_messages
from journeyflow.transforms.windows import in_global_windows

LINKS = "identity_links"
#: Output tag of the address router's messages (``addresses``): ``(address key, message)``.
ADDRESSES = "address_messages"


class ResolveOnlineFn(beam.DoFn):
    """Event → ``(customer id, Event)``, ``(absorbed id, merge_into event)`` and ``(surviving id, merge_from
    event)``, and for an opt-out naming other customers' identifiers ``(that customer id, status-only absorb)``
    (``stages.identity.opt_outs``); ``identity_links`` rows on the
    :data:`LINKS` output (``links`` False: none, counted all the same: a graph without tables reads none); with
    ``addresses``, the address router's messages of each keyed output on :data:`ADDRESSES` (module docstring).
    Counters ``identity_links_refused`` and ``identity_merges``. The store is opened in ``setup`` (per DoFn
    instance) from ``store_url`` and closed in ``teardown``."""

    def __init__(self, store_url: str, rules: LinkRules, addresses: bool = False, links: bool = True):
        self.store_url = store_url
        self.rules = rules
        self.addresses, self.links = addresses, links
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
            if self.links:
                yield beam.pvalue.TaggedOutput(LINKS, row)
            if row["status"] != "accepted":
                self.refused.inc()
        for target, control in res.merges:
            if control.type == MERGE_INTO:
                self.merges.inc()
            yield target, control
        yield res.customer_id, res.event  # (without the identifiers of a refused link: ``resolve_online``)
        if self.addresses:  # (in the order the keyed outputs were given, as the FlatMap over them did)
            for item in (*res.merges, (res.customer_id, res.event)):
                for msg in address_messages(item):
                    yield beam.pvalue.TaggedOutput(ADDRESSES, msg)


class ResolveIdentitiesOnline(beam.PTransform):
    """Event → (customer id, Event), plus ``identity_links`` rows (none with ``links`` False: ``pipelines.stream``
    without tables) and with ``addresses`` the address router's messages (:data:`ADDRESSES`)."""

    def __init__(self, store_url: str, rules: LinkRules, label: str | None = None, addresses: bool = False,
                 links: bool = True):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules
        self.addresses, self.links = addresses, links

    def expand(self, events):
        """``ResolveOnline`` step; outputs ``keyed`` (main) and :data:`LINKS` (and :data:`ADDRESSES`)."""
        return events | "ResolveOnline" >> beam.ParDo(ResolveOnlineFn(
            self.store_url, self.rules, self.addresses, self.links)).with_outputs(
                LINKS, *((ADDRESSES,) if self.addresses else ()), main="keyed")


class RouteAddressStatus(beam.PTransform):
    """Streaming: the address router's messages (:data:`ADDRESSES`) → (holder customer id, address-status copy):
    ``transforms.address.ShareAddressStatusOnline`` without its ``AddressMessages`` step (module docstring); applied
    under the label ``ShareAddressStatus``, the router keeps its label (``AddressRouter``) and state."""

    def __init__(self, store_url: str | None = None, rules: Any = None, label: str | None = None):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules

    def expand(self, messages):
        """``AddressWindowGlobal`` (only when ``messages`` has another windowing than the default global one, as
        ``DecideOrdered/WindowGlobal``) → ``AddressRouter`` (stateful, keyed by address key)."""
        if not in_global_windows(messages):
            messages = messages | "AddressWindowGlobal" >> beam.WindowInto(beam.window.GlobalWindows())
        return messages | "AddressRouter" >> beam.ParDo(AddressRouterFn(self.store_url, self.rules))
