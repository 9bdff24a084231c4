"""The activation a journey condition sees (plain Python, no Beam): ``customer`` (a lazy view of
:meth:`CustomerState.facts`, the product facts of the triggering product and ``traits``: declared traits and computed
attributes, ``journeyflow.stages.attributes``) and ``event`` (the triggering event's attributes, its ``properties``
always present); plus what a membership keeps of its entry event (its product, its order/ticket references).

Split from ``journeyflow.stages.journeys.engine``, which runs the journeys.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import Event
from journeyflow.stages.attributes import AttributeSet, TraitsView
from journeyflow.stages.state import DAY, CustomerState
from journeyflow.stages.state_facts import fact as _fact

_FACT_KEYS = frozenset(CustomerState().facts(0))
_WEEK = 7 * DAY
_PRODUCT_KEYS = ("product_views_7d", "bought_product_30d")
#: ``customer.reachable.<channel>``: the arbiter would find a delivery address for a send on the channel now --
#: ``CustomerState.delivery_address`` with the policy's soft-bounce limit (``JourneyEngine.soft_bounces``), as
#: arbitration's address rule calls it: an address (email, SMS-capable phone, a push user with a device still
#: permitted) that is not opted out itself, not hard-bounced, not over the soft-bounce limit, not an unregistered push
#: device.  Not included (arbitration's, checked at send time): channel consent and ``consent.requires: granted``
#: (read ``customer.consent.<channel>``), frequency caps, quiet hours, open tickets, exclusion.  Before, the
#: soft-bounce limit was left out: after three transient push errors the welcome branch picked push, arbitration
#: suppressed it ``no_address`` and the onboarding tips were not sent at all
_REACHABLE = "reachable"
_NO_ATTRIBUTES = AttributeSet()


class _Reachable(Mapping):
    """``customer.reachable``: channel -> bool, each computed when read (a condition reads one channel; this was a
    dict of all four, each a ``delivery_address`` call), not kept: a new one per read of ``customer.reachable``."""

    __slots__ = ("_state", "_now", "_soft")

    def __init__(self, state: CustomerState, now: int, soft: tuple[int, int]):
        self._state, self._now, self._soft = state, now, soft

    def __getitem__(self, channel: str) -> bool:
        if channel not in CHANNELS:
            raise KeyError(channel)
        return self._state.delivery_address(channel, self._now, *self._soft).__class__ is tuple

    def __contains__(self, channel: object) -> bool:
        return channel in CHANNELS

    def __iter__(self) -> Iterator[str]:
        return iter(CHANNELS)

    def __len__(self) -> int:
        return len(CHANNELS)


class _Ctx(Mapping):
    """What a condition may look at, built lazily (most events never evaluate a condition): ``activation()`` (the
    event's dict and ``customer``) and ``customer_activation()`` (``customer`` alone, the same object, for a condition
    that names no ``event``: ``Condition.evaluate_in``).

    The context is itself the ``customer`` variable (a Mapping): ``state.facts(now)`` (each fact worked out when read,
    ``state_facts.fact``: the same value) plus product facts (of the event's or the entry's product: 0 views and not
    bought without one), ``reachable`` (per channel, on access), and ``traits`` (declared traits and computed
    attributes, :class:`~journeyflow.stages.attributes.TraitsView`, made on first access).  ``stale_ms``: open
    tickets stale at ``now`` are not counted (``CustomerState.open_tickets_at``); ``soft``: the policy's soft-bounce
    limit (max, within ms), for reachable as the arbiter decides.  (Before, ``customer`` was an object of its own,
    made per context that evaluated a condition.)  The activation dicts are made per call, not kept: one kept would
    hold the context (a reference cycle, left to the garbage collector); the event's dict is kept.

    As a Mapping the context compares by content and is unhashable (as the old ``customer`` object was); compare
    contexts with ``is``.  Facts are read live from ``state``, not a snapshot taken at the first read: nothing may
    change a fact's inputs (sends, tickets, orders, cart, views, consent, ids, lifecycle) while a context is in use
    (the journey engine changes only journeys and timers; session-20 review)."""

    __slots__ = ("state", "now", "event", "product", "attributes", "stale_ms", "soft", "_ev", "_traits")

    def __init__(self, state: CustomerState, now: int, event: Event | None, product: str | None,
                 attributes: AttributeSet = _NO_ATTRIBUTES, stale_ms: int | None = None,
                 soft: tuple[int, int] = (0, 0)):
        self.stale_ms, self.soft = stale_ms, soft
        self.state = state
        self.now = now
        self.event = event
        self.product = product
        self.attributes = attributes
        self._ev: dict | None = None
        self._traits: TraitsView | None = None

    # ------------------------------------------------------------------ customer (Mapping)
    def __getitem__(self, key: str) -> Any:
        if key == "product_views_7d":  # an event without a product: no views of it, not bought
            product = self.product
            return self.state.views_of(product, self.now, _WEEK) if product is not None else 0
        if key in _FACT_KEYS:
            return _fact(self.state, key, self.now, self.stale_ms)
        if key == "traits":
            if self._traits is None:
                self._traits = TraitsView(self.attributes, self.state, self.now)
            return self._traits
        if key == _REACHABLE:
            return _Reachable(self.state, self.now, self.soft)
        if key == "bought_product_30d":
            product = self.product
            return product is not None and self.state.bought_within(product, self.now, 30 * DAY)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in _FACT_KEYS or key == "traits" or key in _PRODUCT_KEYS or key == _REACHABLE

    def __iter__(self) -> Iterator[str]:
        yield from _FACT_KEYS
        yield "traits"
        yield from _PRODUCT_KEYS
        yield _REACHABLE

    def __len__(self) -> int:
        return len(_FACT_KEYS) + 2 + len(_PRODUCT_KEYS)

    # ------------------------------------------------------------------ activations
    def customer_activation(self) -> dict:
        """``{"customer": ...}``: the ``customer`` of :meth:`activation` without the event's dict."""
        return {"customer": self}

    def activation(self) -> dict:
        e = self._ev
        if e is None:
            ev = self.event
            if ev is not None:  # (one dict display: the keys in the order of a copy then the items set)
                a = ev.attrs
                if "properties" in a:
                    e = {**a, "stream": ev.stream, "type": ev.type, "ts": ev.ts}
                else:  # a missing property is then a CEL "no such key" error, counted
                    e = {**a, "properties": {}, "stream": ev.stream, "type": ev.type, "ts": ev.ts}
            else:  # a timer: no event, only the time and the entry's product
                e = {"stream": "timer", "type": "timer", "ts": self.now}
                if self.product is not None:
                    e["product_id"] = self.product
            self._ev = e
        return {"event": e, "customer": self}


def _event_product(ev: Event) -> str | None:
    a = ev.attrs
    pid = a.get("product_id")
    if pid:
        return str(pid)
    pids = a.get("product_ids")
    if pids:
        return str(pids[0])
    return None


#: Entry-event fields a membership keeps for the messages of its actions (``Candidate.refs``), per stream.
_REF_FIELDS = {"orders": ("order_id", "amount", "currency"), "support": ("ticket_id", "severity")}


def _event_refs(ev: Event) -> dict[str, Any]:
    a = ev.attrs
    return {f: a[f] for f in _REF_FIELDS.get(ev.stream, ()) if a.get(f) is not None}
