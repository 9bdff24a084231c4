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

_FACT_KEYS = frozenset(CustomerState().facts(0))
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


class _LazyCustomer(Mapping):
    """The ``customer`` variable: ``state.facts(now)`` plus product facts (of the event's or the entry's product: 0
    views and not bought without one), computed on first access only, ``reachable`` (per channel, on access), and
    ``traits`` (declared traits and computed attributes, :class:`~journeyflow.stages.attributes.TraitsView`).
    ``at``: ``(state, now, product, attributes, stale_ms, soft)`` -- ``stale_ms``: open tickets stale at ``now`` are
    not counted (``CustomerState.open_tickets_at``); ``soft``: the policy's soft-bounce limit (max, within ms), for
    reachable as the arbiter decides.  (One tuple: cheaper to make than six attributes; not the :class:`_Ctx`
    itself, which holds this object: a reference cycle would leave both to the garbage collector.)"""

    __slots__ = ("_at", "_facts", "_traits")

    def __init__(self, at: tuple):
        self._at = at
        self._facts: dict | None = None
        self._traits: TraitsView | None = None

    def __getitem__(self, key: str) -> Any:
        state, now, product, attributes, stale_ms, soft = self._at
        if key == "traits":
            if self._traits is None:
                self._traits = TraitsView(attributes, state, now)
            return self._traits
        if key == _REACHABLE:
            return _Reachable(state, now, soft)
        if key == "product_views_7d":  # an event without a product: no views of it, not bought
            return state.views_of(product, now, 7 * DAY) if product is not None else 0
        if key == "bought_product_30d":
            return product is not None and state.bought_within(product, now, 30 * DAY)
        if key not in _FACT_KEYS:
            raise KeyError(key)
        if self._facts is None:
            self._facts = state.facts(now, stale_ms)
        return self._facts[key]

    def __contains__(self, key: object) -> bool:
        return key in _FACT_KEYS or key == "traits" or key in _PRODUCT_KEYS or key == _REACHABLE

    def __iter__(self) -> Iterator[str]:
        yield from _FACT_KEYS
        yield "traits"
        yield from _PRODUCT_KEYS
        yield _REACHABLE

    def __len__(self) -> int:
        return len(_FACT_KEYS) + 2 + len(_PRODUCT_KEYS)


class _Ctx:
    """What a condition may look at, built lazily (most events never evaluate a condition): ``activation()`` (the
    event's dict and ``customer``) and ``customer_activation()`` (``customer`` alone, the same object, for a condition
    that names no ``event``: ``Condition.evaluate_in``)."""

    __slots__ = ("state", "now", "event", "product", "_act", "attributes", "stale_ms", "soft", "_cust", "_cact")

    def __init__(self, state: CustomerState, now: int, event: Event | None, product: str | None,
                 attributes: AttributeSet = _NO_ATTRIBUTES, stale_ms: int | None = None,
                 soft: tuple[int, int] = (0, 0)):
        self.stale_ms, self.soft = stale_ms, soft
        self.state = state
        self.now = now
        self.event = event
        self.product = product
        self.attributes = attributes
        self._act: dict | None = None
        self._cust: _LazyCustomer | None = None
        self._cact: dict | None = None

    def _customer(self) -> _LazyCustomer:
        c = self._cust
        if c is None:
            c = self._cust = _LazyCustomer((self.state, self.now, self.product, self.attributes, self.stale_ms,
                                            self.soft))
        return c

    def customer_activation(self) -> dict:
        """``{"customer": ...}``: the ``customer`` of :meth:`activation` without the event's dict."""
        if self._cact is None:
            self._cact = {"customer": self._customer()}
        return self._cact

    def activation(self) -> dict:
        if self._act is None:
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
            self._act = {"event": e, "customer": self._customer()}
        return self._act


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
