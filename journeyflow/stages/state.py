"""Per-customer state: everything a decision needs to see about one customer, as one versioned record.

Pure Python.  ``apply`` folds an event into the state, ``expire`` drops entries older than their retention, ``merge``
unions two customers' states when identity resolution finds they are one person (commutative and idempotent:
sets keyed by id, max of timestamps), and ``to_bytes``/``from_bytes`` give a compact, versioned encoding for Beam
state (``STATE_VERSION`` is bumped on any incompatible change; ``from_bytes`` upgrades older versions).

Retention (all event time, see ``Retention``; documented in the README):

=========================  =========  ===================================================================
entry                      default    why
=========================  =========  ===================================================================
product views              7 days     browse-to-offer counts views over 7 days
messages sent              7 days     the longest frequency-cap window (3/week)
purchases (product→time)   30 days    "no offer for what was just bought" looks back 30 days
orders (with their items)  90 days    post-purchase and win-back journeys; a cancellation finds its items
cancelled order ids        90 days    a cancellation seen by one profile still applies after a merge
cart lines                 7 days     an abandoned cart older than a week is no longer "current"
resolved-ticket memory     7 days     grace period after resolution, low-CSAT recovery
seen event ids             2 days     de-duplication of redelivered events (>= allowed lateness)
journey history            180 days   re-entry cool-downs
soft bounces               30 days    the policy's soft-bounce limit window (7 days by default)
``reentry: never`` marker  forever    never means never (dropped only when the journey is no longer configured)
computed attributes        its window each declared attribute's own window (``stages.attributes``; <= max_events each)
=========================  =========  ===================================================================

Caps (``max_*``: views 200 (each product's newest 10 first: ``trim_views``), sends, orders, purchases 50/20/50,
cart lines 50, cancelled orders 50, resolved tickets 20, seen ids 500, entries per journey 20) are applied on write, after every event and timer moment
(:func:`journeyflow.stages.state_bounds.cap`), so a hot customer's state is bounded within a day too.  A customer
silent for the longest window is retired (:func:`journeyflow.stages.state_bounds.retire`): it keeps only what is
permanent (identifiers, consent, delivery addresses and their statuses, time zone, lifecycle stage, ``reentry:
never`` markers), and nothing at all when none of that is left.  The retention windows are floors: ``Retention.covering`` raises each
one to the longest window the loaded policy and journeys name (``Arbiter.lookback_ms``, ``JourneyEngine.lookback_ms``;
``EngineConfig.build_processor``), so a policy with a 30-day email cap is enforced over its whole window.
Per-address consent and deliverability (``addresses``, ``addr_status``): :mod:`journeyflow.stages.deliverability`.
"""
from __future__ import annotations

import heapq
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from journeyflow.model.events import Event
from journeyflow.stages import deliverability as _dl
from journeyflow.stages.deliverability import BLOCKING  # noqa: F401  (re-exported: channel-consent opt-outs)
from journeyflow.stages.state_json import state_chunks
from journeyflow.stages.state_orders import complete_order, currency_code, order_placed_at

