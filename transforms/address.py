"""Address-status sharing: an opt-out (or bounce) of an address reaches every customer state holding the address.

Identity resolution routes a record to one customer: a ``consent`` revoke by ``family@example.com`` goes to the
customer that address is linked to.  But an address can be held by customers it is *not* linked to: two CRM contacts
created with the same shared mailbox are two customers (the second link is refused by the one-CRM-id cap), and the
second one still delivers to that mailbox (its contact record names it).  Address status is keyed by the hashed
address (``email:<hmac>``), so the fix is routing: every address-status change (``address_effects``) is copied, as
an ``ADDRESS_STREAM`` event (``address_copy``), to every other customer that holds the address (the plain-Python
rules, and ``address_copies`` for the in-process bounded path: :mod:`journeyflow.stages.deliverability`).
"Holds" means: some record routed to that customer names the address (``Event.contact``), whether or not the
identity link was accepted.  A copy changes only the address's status in the receiving state (no journeys, no
channel consent, not counted as an event).

Bounded replay (``ShareAddressStatus``): holders and changes are joined by address key (one ``GroupByKey``): each
change goes to every holder cluster but its own, at its own event time, so a customer that only acquires the
address later has its status from the start.  Inside a cluster ``ClusterFold`` gives the change to every
sub-profile (and to sub-profiles created later).

Streaming (``ShareAddressStatusOnline``): a stateful DoFn keyed by address key keeps the address's holders and its
changes (a short history).  A new change is copied to every holder, the customer the record was routed to included
(a copy is never late, so an opt-out record that reaches its own customer too late — dead-lettered as
``late_event`` — still blocks the address there); a new holder receives every change kept so far.  Holders are kept by the id they had when they named the address; with an identity store a change is
copied to each holder's customer at the change's time and to its current one (a holder may have been merged into
another customer since, before or after the change).  A copy is emitted with the timestamp of
the element that caused it, so the watermark of the per-customer stage cannot pass that time before the copy has
arrived; a copy of an older change that arrives behind a customer's processed horizon is applied just after it
(``transforms.decide_streaming``), carrying its own event time for "latest status wins".
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.coders import BytesCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from journeyflow.model.events import Event
from journeyflow.stages.parse_fast import make_event
from journeyflow.transforms.coders import KEYED_ITEMS, ClusterItems, ClusterRows
from journeyflow.stages.deliverability import (
    _STATUS_STREAMS,
    HARD_BOUNCE,
    SOFT_BOUNCE,
    address_changes,
    address_copies,
    address_copy,
    fan_out,
    held_addresses,
)

#: Changes the streaming router keeps per address (each channel's first hard bounce and latest status are always
#: kept, ``_prune``): replayed to a new holder.
MAX_KEPT_CHANGES = 64


#: Tags of :func:`_address_entries`' values: the item's cluster holds the address / changed its status.
_HOLD, _CHANGE = 0, 1


def _fan_out(group: tuple[str, Iterable[tuple[int, Any]]]) -> Iterator[tuple[str, ClusterItems]]:
    """The copies of one address's joined entries (``(_HOLD, cluster)`` and ``(_CHANGE, (cluster, channel,
    effect, at))``), as replay items (one ``(holder cluster, ClusterItems)`` per copy; ``fan_out`` de-duplicates
    and sorts holders and changes)."""
    key, entries = group
    held, found = [], []
    for tag, value in entries:
        (held if tag == _HOLD else found).append(value)
    if not found:
        return
    for holder, copy in fan_out(key, held, found):
        yield holder, ClusterItems([(copy, ())])


def _address_entries(kv: tuple[str, list]) -> Iterator[tuple[str, tuple[int, Any]]]:
    """The addresses one ``(cluster, ClusterItems)`` holds (each once) and the address-status changes its items
    make, keyed by address key (:func:`~journeyflow.stages.deliverability.holds` and ``changes``).  Items of a
    :class:`~journeyflow.transforms.coders.ClusterRows` are field tuples: an Event is built only for one that
    names an address or may change one's status."""
    cluster, items = kv
    held: set[str] = set()
    rows, make = type(items) is ClusterRows, make_event
    for item in items:  # (holds / changes of each item, without their per-item generator and tuples)
        if rows:
            if not item[6] and item[1] not in _STATUS_STREAMS:  # (no contact, no status stream: nothing below)
                continue
            ev = make(item[0], item[1], item[2], item[3], item[4], item[5], item[6])
        else:
            ev = item[0]
        if ev.contact:
            held.update(held_addresses(ev))
        if ev.stream in _STATUS_STREAMS:  # (no other input stream changes an address: ``AddressCopies.add``)
            for key, ch, effect, at in address_changes(ev):
                yield key, (_CHANGE, (cluster, ch, effect, at))
    for key in sorted(held):
        yield key, (_HOLD, cluster)


class ShareAddressStatus(beam.PTransform):
    """Bounded: (cluster, ClusterItems) → the same plus every address-status copy, keyed by holder cluster."""

    def expand(self, keyed):
        """Joins holders and changes by address key (``AddressEntries`` → ``JoinByAddress``, one GroupByKey of
        tagged entries, holders de-duplicated per cluster and bundle: no ``Distinct`` and ``CoGroupByKey``
        composites, ten fewer steps in the graph, issue 22) and flattens the copies into the input."""
        copies = (keyed
                  | "AddressEntries" >> beam.FlatMap(_address_entries)
                  | "JoinByAddress" >> beam.GroupByKey()
                  | "CopyToHolders" >> beam.FlatMap(_fan_out).with_output_types(KEYED_ITEMS))
        return (keyed, copies) | "WithAddressCopies" >> beam.Flatten().with_output_types(KEYED_ITEMS)


