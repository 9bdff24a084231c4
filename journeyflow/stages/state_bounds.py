"""Bounds on one customer's state (issue 23): caps applied on write, and retirement of a dormant customer.

Pure Python, shared by both paths through :class:`journeyflow.stages.processor.CustomerProcessor`:

* :func:`cap` applies the ``Retention`` length caps after every event and timer moment (``expire`` applies the
  time windows once a day of event time; before issue 23 it was also the only place the caps were applied, so a hot
  customer's state grew linearly within a day: 20k events → 194 KB);
* a customer silent for ``dormant_ms`` (the longest window, 180 days by default) with nothing pending has nothing
  windowed left: :func:`retire` drops it all, activity times included, and says whether anything is left at all.
  Streaming keeps an event-time timer pending at ``last_event + dormant_ms`` while a customer has state and clears
  the stored state when nothing is left (``transforms.decide_streaming``; state in the global window is never
  garbage-collected by the runner); bounded replay retires lazily, before the customer's next input
  (``CustomerProcessor.on_event``), at the same event time, so both paths decide from the same state.

What never expires is kept on purpose (compliance: an opt-out is never forgotten): consent, delivery addresses and
their statuses, time zone, lifecycle stage, owner, ``reentry: never`` markers, and then the identifiers.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import islice
from typing import Any, Callable

from journeyflow.stages import deliverability as _dl
from journeyflow.stages.attributes_expiry import expire_computed
from journeyflow.stages.state import CustomerState, Retention, _ticket_ts

__all__ = ["cap", "cap_event", "dormant_ms", "expire_journeys", "expire_state", "is_dormant", "is_empty", "retire",
           "trim_sends", "trim_views"]

_EMPTY = (None, [], {}, "")


def dormant_ms(r: Retention) -> int:
    """The longest window of ``r`` (ms): a customer silent this long has nothing windowed left."""
    return max(r.views_ms, r.sends_ms, r.purchases_ms, r.orders_ms, r.cart_ms, r.resolved_ticket_ms, r.seen_ms,
               r.journey_history_ms, r.soft_bounces_ms)


def _newest(d: dict, n: int, ts_of: Callable[[Any], int]) -> dict:
    """The ``n`` entries of ``d`` with the latest times (``ts_of(value)``; ties: the greater key), oldest first."""
    return dict(sorted(d.items(), key=lambda kv: (ts_of(kv[1]), kv[0]))[-n:])


def cap(s: CustomerState, r: Retention) -> None:
    """Apply ``r``'s length caps to ``s`` in place: O(1) when under them.  The rule of ``CustomerState.expire``'s caps
    (keep the most recent entries; ties by id); ``seen`` is trimmed back to ``max_seen`` once it is over by a quarter
    (amortized; the trim points depend only on the events, so they are the same on both paths)."""
    known = _LIMITS  # (one read of the global: another thread may replace it between two reads)
    lim = known[1] if known[0] is r else _limits(r)  # (the caps of one Retention: worked out once, not per call)
    if (len(s.seen) <= lim[0] and len(s.views) <= lim[1] and len(s.sends) <= lim[2] and len(s.orders) <= lim[3]
            and len(s.purchases) <= lim[4] and len(s.cart) <= lim[5] and len(s.cancelled) <= lim[6]
            and len(s.resolved) <= lim[7]):
        if s.journeys:  # (the usual case: every list under its cap, only the journeys' entries to look at)
            most = lim[8]
            for m in s.journeys.values():
                entries = m.get("entries")
                if entries and len(entries) > most:
                    del entries[:len(entries) - most]
        return
    if len(s.views) > r.max_views:
        s.views = trim_views(s.views, r)  # (each product's newest views first: its count stays exact)
    if len(s.sends) > r.max_sends:
        s.sends = trim_sends(s.sends, r)  # (the newest max_sends, and what the policy's caps still count)
    if len(s.orders) > r.max_orders:
        del s.orders[:len(s.orders) - r.max_orders]
    if len(s.purchases) > r.max_purchases:
        s.purchases = _newest(s.purchases, r.max_purchases, int)
    if len(s.cart) > r.max_cart:
        s.cart = _newest(s.cart, r.max_cart, int)
    if len(s.cancelled) > r.max_cancelled:
        s.cancelled = _newest(s.cancelled, r.max_cancelled, int)
    if len(s.resolved) > r.max_resolved:
        s.resolved = _newest(s.resolved, r.max_resolved, lambda v: v[0])
    if len(s.seen) > r.max_seen + r.max_seen // 4:
        s.seen = _newest(s.seen, r.max_seen, int)
    for m in s.journeys.values():
        entries = m.get("entries")
        if entries and len(entries) > r.max_entries_per_journey:
            del entries[:len(entries) - r.max_entries_per_journey]


def cap_event(s: CustomerState, r: Retention, event_type: str, steps: Iterable[Any] = ()) -> None:
    """:func:`cap` after one event of type ``event_type`` (``CustomerState.apply``, computed attributes, journeys)
    when ``s`` was within every cap before it: only the lists that event can have grown are looked at -- ``seen``,
    those ``CustomerState.apply`` adds to for that type (:data:`_GROWN_BY_TYPE`) and the entry times of the
    journeys it entered (``steps``: the engine's ``JourneyStep`` rows of the event; an entry is the only thing that
    adds an entry time) -- and when one of them is over its cap, :func:`cap` does the rest, so the result is
    :func:`cap`'s.  The caller knows the state was within the caps (``CustomerProcessor.on_event``: capped by this
    call before, no moment pending)."""
    known = _LIMITS
    lim = known[1] if known[0] is r else _limits(r)
    if len(s.seen) > lim[0]:
        return cap(s, r)
    grown = _GROWN_BY_TYPE.get(event_type)
    if grown is not None:
        for name, i in grown:
            if len(getattr(s, name)) > lim[i]:
                return cap(s, r)
    for st in steps:
        if st[3] == "entered":  # (JourneyStep.kind)
            m = s.journeys.get(st[1])  # (JourneyStep.journey_id)
            entries = m.get("entries") if m is not None else None
            if entries and len(entries) > lim[8]:
                return cap(s, r)


#: The capped lists ``CustomerState.apply`` adds to for an event of a type (besides ``seen``): ``(field, index of
#: its cap in _limits)``; product views, cart lines, orders and their purchases, cancellations, resolved tickets.
_GROWN_BY_TYPE: dict[str, tuple[tuple[str, int], ...]] = {
    "product_view": (("views", 1),), "add_to_cart": (("cart", 5),),
    "order_placed": (("orders", 3), ("purchases", 4)), "order_cancelled": (("cancelled", 6),),
    "ticket_resolved": (("resolved", 7),)}


def _limits(r: Retention) -> tuple[int, ...]:
    """The length caps :func:`cap` compares with, remembered for the last ``r`` seen (one per configuration)."""
    global _LIMITS
    lim = (r.max_seen + r.max_seen // 4, r.max_views, r.max_sends, r.max_orders, r.max_purchases, r.max_cart,
           r.max_cancelled, r.max_resolved, r.max_entries_per_journey)
    _LIMITS = (r, lim)
    return lim


_LIMITS: tuple = (None, ())


def expire_state(s: CustomerState, now: int, r: Retention) -> None:
    """``CustomerState.expire``: drop what is older than its window in ``r`` at ``now`` (epoch ms) and apply the
    caps of the lists, in place; ``expired_at`` becomes ``now``.  A container is rebuilt only when one of its entries
    has expired or it is over its cap: its oldest time is looked up first (at one pass a day most have nothing to
    drop), and a container kept as it is equals what the rebuild would have produced."""
    known = _WINDOWS  # (one read of the global, as in ``cap``)
    (views_ms, max_views, sends_ms, max_sends, orders_ms, max_orders, purchases_ms, max_purchases, cart_ms,
     open_ticket_ms, resolved_ticket_ms, seen_ms, max_seen, soft_bounces_ms, attributes, history_ms, most_entries,
     configured) = known[1] if known[0] is r else _windows(r)
    s.expired_at = now
    views = s.views
    if views and (views[0][0] <= now - views_ms or len(views) > max_views):
        s.views = trim_views([v for v in views if v[0] > now - views_ms], r)
    sends = s.sends
    if sends and (sends[0][0] <= now - sends_ms or len(sends) > max_sends):
        s.sends = trim_sends([x for x in sends if x[0] > now - sends_ms], r)
    orders = s.orders
    if orders and (orders[0][0] <= now - orders_ms or len(orders) > max_orders):
        s.orders = [o for o in orders if o[0] > now - orders_ms][-max_orders:]
    purchases = s.purchases
    if purchases:
        s.purchases = _recent(purchases, now - purchases_ms, max_purchases)
    cart = s.cart
    if cart and min(cart.values()) <= now - cart_ms:
        s.cart = {k: v for k, v in cart.items() if v > now - cart_ms}
    tickets = s.tickets
    if tickets and open_ticket_ms is not None:  # stale: no open/escalate event for that long
        lo = now - open_ticket_ms
        for t in tickets.values():  # (loops, not generator expressions: no closure made per call)
            if _ticket_ts(t) <= lo:
                s.tickets = {k: v for k, v in tickets.items() if _ticket_ts(v) > lo}
                break
    resolved = s.resolved
    if resolved:
        lo = now - resolved_ticket_ms
        for t in resolved.values():  # (the oldest resolution is in the window: nothing goes)
            if t[0] <= lo:
                s.resolved = {k: v for k, v in resolved.items() if v[0] > lo}
                break
    seen = s.seen
    if seen:  # (``_recent``'s one-pass test inlined for the usual few entries: no call when nothing goes)
        lo = now - seen_ms
        if len(seen) > _SMALL or len(seen) > max_seen:
            s.seen = _recent(seen, lo, max_seen)
        else:
            for v in seen.values():
                if v <= lo:
                    s.seen = _recent(seen, lo, max_seen)
                    break
    cancelled = s.cancelled
    if cancelled and min(cancelled.values()) <= now - orders_ms:
        s.cancelled = {k: v for k, v in cancelled.items() if v > now - orders_ms}
    if s.addr_status:
        _dl.expire_address_status(s, now, soft_bounces_ms)
    failed = s.payment_failed
    if failed is not None and failed <= now - orders_ms:
        s.payment_failed = None
    if attributes is not None and s.computed:
        expire_computed(s.computed, attributes, now)
    journeys = s.journeys
    if journeys:
        _expire_journeys(journeys, now - history_ms, most_entries, configured)


def _windows(r: Retention) -> tuple:
    """The windows and caps :func:`expire_state` reads, remembered for the last ``r`` seen (as :func:`_limits`)."""
    global _WINDOWS
    w = (r.views_ms, r.max_views, r.sends_ms, r.max_sends, r.orders_ms, r.max_orders, r.purchases_ms, r.max_purchases,
         r.cart_ms, r.open_ticket_ms, r.resolved_ticket_ms, r.seen_ms, r.max_seen, r.soft_bounces_ms, r.attributes,
         r.journey_history_ms, r.max_entries_per_journey, r.journey_ids)
    _WINDOWS = (r, w)
    return w


_WINDOWS: tuple = (None, ())


def _recent(d: dict[str, int], cutoff: int, most: int) -> dict[str, int]:
    """``d`` (key -> epoch ms) without the entries at or before ``cutoff``, then its ``most`` newest (ties: the
    greater key kept); ``d`` itself when nothing goes."""
    if len(d) <= _SMALL:  # (a few entries, the usual ``seen``: one compiled pass, no builtin per step)
        for v in d.values():
            if v <= cutoff:
                d = {k: v for k, v in d.items() if v > cutoff}
                break
    elif min(d.values()) <= cutoff:
        times = list(d.values())
        n = bisect_right(times, cutoff)  # (where the cut is when the times are in insertion order, the usual)
        if 0 < n < len(times) and max(times[:n]) <= cutoff < min(times[n:]):
            d = dict(islice(d.items(), n, None))  # (exactly the entries after the cut, in order: no loop per entry)
        else:
            d = {k: v for k, v in d.items() if v > cutoff}
    if len(d) > most:
        d = dict(sorted(d.items(), key=_by_value_then_key)[-most:])
    return d


#: Dicts up to this long are cut by :func:`_recent` in one pass (longer ones: where the times' order puts the cut).
_SMALL = 16


def _by_value_then_key(kv: tuple) -> tuple:
    return (kv[1], kv[0])


def is_dormant(s: CustomerState, now: int, r: Retention) -> bool:
    """True when ``s`` can be retired at ``now`` (epoch ms): its last event is at least ``dormant_ms(r)`` old and
    nothing is pending (no timer, no journey membership waiting at a step)."""
    return (s.last_event is not None and now - s.last_event >= dormant_ms(r) and not s.timers
            and not any(m.get("step") for m in s.journeys.values()))


def retire(s: CustomerState, r: Retention) -> bool:
    """Retire a dormant customer (:func:`is_dormant`) as of ``last_event + dormant_ms(r)``, whenever it is called:
    ``expire`` at that time, then the activity times go (``first_seen``, ``last_event``, ``last_login``,
    ``last_activity``, ``expired_at``: a customer back after that long is new to the journeys).  Returns True when
    nothing but the identifiers was left; they are dropped too and the caller may delete the stored state."""
    if s.last_event is None:
        return False
    s.expire(s.last_event + dormant_ms(r), r)
    s.first_seen = s.last_event = s.last_login = s.last_activity = s.expired_at = None
    for f in CustomerState._FIELDS:
        if f not in ("customer_id", "ids") and getattr(s, f) not in _EMPTY:
            return False
    s.ids = []
    return True


def is_empty(s: CustomerState) -> bool:
    """True when ``s`` holds nothing but its customer id (what ``CustomerState.to_dict`` would write)."""
    return all(f == "customer_id" or getattr(s, f) in _EMPTY for f in CustomerState._FIELDS)


def expire_journeys(journeys: dict[str, dict], now: int, r: Retention) -> None:
    """The journey part of ``CustomerState.expire``: finished memberships of journeys no longer configured go;
    entry times older than ``r.journey_history_ms`` go (at most ``r.max_entries_per_journey`` kept); a finished
    membership left without entries goes, or keeps only its ``never`` marker (and arm)."""
    _expire_journeys(journeys, now - r.journey_history_ms, r.max_entries_per_journey, r.journey_ids)


def _expire_journeys(journeys: dict[str, dict], lo: int, most: int, configured: frozenset[str] | None) -> None:
    """:func:`expire_journeys` with ``r``'s history cut-off ``lo`` (epoch ms), entry cap and configured ids."""
    todo = None  # (the memberships this pass may change; the usual one changes none: no list of all of them)
    for jid, m in journeys.items():  # (one compiled loop: cheaper than builtins over ``map`` objects for the few
        entries = m.get("entries")   # memberships a customer has)
        if not entries or len(entries) > most or min(entries) <= lo or not (  # (a configured journey's first:
                configured is None or jid in configured or m.get("step")):  # no ``get`` for the usual case)
            if todo is None:
                todo = [jid]
            else:
                todo.append(jid)
    for jid in todo or ():
        m = journeys[jid]
        step = m.get("step")
        if not step and configured is not None and jid not in configured:
            del journeys[jid]  # a journey no longer configured: its finished memberships go
            continue
        entries = m.get("entries")
        if entries is None:
            m["entries"] = entries = []
        elif not entries or (min(entries) > lo and len(entries) <= most):
            pass  # nothing to drop: the list stays as it is
        else:
            entries = m["entries"] = [e for e in entries if e > lo][-most:]
        if not step and not entries:
            if m.get("n"):
                # reentry: never -- only the marker (and the arm, which would be re-used) outlives the history
                journeys[jid] = {k: m[k] for k in ("n", "c") if k in m}
            else:
                del journeys[jid]


