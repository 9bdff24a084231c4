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

With ``pack`` (the streaming pipeline), a ``merge_from`` addressed to the customer its event is keyed by (the
survivor of the event's own link: every one in the bench's population) travels inside that event's element:
``(customer id, (merge_from, ..., event))`` instead of one element each (:func:`packed_value`, unpacked by
``DecideOrdered``, which buffers them one by one in that order as before).  39 % of the per-customer stage's
elements were merge control events, each a runner step (issue 22).
"""
from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.model.events import Event
from journeyflow.stages.identity.online import MERGE_FROM, MERGE_INTO, resolve_online
from journeyflow.stages.identity.rules import LinkRules
from journeyflow.transforms.address import AddressRouterFn, address_messages
from journeyflow.transforms.windows import in_global_windows

LINKS = "identity_links"
#: Output tag of the address router's messages (``addresses``): ``(address key, message)``.
ADDRESSES = "address_messages"


def packed_value(customer: str, merges: list[tuple[str, Event]], event: Event) -> tuple[list[tuple[str, Event]],
                                                                                         Event | tuple[Event, ...]]:
    """``(the merges still sent as elements of their own, the value of the event's element)`` for ``pack``
    (module docstring): the ``merge_from`` s addressed to ``customer`` go into the event's value, a tuple ending
    with the event, in their order; when a merge of another type is addressed to ``customer`` (none is: a merge's
    two sides are two customers; a status copy goes to other customers), nothing is packed."""
    mine = [c for target, c in merges if target == customer]
    if not mine or any(c.type != MERGE_FROM for c in mine):
        return merges, event
    return [(t, c) for t, c in merges if t != customer], (*mine, event)


class ResolveOnlineFn(beam.DoFn):
    """Event → ``(customer id, Event)``, ``(absorbed id, merge_into event)`` and ``(surviving id, merge_from
    event)``, and for an opt-out naming other customers' identifiers ``(that customer id, status-only absorb)``
    (``stages.identity.opt_outs``); ``identity_links`` rows on the
    :data:`LINKS` output (``links`` False: none, counted all the same: a graph without tables reads none); with
    ``addresses``, the address router's messages of each keyed output on :data:`ADDRESSES`; with ``pack``, the
    ``merge_from`` s to the event's own customer inside its element (module docstring).
    Counters ``identity_links_refused`` and ``identity_merges``. The store is opened in ``setup`` (per DoFn
    instance) from ``store_url`` and closed in ``teardown``."""

    def __init__(self, store_url: str, rules: LinkRules, addresses: bool = False, links: bool = True,
                 pack: bool = False):
        self.store_url = store_url
        self.rules = rules
        self.addresses, self.links, self.pack = addresses, links, pack
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
        merges, value = packed_value(res.customer_id, res.merges, res.event) if self.pack else (res.merges, res.event)
        for target, control in res.merges:
            if control.type == MERGE_INTO:
                self.merges.inc()
        for item in merges:
            yield item
        yield res.customer_id, value  # (without the identifiers of a refused link: ``resolve_online``)
        if self.addresses:  # (in the order the keyed outputs were given, as the FlatMap over them did)
            for item in (*res.merges, (res.customer_id, res.event)):
                for msg in address_messages(item):
                    yield beam.pvalue.TaggedOutput(ADDRESSES, msg)


class ResolveIdentitiesOnline(beam.PTransform):
    """Event → (customer id, Event), plus ``identity_links`` rows (none with ``links`` False: ``pipelines.stream``
    without tables) and with ``addresses`` the address router's messages (:data:`ADDRESSES`); with ``pack``, an
    event's value is ``(merge_from, ..., event)`` when merges of its links go to its customer (module docstring)."""

    def __init__(self, store_url: str, rules: LinkRules, label: str | None = None, addresses: bool = False,
                 links: bool = True, pack: bool = False):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules
        self.addresses, self.links, self.pack = addresses, links, pack

    def expand(self, events):
        """``ResolveOnline`` step; outputs ``keyed`` (main) and :data:`LINKS` (and :data:`ADDRESSES`)."""
        return events | "ResolveOnline" >> beam.ParDo(ResolveOnlineFn(
            self.store_url, self.rules, self.addresses, self.links, self.pack)).with_outputs(
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