# ------------------------------------------------------------------------------------------------ streaming
def address_messages(item: tuple[str, Event]) -> Iterator[tuple[str, tuple]]:
    """(address key, ("hold", customer) | ("change", channel, effect, at)) for the router."""
    customer, ev = item
    for key in held_addresses(ev):
        yield key, ("hold", customer)
    for key, ch, effect, at in address_changes(ev):
        yield key, ("change", ch, effect, at)


def _prune(changes: list[list]) -> list[list]:
    """The newest ``MAX_KEPT_CHANGES`` changes ``[channel, effect, at]``, always with what decides each channel's
    status: its earliest hard bounce, its latest opt-in/opt-out status (every one at that latest time: a tie's
    blocking status wins in the receiving state) and its latest grant (an address granted, then opted out, stays
    the scope of its holders' consent: ``mailboxes.granted``).  Before, only hard bounces were kept for sure: 64
    soft bounces (each a change of its own) pushed an ``unsubscribed`` out, and a customer naming the address later
    was never told."""
    if len(changes) <= MAX_KEPT_CHANGES:
        return changes
    changes.sort(key=lambda c: (c[2], c[0], c[1]))
    first_hard: dict[str, list] = {}
    last_status: dict[str, int] = {}
    last_grant: dict[str, list] = {}
    for c in changes:
        if c[1] == HARD_BOUNCE:
            first_hard.setdefault(c[0], c)
        elif not c[1].startswith(SOFT_BOUNCE):
            last_status[c[0]] = c[2]
            if c[1] == "granted":
                last_grant[c[0]] = c
    must = [c for c in changes if first_hard.get(c[0]) is c or last_grant.get(c[0]) is c or (
        c[1] != HARD_BOUNCE and not c[1].startswith(SOFT_BOUNCE) and last_status.get(c[0]) == c[2])]
    ids = {id(c) for c in must}
    rest = [c for c in changes if id(c) not in ids and c[1] != HARD_BOUNCE]
    room = MAX_KEPT_CHANGES - len(must)
    keep = rest[-room:] if room > 0 else []
    return sorted(must + keep, key=lambda c: (c[2], c[0], c[1]))


class AddressRouterFn(beam.DoFn):
    """Keyed by address key; state: ``{"holders": [customer ids], "changes": [[channel, effect, at], ...]}``."""

    RECORD = ReadModifyWriteStateSpec("address", BytesCoder())

    def __init__(self, store_url: str | None = None, rules: Any = None):
        self.store_url = store_url
        self.rules = rules
        self.copies = Metrics.counter("journeyflow", "address_status_copies")

    def setup(self) -> None:
        """Opens the identity store, when one is given (holders are mapped to their current customer id)."""
        self.store = None
        if self.store_url:
            from journeyflow.adapters.identity_store import open_store
            self.store = open_store(self.store_url, self.rules)

    def teardown(self) -> None:
        """Closes the identity store."""
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def _targets(self, holders: list[str], at: int) -> list[str]:
        """The customers a change at ``at`` (epoch ms) is copied to: for each holder, the customer it was at ``at``
        (``IdentityStore.root_at``: a holder merged away *after* the change still decides its own events up to the
        merge, when the merging link arrived first) and the one it is now (``find``: its state may already have been
        handed over there); without a store, the holders."""
        if self.store is None:
            return holders
        out: dict[str, None] = {}
        for h in holders:
            out[self.store.root_at(h, at)] = None
            out[self.store.find(h)] = None
        return list(out)

    def process(self, element: tuple[str, tuple], record=beam.DoFn.StateParam(RECORD)) -> Iterator[Any]:
        """A new holder gets every kept change; a new change goes to every holder; yields (customer id, copy)."""
        key, msg = element
        raw = record.read()
        data = json.loads(raw) if raw else {"holders": [], "changes": []}
        holders, changes = data["holders"], data["changes"]
        if msg[0] == "hold":
            customer = msg[1]
            if customer in holders:
                return
            # (even when a holder was merged into this customer: its state may not have been handed over yet)
            for ch, effect, at in changes:
                self.copies.inc()
                yield customer, address_copy(key, ch, effect, at, customer)
            # the holders' own ids are kept (not their current customer): a change dated before a holder's merge
            # goes to the customer the holder was then (``_targets``)
            holders = holders + [customer]
        else:
            _, ch, effect, at = msg
            entry = [ch, effect, at]
            if entry in changes:
                return
            changes.append(entry)
            changes = _prune(changes)
            for h in self._targets(holders, at):
                self.copies.inc()
                yield h, address_copy(key, ch, effect, at, h)
        record.write(json.dumps({"holders": holders, "changes": changes}).encode())


class ShareAddressStatusOnline(beam.PTransform):
    """Streaming: (customer id, Event) → (holder customer id, address-status copy) for the per-customer stage."""

    def __init__(self, store_url: str | None = None, rules: Any = None, label: str | None = None):
        super().__init__(label)
        self.store_url = store_url
        self.rules = rules

    def expand(self, keyed):
        """``AddressMessages`` → ``AddressWindowGlobal`` → ``AddressRouter`` (stateful, keyed by address key)."""
        return (keyed
                | "AddressMessages" >> beam.FlatMap(address_messages)
                | "AddressWindowGlobal" >> beam.WindowInto(beam.window.GlobalWindows())
                | "AddressRouter" >> beam.ParDo(AddressRouterFn(self.store_url, self.rules)))


__all__ = ["AddressRouterFn", "ShareAddressStatus", "ShareAddressStatusOnline", "address_changes", "address_copies",
           "address_messages", "fan_out", "held_addresses"]