def trim_views(views: list[list], r: Retention) -> list[list]:
    """``views`` (time-sorted ``[ts, product_id]``) cut to ``r``'s bound when over ``r.max_views``: first each
    product's newest ``r.views_per_product``, then the newest ``r.max_views`` of those -- so the count of one
    product's views (``customer.product_views_7d``) stays exact up to ``views_per_product`` while the customer viewed
    fewer than about ``max_views`` products, however many views of other products came between (before: the newest
    50 views, and a browse of 50 other products hid a product's earlier views).  Returns ``views`` itself when under
    the bound."""
    if len(views) <= r.max_views:
        return views
    per, count, out_rev = r.views_per_product, {}, []
    for v in reversed(views):
        n = count.get(v[1], 0) + 1
        count[v[1]] = n
        if n <= per:
            out_rev.append(v)
            if len(out_rev) == r.max_views:
                break
    out_rev.reverse()
    return out_rev


def trim_sends(sends: list[list], r: Retention) -> list[list]:
    """``sends`` (time-sorted ``[ts, channel, category, content_id]``) cut to ``r``'s bound: the newest
    ``r.max_sends``, plus the newest ``r.sends_per_kind`` of each (channel, category) -- a cap limiting *n* sends of
    some channels and categories within a window only needs each kind's newest *n* to count right (an older one in
    the window means the newer *n* are too).  At most ``max_sends + 16 × sends_per_kind`` entries; returns
    ``sends`` itself when nothing goes."""
    if len(sends) <= r.max_sends:
        return sends
    per = r.sends_per_kind
    if per <= 0:
        return sends[-r.max_sends:]
    keep = len(sends) - r.max_sends  # indexes >= keep are kept anyway
    count: dict[tuple, int] = {}
    out_rev = []
    for i in range(len(sends) - 1, -1, -1):
        snd = sends[i]
        k = (snd[1], snd[2])
        n = count.get(k, 0) + 1
        count[k] = n
        if i >= keep or n <= per:
            out_rev.append(snd)
    if len(out_rev) == len(sends):
        return sends
    out_rev.reverse()
    return out_rev