#: 2: delivery addresses keyed by their hashed key (``addresses``) and per-address status (``addr_status``) instead
#: of one raw ``contact`` per kind (issue 16); version 1 states are upgraded on read.
STATE_VERSION = 2
HOUR = 3_600_000
DAY = 24 * HOUR
CART_MS = 7 * DAY  #: a cart line older than this is no longer current (facts and message context filter by it)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of state entry is kept (event time, ms) and how many are kept at most; see the module
    docstring for the reason of each default.  ``Arbiter.lookback_ms`` says what a policy needs."""

    views_ms: int = 7 * DAY
    sends_ms: int = 7 * DAY
    purchases_ms: int = 30 * DAY
    orders_ms: int = 90 * DAY
    cart_ms: int = CART_MS
    resolved_ticket_ms: int = 7 * DAY
    seen_ms: int = 2 * DAY
    journey_history_ms: int = 180 * DAY
    soft_bounces_ms: int = 30 * DAY
    open_ticket_ms: int | None = None  #: an open ticket with no open/escalate event this long is dropped (policy)
    max_views: int = 64
    views_per_product: int = 10  #: over ``max_views``, each product's newest this many are kept first (trim_views)
    max_sends: int = 50
    max_orders: int = 20
    max_purchases: int = 50
    max_seen: int = 500
    max_entries_per_journey: int = 20
    max_cart: int = 50
    max_cancelled: int = 50
    max_resolved: int = 20
    #: Sends kept past ``max_sends``: the newest this many of each (channel, category): a cap of at most this ``max``
    #: is never under-counted when other sends push the capped ones out (``Arbiter.lookback_ms``: the largest cap).
    sends_per_kind: int = 0
    #: The configured journey ids, when known: finished memberships (``never`` markers included) of other journeys
    #: are dropped at expiry.  None: keep them (a bare ``Retention()`` knows no configuration).
    journey_ids: frozenset[str] | None = None
    #: The declared computed attributes and their windows (``((name, window ms or None), ...)``, from the
    #: attributes file; ``effective_retention`` sets it): windowed entries older than their window and the data of
    #: attributes no longer declared are dropped at expiry.  None: keep them.
    attributes: tuple[tuple[str, int | None], ...] | None = None

    def covering(self, needs: dict[str, int], journey_ids: Iterable[str] | None = None) -> "Retention":
        """This retention with each window raised to at least what ``needs`` asks, in ms.

        ``needs`` keys (others are ignored), from ``Arbiter.lookback_ms`` unless said: ``sends`` (the longest
        cap/duplicate window), ``purchases`` (recent-purchase window), ``resolved_tickets`` (ticket grace),
        ``soft_bounces`` (soft-bounce limit window), ``journey_history`` (``JourneyEngine.lookback_ms``: the longest
        re-entry cooldown), ``sends_per_kind`` (a count: the largest cap ``max``), ``open_tickets`` (sets, not
        raises, ``open_ticket_ms``: the policy's ``open_tickets.stale_after``).  Windows are only ever raised, never
        lowered below this retention's own (the fixed windows of the journey facts, e.g. ``views_7d``).  Orders, which
        carry the items a cancellation takes back, are kept at least as long as purchases.  ``journey_ids``: the field.
        """
        from dataclasses import replace
        sends = max(self.sends_ms, needs.get("sends", 0))
        purchases = max(self.purchases_ms, needs.get("purchases", 0))
        return replace(self, sends_ms=sends, purchases_ms=purchases,
                       orders_ms=max(self.orders_ms, purchases),
                       resolved_ticket_ms=max(self.resolved_ticket_ms, needs.get("resolved_tickets", 0)),
                       journey_history_ms=max(self.journey_history_ms, needs.get("journey_history", 0)),
                       soft_bounces_ms=max(self.soft_bounces_ms, needs.get("soft_bounces", 0)),
                       open_ticket_ms=needs.get("open_tickets", self.open_ticket_ms),
                       sends_per_kind=max(self.sends_per_kind, needs.get("sends_per_kind", 0)),
                       journey_ids=self.journey_ids if journey_ids is None else frozenset(journey_ids))


@dataclass(slots=True)
class CustomerState(_dl.AddressStatus):
    """One customer's current context.  Lists are kept sorted by time (oldest first).  The address-status methods
    (``delivery_address``, ``address_block`` ...) come from :class:`journeyflow.stages.deliverability.AddressStatus`."""

    customer_id: str = ""
    ids: list[str] = field(default_factory=list)  # identifier keys, sorted
    # delivery addresses: address key -> [kind email|phone, raw address (for delivery only), last seen ts(, 1: a last
    # resort, deliverability.see_contact)]
    addresses: dict[str, list] = field(default_factory=dict)
    # per address key and channel: [status|None, status ts|None, hard bounce ts|None, [soft bounce ts, ...]]
    addr_status: dict[str, dict[str, list]] = field(default_factory=dict)
    tz: str | None = None
    lifecycle: str | None = None
    owner_id: str | None = None
    # channel -> [status, ts]; status granted|revoked|unsubscribed|complained|bounced
    consent: dict[str, list] = field(default_factory=dict)
    # open tickets: ticket_id -> [severity, opened_ts, escalated (0, or the first escalation's ts; 1 in older state),
    # status_ts]; status_ts (the time of the latest open/escalate event) is absent in state written before it
    # existed: opened_ts stands in for it
    tickets: dict[str, list] = field(default_factory=dict)
    # recently resolved tickets: ticket_id -> [resolved_ts, csat or None]
    resolved: dict[str, list] = field(default_factory=dict)
    purchases: dict[str, int] = field(default_factory=dict)  # product_id -> last purchase ts (cancelled ones removed)
    orders: list[list] = field(default_factory=list)  # [ts, order_id, amount, [product_ids], currency] (state_orders)
    cancelled: dict[str, int] = field(default_factory=dict)  # order_id -> ts of its cancellation
    payment_failed: int | None = None  # ts of an unresolved payment failure
    cart: dict[str, int] = field(default_factory=dict)  # product_id -> added ts
    views: list[list] = field(default_factory=list)  # [ts, product_id]
    sends: list[list] = field(default_factory=list)  # [ts, channel, category, content_id(, merged profile id)]
    # journey_id -> membership dict, owned by journeyflow.stages.journeys
    journeys: dict[str, dict] = field(default_factory=dict)
    timers: list[list] = field(default_factory=list)  # heap of [due, timer_id, kind, payload]
    seen: dict[str, int] = field(default_factory=dict)  # event uid -> ts (de-duplication)
    first_seen: int | None = None
    last_event: int | None = None
    last_login: int | None = None
    last_activity: int | None = None  # web or order activity, for inactivity journeys
    expired_at: int | None = None  # event time of the last ``expire`` pass
    # declared traits (identify calls): name -> [value, ts]; only declared ones, bounded (stages.attributes)
    traits: dict[str, list] = field(default_factory=dict)
    # computed attributes: name -> aggregate record, bounded (journeyflow.stages.attributes)
    computed: dict[str, dict] = field(default_factory=dict)
    tz_at: int | None = None  # event time the time zone was set (a merge keeps the latest zone: state_merge)
    account: list | None = None  # ["deleted" | "created", ts]: an account deletion and a new one (stages.deletion)
    lifecycle_at: int | None = None  # event times the stage and the owner were set (stages.profile_fields)
    owner_at: int | None = None

    # ----------------------------------------------------------------- events
    def apply(self, ev: Event) -> None:
        """Fold one event's facts into the state (journeys and arbitration run after this)."""
        ts = ev.ts
        first, last = self.first_seen, self.last_event
        if first is None or ts < first:
            self.first_seen = ts
        if last is None or ts > last:
            self.last_event = ts
        ids = self.ids
        for k in ev.ids:
            if k not in ids:
                ids.append(k)
                ids.sort()
        contact = ev.contact
        if contact:
            _dl.see_contact(self, contact, ts, ev.stream)
        a = ev.attrs
        s, t = ev.stream, ev.type
        if a.get("timezone") and a["timezone"].__class__ is str:  # a crm record's, a Segment call's (its device's
            self.tz, self.tz_at = a["timezone"], ts  # context.timezone: also of a call mapped onto web, orders ...)
        if s == "web":
            if self.last_activity is None or ts > self.last_activity:
                self.last_activity = ts
            pid = a.get("product_id")
            if t == "product_view" and pid:
                self.views.append([ts, pid])
                if len(self.views) > 1 and self.views[-2][0] > ts:
                    self.views.sort()
            elif t == "add_to_cart" and pid:
                self.cart[pid] = ts
            elif t in ("login", "signup"):
                self.last_login = _max(self.last_login, ts)
        elif s == "engagement" or s == "consent":  # (before the rarer streams: a third of the events)
            _dl.apply_status(self, ev)  # channel consent and address statuses
            if "lifecycle_stage" in a or "owner_id" in a:  # a crm record's opt-out carries its profile (crm_opt_outs)
                _profile.apply_profile(self, a, ts)
        elif s == "orders":
            self.last_activity = _max(self.last_activity, ts)
            if t == "order_placed":
                oid = a.get("order_id")
                placed = order_placed_at(self.orders, oid)
                if placed is not None and placed <= ts:
                    if self.payment_failed is None or self.payment_failed < placed:
                        complete_order(self, oid, a)  # that order again (re-sent, or the other input form): no news,
                        return  # but what the first report of it lacked (its items, its amount)
                    # placed again after a payment failure: the payment went through, the order counts from now
                    self.orders = [o for o in self.orders if o[1] != oid]
                pids = [str(p) for p in a.get("product_ids") or ()]
                for pid in pids:
                    self.cart.pop(pid, None)
                if oid is not None and self.cancelled.get(oid, -1) >= ts:
                    pass  # already cancelled (the cancellation reached another profile first, then a merge)
                else:
                    for pid in pids:
                        self.purchases[pid] = max(self.purchases.get(pid, ts), ts)
                    self.orders.append([ts, oid, a.get("amount"), pids, currency_code(a.get("currency"))])
                    self.orders.sort(key=lambda o: (o[0], str(o[1])))
                if self.payment_failed is not None and self.payment_failed <= ts:
                    self.payment_failed = None
            elif t == "payment_failed":
                self.payment_failed = _max(self.payment_failed, ts)
            elif t == "order_cancelled":
                oid = a.get("order_id")
                if oid is not None:
                    self.cancelled[oid] = max(self.cancelled.get(oid, ts), ts)
                    self._drop_cancelled_orders()
        elif s == "support":
            self._ticket_event(t, a.get("ticket_id"), ts, a)
        elif s == "crm" or s == "track":  # stage, owner (and zone) with their times (an identify call's profile
            _profile.apply_profile(self, a, ts)  # traits, stages.segment.profile, as the crm stream's fields)
            if "opted_out" in a:  # a contact created opted out: that opt-out too (stages.crm_opt_outs.opt_out_event)
                _dl.apply_status(self, Event(ev.uid, "engagement", "unsubscribed", ts, ev.ids,
                                             {"channel": a["opted_out"]}, ev.contact))

    def _ticket_event(self, t: str, tid: Any, ts: int, a: Mapping[str, Any]) -> None:
        """A ticket's latest status in event time wins: opened or escalated after its resolution re-opens it (and an
        escalation marks it escalated); a resolution ends the open period and starts the grace period.  An event
        older than the ticket's latest status (possible only after a merge) changes nothing."""
        cur = self.tickets.get(tid)
        res = self.resolved.get(tid)
        if t in ("ticket_opened", "ticket_escalated"):
            if res is not None and res[0] > ts:
                return  # resolved later than this
            if cur is not None and _ticket_ts(cur) > ts:
                return
            # opened_ts: when it was opened (a report of an open ticket opened again keeps it); escalated: when it
            # was first escalated since (1 in older state and after a merge; never 0): a second report of either is
            # that ticket again (``journeys.objects.repeated_ticket``)
            if t == "ticket_opened":
                self.tickets[tid] = [a.get("severity") or (cur[0] if cur else "low"), cur[1] if cur else ts,
                                     cur[2] if cur else 0, ts]
            else:
                self.tickets[tid] = [a.get("severity") or (cur[0] if cur else "high"), cur[1] if cur else ts,
                                     (cur[2] or ts or 1) if cur else (ts or 1), ts]
            self.resolved.pop(tid, None)
        elif t == "ticket_resolved":
            if cur is not None and _ticket_ts(cur) > ts:
                return  # re-opened later than this
            if res is not None and res[0] > ts:
                return
            self.tickets.pop(tid, None)
            self.resolved[tid] = [ts, a.get("csat")]

    def _drop_cancelled_orders(self) -> None:
        """Remove cancelled orders (``self.cancelled``, placed at or before their cancellation) and take their items
        back from the purchases: a product's last purchase becomes that of its latest remaining order, or none.
        An order no longer in ``orders`` (expired, or written before orders kept their items) cannot be taken back:
        its purchases stay (fail safe: an offer for the product stays suppressed)."""
        if not self.cancelled or not self.orders:
            return
        c = self.cancelled
        gone = [o for o in self.orders if o[1] in c and o[0] <= c[o[1]]]
        if not gone:
            return
        self.orders = [o for o in self.orders if not (o[1] in c and o[0] <= c[o[1]])]
        for o in gone:
            for pid in (o[3] if len(o) > 3 else ()):
                if self.purchases.get(pid) != o[0]:
                    continue  # bought again later (or earlier and this was not the latest): untouched
                left = [x[0] for x in self.orders if len(x) > 3 and pid in x[3]]
                if left:
                    self.purchases[pid] = max(left)
                else:
                    del self.purchases[pid]

    def _set_consent(self, channel: str, status: str, ts: int) -> None:
        cur = self.consent.get(channel)
        # Last write in event time wins; at equal times a blocking status wins (fail safe, order independent).
        if cur is None or ts > cur[1] or (ts == cur[1] and status in BLOCKING and cur[0] not in BLOCKING):
            self.consent[channel] = [status, ts]

    def is_duplicate(self, ev: Event) -> bool:
        """True when this event uid was already applied (at-least-once delivery); records it otherwise."""
        if ev.uid in self.seen:
            return True
        self.seen[ev.uid] = ev.ts
        return False

    # ------------------------------------------------------------ questions
    def consent_status(self, channel: str) -> str | None:
        """The channel's latest consent status (granted, revoked, unsubscribed, complained, bounced) or None."""
        c = self.consent.get(channel)
        return c[0] if c else None

    def has_consent(self, channel: str) -> bool:
        """True when the channel's latest consent status is ``granted``."""
        return self.consent_status(channel) == "granted"

    def open_tickets_at(self, now: int, stale_ms: int | None = None) -> list[list]:
        """The open ticket records (``[severity, opened_ts, escalated, status_ts]``) that count as open at ``now``
        (ms): with ``stale_ms`` (the policy's ``open_tickets.stale_after``, ``Retention.open_ticket_ms``), not those
        whose latest open/escalate event is ``stale_ms`` old or older -- the rule at the time a fact is read; the
        expiry pass drops them later.  The journey facts and the arbiter's support suppression both use it."""
        if stale_ms is None or not self.tickets:
            return list(self.tickets.values())
        lo = now - stale_ms
        return [t for t in self.tickets.values() if _ticket_ts(t) > lo]

    def has_escalated_ticket(self) -> bool:
        """True when an open ticket was escalated."""
        return any(t[2] for t in self.tickets.values())

    def last_ticket_resolved(self) -> int | None:
        """Event time (ms) of the latest ticket resolution still retained, or None."""
        return max((r[0] for r in self.resolved.values()), default=None)

    def bought_within(self, product_id: str, now: int, window_ms: int) -> bool:
        """True when the product's last purchase is in ``(now - window_ms, now]`` (event time, ms)."""
        t = self.purchases.get(product_id)
        return t is not None and now - window_ms < t <= now

    def views_of(self, product_id: str, now: int, window_ms: int) -> int:
        """Number of views of the product in ``(now - window_ms, now]`` (event time, ms)."""
        lo, views = now - window_ms, self.views
        n = 0  # (plain loops: a customer has a few views, and in the compiled core a loop costs less than a list
        if views and views[0][0] > lo and views[-1][0] <= now:  # made by map() and counted, or a generator)
            for v in views:  # (time-sorted: all inside the window, the usual) list(map(itemgetter(1), views)).count(
                p = v[1]  # product_id): its comparison (the same object, else ==)
                if p is product_id or p == product_id:
                    n += 1
            return n
        for ts, p in views:  # sum(1 for ts, p in views if p == product_id and lo < ts <= now)
            if p == product_id and lo < ts <= now:
                n += 1
        return n

    def sends_within(self, now: int, window_ms: int, channel: str | None = None,
                     categories: Iterable[str] | None = None) -> int:
        """Number of messages sent in ``(now - window_ms, now]``, optionally on one channel / of some categories."""
        lo, cats = now - window_ms, None if categories is None else set(categories)
        # entries: [ts, channel, category, content_id] (+ the profile id a merge tagged it with)
        return sum(1 for snd in self.sends if lo < snd[0] <= now and (channel is None or snd[1] == channel)
                   and (cats is None or snd[2] in cats))

    def content_sent_within(self, content_id: str, now: int, window_ms: int) -> list[str]:
        """Channels on which this content was sent in the window."""
        lo = now - window_ms
        return [s[1] for s in self.sends if s[3] == content_id and lo < s[0] <= now]

    def record_send(self, ts: int, channel: str, category: str, content_id: str | None) -> None:
        """Record a chosen send (arbitration does, so later caps and duplicate checks see it); keeps time order."""
        self.sends.append([ts, channel, category, content_id])
        if len(self.sends) > 1 and self.sends[-2][0] > ts:
            self.sends.sort(key=lambda s: (s[0], s[1], str(s[3])))

    def facts(self, now: int, stale_ms: int | None = None) -> dict[str, Any]:
        """A read-only summary for journey conditions (exposed as ``customer`` in expressions); ``stale_ms``: open
        tickets stale at ``now`` are not counted (:meth:`open_tickets_at`)."""
        return _facts(self, now, stale_ms)  # (journeyflow.stages.state_facts)

    # --------------------------------------------------------------- timers
    def schedule(self, due: int, timer_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Add a timer.  Scheduling the same timer_id twice is a no-op (idempotent replays)."""
        for t in self.timers:
            if t[1] == timer_id:
                return
        heapq.heappush(self.timers, [due, timer_id, kind, payload])

    def next_due(self) -> int | None:
        """Due time (ms) of the earliest timer, or None when there is none."""
        return self.timers[0][0] if self.timers else None

    def pop_due(self, until: int) -> list | None:
        """Pop the earliest timer due at or before ``until``."""
        if self.timers and self.timers[0][0] <= until:
            return heapq.heappop(self.timers)
        return None

    def cancel_timers(self, kind: str, **match: Any) -> int:
        """Drop the timers of ``kind`` whose payload has all the ``match`` values; returns how many were dropped."""
        return len(self.take_timers(kind, **match))

    def take_timers(self, kind: str, **match: Any) -> list[list]:
        """Remove and return (in due order) the timers of ``kind`` whose payload has every ``match`` item."""
        taken, keep = [], []
        for t in self.timers:
            (taken if t[2] == kind and all(t[3].get(k) == v for k, v in match.items()) else keep).append(t)
        if taken:
            heapq.heapify(keep)
            self.timers = keep
            taken.sort(key=lambda t: (t[0], t[1]))
        return taken

    # ------------------------------------------------------------ retention
    def expire(self, now: int, r: Retention = Retention()) -> None:
        """Drop everything older than its retention window (and cap list lengths).

        A container is rebuilt only when one of its entries has expired or it is over its cap (its oldest time is
        looked up first: at one pass a day most have nothing to drop); otherwise it is kept as it is, which is what
        the rebuild would have produced.  The rules: :func:`journeyflow.stages.state_bounds.expire_state`."""
        _bounds.expire_state(self, now, r)

    # ---------------------------------------------------------------- merge
    def merge(self, other: "CustomerState") -> "CustomerState":
        """Union of two customers' states (identity merge), as if one profile had seen both histories; commutative,
        idempotent for identical inputs.  The rules per entry: :func:`journeyflow.stages.state_merge.merge_states`."""
        from journeyflow.stages.state_merge import merge_states
        return merge_states(self, other)

    # ---------------------------------------------------------- encoding
    _FIELDS = ("customer_id", "ids", "addresses", "addr_status", "tz", "lifecycle", "owner_id", "consent", "tickets",
               "resolved", "purchases", "orders", "cancelled", "payment_failed", "cart", "views", "sends", "journeys",
               "timers", "seen", "first_seen", "last_event", "last_login", "last_activity", "expired_at",
               "traits", "computed", "tz_at", "account", "lifecycle_at", "owner_at")

    def to_dict(self) -> dict[str, Any]:
        """The versioned plain-dict form (``{"v": STATE_VERSION, ...}``; empty fields are left out)."""
        d = {"v": STATE_VERSION}
        for f in self._FIELDS:
            v = getattr(self, f)
            if v not in _EMPTY_VALUES:
                d[f] = v
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CustomerState":
        """Inverse of :meth:`to_dict`; upgrades version 1 (``deliverability.upgrade_v1``); ValueError: another."""
        v = d.get("v")
        if v not in (1, STATE_VERSION):
            raise ValueError(f"unsupported customer state version {v!r} (this build reads 1 to {STATE_VERSION})")
        s = cls()
        for f in cls._FIELDS:
            if f in d:
                setattr(s, f, d[f])
        if v == 1:
            _dl.upgrade_v1(s, d)
        return s

    def to_bytes(self) -> bytes:
        """Compact encoding for Beam state: ``b"J"`` + JSON, or zlib-compressed JSON when over 512 bytes."""
        raw = "".join(state_chunks(self.to_dict(), 0)).encode()  # (json.dumps, sorted keys, compact: state_json)
        return zlib.compress(raw, 1) if len(raw) > 512 else b"J" + raw

    @classmethod
    def from_bytes(cls, b: bytes) -> "CustomerState":
        """Inverse of :meth:`to_bytes`, also of ``state_codec.encode_state``; ValueError: another state version."""
        if b[:1] == b"M":  # the streaming stage's stored form (journeyflow.stages.state_codec)
            from journeyflow.stages.state_codec import decode_state
            return decode_state(b)
        raw = b[1:] if b[:1] == b"J" else zlib.decompress(b)
        return cls.from_dict(json.loads(raw))


_EMPTY_VALUES = (None, [], {}, "")  # (what ``to_dict`` leaves out: made once, not per field)


def _ticket_ts(rec: list) -> int:
    """Time of an open ticket's latest open/escalate event (older state: its opened time)."""
    return rec[3] if len(rec) > 3 else rec[1]


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


# (at the end: state_bounds imports this module's classes; expire calls it without an import per call)
import journeyflow.stages.state_bounds as _bounds  # noqa: E402
import journeyflow.stages.profile_fields as _profile  # noqa: E402
from journeyflow.stages.state_facts import facts as _facts  # noqa: E402
