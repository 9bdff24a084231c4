"""Identity merges of per-customer state: two profiles found to be one person become one ``CustomerState``.

The result is what one profile that had seen both histories would hold (issue 17), so a merge is commutative and
idempotent for identical inputs: identifiers and cart are unions (one entry per key), views and sends too (per key, as
many entries as the profile holding more of them), timestamps the max (or min for "first" times), consent the latest
status in event time (a blocking status wins a tie), tickets the latest status in event time (:func:`merge_tickets`),
delivery addresses a union and address statuses every change either profile saw (:func:`merge_addresses`),
orders a union from which a cancellation either profile saw takes back its order and items, a payment failure or cart
line at or before the latest order of either profile cleared (a line added at the order's time stays), and journey
memberships one record per journey (:func:`merge_membership`). The pending actions of a membership record a merge did
not keep are cancelled by the journey engine afterwards (``JourneyEngine.cancel_orphans``, called by
``CustomerProcessor.after_merge``). ``CustomerState.merge`` calls :func:`merge_states`.
"""
from __future__ import annotations

import heapq
from typing import Any

from journeyflow.stages.deliverability import (HARD_BOUNCE, SOFT_BOUNCE, _soft_ts, addresses_of, see_address,
                                               set_address_status)
from journeyflow.stages.attributes_expiry import trait_order
from journeyflow.stages.deletion import merge_account
from journeyflow.stages.profile_fields import merge_profile
from journeyflow.stages.state import CustomerState, _max, _ticket_ts
from journeyflow.stages.state_orders import merge_reports

__all__ = ["merge_addresses", "merge_membership", "merge_sends", "merge_states", "merge_tickets", "name_unnamed",
           "resolve_unnamed", "unnamed_key"]


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def merge_addresses(m: CustomerState, older: CustomerState, newer: CustomerState) -> None:
    """Identity merge: ``m`` gets every status change either state holds (``set_address_status`` is commutative)
    and the union of both states' addresses (the newer sighting wins)."""
    for src in (older, newer):
        for key, per in src.addr_status.items():
            for ch, (st, ts, hard, soft), grant in ((c, r[:4], r[4:]) for c, r in per.items()):
                if st is not None:
                    set_address_status(m, key, ch, st, ts)
                for at in grant:  # (a grant an opt-out overrode: ``mailboxes.remember_grant``)
                    set_address_status(m, key, ch, "granted", at)
                if hard is not None:
                    set_address_status(m, key, ch, HARD_BOUNCE, hard)
                for t in soft:
                    set_address_status(m, key, ch, SOFT_BOUNCE if t.__class__ is int else f"{SOFT_BOUNCE}:{t[1]}",
                                       _soft_ts(t))
    for src in (older, newer):  # (after the statuses: a granted address is kept first, see_address)
        for key, v in src.addresses.items():  # (a last resort in both stays one: ``deliverability.see_contact``)
            see_address(m, key, v[0], v[1], v[2], len(v) > 3)


def merge_states(x: CustomerState, y: CustomerState) -> CustomerState:
    """A new state, the union of ``x`` and ``y`` (neither is modified); its ``customer_id`` is the smaller non-empty
    one of the two (callers set the canonical id afterwards)."""
    m = CustomerState(customer_id=min(x.customer_id, y.customer_id) if x.customer_id and y.customer_id
                      else x.customer_id or y.customer_id)
    m.ids = sorted(set(x.ids) | set(y.ids))
    newer, older = (x, y) if (x.last_event or 0, x.customer_id) >= (y.last_event or 0, y.customer_id) else (y, x)
    merge_addresses(m, older, newer)
    resolve_unnamed(m)
    # the zone, stage and owner set last in event time win (a device's identify from a month ago does not replace
    # the CRM's values of last week because the device's profile saw the later event); without both times, the
    # newer profile's
    merge_profile(m, x, y, newer, older)
    m.consent = dict(older.consent)
    for ch, (st, ts) in newer.consent.items():
        m._set_consent(ch, st, ts)
    for ch, (st, ts) in older.consent.items():
        m._set_consent(ch, st, ts)
    m.tickets, m.resolved = merge_tickets(x, y)
    m.purchases = {k: max(x.purchases.get(k, 0), y.purchases.get(k, 0))
                   for k in set(x.purchases) | set(y.purchases)}
    orders = _union_sorted(x.orders, y.orders, key=lambda o: (o[0], str(o[1])))
    bought = _bought(orders)  # before cancellations: a placed order cleared a failure and its cart lines
    m.orders = _first_placed(orders)
    m.cancelled = _merge_max(x.cancelled, y.cancelled, key=lambda v: v)
    m._drop_cancelled_orders()  # a cancellation one profile saw takes back the other's order
    m.payment_failed = _max(x.payment_failed, y.payment_failed)
    if m.payment_failed is not None and m.payment_failed <= bought.get(None, -1):
        m.payment_failed = None  # a failure at or before the latest order of either side is cleared
    m.cart = {k: t for k in set(x.cart) | set(y.cart)  # a line bought by either's later order: gone
              if (t := max(x.cart.get(k, 0), y.cart.get(k, 0))) >= bought.get(k, -1)}
    m.views = _union_sorted(x.views, y.views, key=lambda v: (v[0], v[1]))
    m.sends = merge_sends(x, y)
    m.journeys = {}
    for jid in sorted(set(x.journeys) | set(y.journeys)):
        a, b = x.journeys.get(jid), y.journeys.get(jid)
        m.journeys[jid] = dict(a or b) if a is None or b is None else merge_membership(a, b)
    seen_ids: set[str] = set()
    for t in sorted(x.timers + y.timers):
        if t[1] not in seen_ids:
            seen_ids.add(t[1])
            m.timers.append(t)
    heapq.heapify(m.timers)
    m.seen = {**x.seen, **y.seen}
    m.first_seen = _min(x.first_seen, y.first_seen)
    m.last_event = _max(x.last_event, y.last_event)
    m.last_login = _max(x.last_login, y.last_login)
    m.last_activity = _max(x.last_activity, y.last_activity)
    if x.traits or y.traits:  # declared traits: the latest in event time (a tie: a clear, else the larger value)
        m.traits = {k: list(max((v for v in (x.traits.get(k), y.traits.get(k)) if v is not None),
                                key=trait_order)) for k in sorted(set(x.traits) | set(y.traits))}
    if x.computed or y.computed:
        from journeyflow.stages.attributes import merge_computed
        m.computed = merge_computed(x.computed, y.computed)
    m.expired_at = _min(x.expired_at, y.expired_at)
    m.account = merge_account(x.account, y.account)  # the later mark; a tie: the deletion (stages.deletion)
    return m


def _send_key(s: list) -> tuple:
    """A send entry's identity: time, channel, content and, on a send tagged by a merge, the profile it came from."""
    return (s[0], s[1], str(s[3]), s[4] if len(s) > 4 else "")


def merge_sends(x: "CustomerState", y: "CustomerState") -> list[list]:
    """The send history of a merge, time-sorted: every send of either profile (frequency caps count them all).

    A send both profiles hold with the same time, channel and content was two sends, one per profile (two profiles
    whose promos were both deferred to 08:00 by quiet hours, say): both are kept, each tagged with its profile's
    id as a fifth element (``[ts, channel, category, content_id, customer_id]``).  Before, the union kept one and the
    caps under-counted: a third email within 24 h under a cap of 2.  States with the same ``customer_id`` are one
    profile's history (a merge with itself: idempotent), so their common sends are one."""
    if not (x.sends and y.sends) or x.customer_id == y.customer_id:
        return _union_sorted(x.sends, y.sends, key=_send_key)
    both = {_send_key(s) for s in x.sends} & {_send_key(s) for s in y.sends}

    def tagged(sends: list[list], cid: str) -> list[list]:
        return [[*s[:4], cid] if _send_key(s) in both else s for s in sends]

    return _union_sorted(tagged(x.sends, x.customer_id), tagged(y.sends, y.customer_id), key=_send_key)


def merge_tickets(x: "CustomerState", y: "CustomerState") -> tuple[dict[str, list], dict[str, list]]:
    """(open tickets, resolved tickets) of a merge: per ticket, the latest status in event time wins, as if both
    profiles' ticket events had been applied to one; at equal times open wins (fail safe: promos stay suppressed).
    An open ticket is escalated if either profile saw it escalated after its latest resolution."""
    tickets: dict[str, list] = {}
    resolved = _merge_max(x.resolved, y.resolved, key=lambda v: v[0])
    for tid in sorted(set(x.tickets) | set(y.tickets), key=str):
        recs = [r for r in (x.tickets.get(tid), y.tickets.get(tid)) if r is not None]
        latest = max(recs, key=lambda r: (_ticket_ts(r), r[2], str(r[0])))
        res = resolved.get(tid)
        if res is not None and res[0] > _ticket_ts(latest):
            continue  # resolved after its latest (re-)opening
        since = res[0] if res is not None else None
        esc = 1 if any(r[2] and (since is None or _ticket_ts(r) >= since) for r in recs) else 0
        opened = min(r[1] for r in recs if since is None or _ticket_ts(r) >= since)
        tickets[tid] = [latest[0], opened, esc, _ticket_ts(latest)]
        resolved.pop(tid, None)
    return tickets, resolved


def merge_membership(a: dict, b: dict) -> dict:
    """One journey's membership records of two merged profiles, as if one profile had had both histories.

    Shapes: see ``journeyflow.stages.journeys.engine`` (keys ``step``, ``entered``, ``entries``, ``c`` arm, ``n`` never
    marker ...).  Rules: both active -> the one entered first (under one profile the later entry would have found
    it active and not entered; its entry time is dropped from the history); one active -> that one; both finished
    -> the one entered last (the current record: pending actions it still owns stay owned); the active one not kept
    is listed among the entries the kept one holds (``h``, marked ``m``: its record), and the entries both records
    held are united (:func:`_merged_held`); the journey engine then settles them by the journey's rules
    (``journeys.held.settle_merged``: ``dunning`` holds the other order's, ``winback`` keeps the later membership,
    other journeys keep the first).  Before, the other active membership and the entries the other record held
    were dropped whatever the journey (a second order's failed payment was never reminded).  Entry histories are
    united; the ``never`` marker is kept if either has it; an active membership keeps the arm it was entered in (its
    ``entered`` row says so: a control member that merges with a former treatment member is never messaged),
    otherwise the arm is that of the earliest entry (drawn once, then re-used by re-entries).  Pending actions owned by the record that is not kept are cancelled by the caller
    (``JourneyEngine.cancel_orphans``).  Commutative.
    """
    def key(r: dict) -> tuple:
        return (r.get("entered") or 0, str(r.get("trigger")), str(r.get("step")))

    first, second = (a, b) if key(a) <= key(b) else (b, a)
    entries = set(a.get("entries", ())) | set(b.get("entries", ()))
    if first.get("step") and second.get("step"):
        keep = first
        if second.get("entered") != first.get("entered"):
            entries.discard(second.get("entered"))
    elif first.get("step") or second.get("step"):
        keep = first if first.get("step") else second
    else:
        keep = second
    out = dict(keep)
    out["entries"] = sorted(entries)
    held = _merged_held(a, b, keep, second if keep is first and second.get("step") else None)
    if held:
        out["h"] = held
    else:
        out.pop("h", None)
    if a.get("n") or b.get("n"):
        out["n"] = 1
    arms = [r for r in (a, b) if "c" in r]
    # two active memberships entered at the same ms: the arm by the earliest-entry rule (the analysis reads it so)
    tie = bool(first.get("step") and second.get("step")) and first.get("entered") == second.get("entered")
    if arms and (tie or not (keep.get("step") and "c" in keep)):
        out["c"] = min(arms, key=lambda r: (min(r.get("entries") or [r.get("entered") or 0]), r["c"]))["c"]
    return out


def _merged_held(a: dict, b: dict, keep: dict, dropped: dict | None) -> list[dict]:
    """The held entries (``journeys.held``) of a merged membership record: those of ``a`` and ``b`` (one per entry
    event uid ``t``) and, when an active membership ``dropped`` gives way to ``keep``, that membership as an entry
    held since its entry (``{"at", "t", "r", "k", "p"}`` and ``"m"``: its record; unless it is ``keep``'s own entry).
    Sorted by (time, uid): commutative.  Which ones count is the engine's (``journeys.held.settle_merged``)."""
    found: dict[str, dict] = {}
    for r in (a, b):
        for h in r.get("h") or ():
            found.setdefault(h["t"], h)
    if dropped is not None and dropped.get("trigger") != keep.get("trigger"):
        h = {"at": dropped.get("entered") or 0, "t": str(dropped.get("trigger")),
             "m": {k: v for k, v in dropped.items() if k != "h"}}
        for f in ("r", "k", "p"):
            if f in dropped:
                h[f] = dropped[f]
        found.setdefault(h["t"], h)
    return sorted(found.values(), key=lambda h: (h["at"], h["t"]))


def _bought(orders: list[list]) -> dict:
    """``{product_id: time of its latest order}`` and, under the key None, the latest order's time (ms); orders
    written before orders kept their items count for the latter only."""
    out: dict = {}
    for o in orders:
        out[None] = o[0]
        for pid in (o[3] if len(o) > 3 else ()):
            out[pid] = o[0]
    return out


def _union_sorted(a: list[list], b: list[list], key) -> list[list]:
    """The entries of ``a`` and ``b`` sorted by key, per ``key`` as many as the side that holds more of them (``b``'s
    on a tie): what one profile that saw both histories holds.  One profile can hold an entry twice (two views of a
    product in one millisecond, under two event ids, count twice in ``product_views_7d``), so one per key lost
    one of them at a merge, but only when the other profile had a state (qa17e: streaming merges into the
    survivor's key, bounded replay takes a sole sub-profile's state as it is).  Idempotent (``merge(x, x)`` is
    ``x``: a hand-over delivered twice) and commutative."""
    out: dict[Any, list[list]] = {}
    for x in a:
        out.setdefault(key(x), []).append(x)
    theirs: dict[Any, list[list]] = {}
    for x in b:
        theirs.setdefault(key(x), []).append(x)
    for k, v in theirs.items():
        if len(v) >= len(out.get(k, ())):
            out[k] = v
    return [x for k in sorted(out) for x in out[k]]


def _first_placed(orders: list[list]) -> list[list]:
    """``orders`` (time-sorted) with one entry per order id, its first placement completed by the other reports of
    it (``state_orders.merge_reports``): the two profiles may each hold the order (its ``order_placed`` reported
    under each one's identifier), which is one order."""
    first: dict = {}
    out = []
    for o in orders:
        if o[1] is not None and o[1] in first:
            merge_reports(first[o[1]], o)
            continue
        first[o[1]] = o = list(o)
        out.append(o)
    return out


def _merge_max(a: dict, b: dict, key) -> dict:
    """``a`` and ``b`` united; for a key in both, the value with the larger ``key(value)`` (``a``'s on a tie)."""
    out = dict(a)
    for k, v in b.items():
        if k not in out or key(v) > key(out[k]):
            out[k] = v
    return out


# ------------------------------------------------------------------------------------------- unnamed bounces
def unnamed_key(kind: str, candidates: list[str] | tuple[str, ...] = ()) -> str:
    """The address-status key of a bounce that names no ``kind`` (email|phone) address, carried by a status-only
    hand-over (``identity.online.status_handover``): ``"<kind>:?"`` then the keys it may be (comma-separated; empty:
    any of the survivor's).  Never a real key (those are ``<kind>:<32 hex>``); :func:`resolve_unnamed` replaces it."""
    return f"{kind}:?" + ",".join(candidates)


def _unnamed(key: str) -> tuple[str, list[str]] | None:
    kind, _, rest = key.partition(":")
    return (kind, [k for k in rest[1:].split(",") if k]) if rest[:1] == "?" else None


def name_unnamed(s: CustomerState, candidates: dict[str, list[str]]) -> None:
    """Give each unnamed bounce of ``s`` the keys it may be: ``candidates`` per kind (the addresses the identity
    graph gave the bounced customer at the bounce's time: ``identity.online.route_transfer``)."""
    for key in [k for k in s.addr_status if _unnamed(k)]:
        kind = _unnamed(key)[0]
        s.addr_status[unnamed_key(kind, sorted(candidates.get(kind, ())))] = s.addr_status.pop(key)


def resolve_unnamed(s: CustomerState) -> None:
    """Apply each unnamed bounce of ``s`` (:func:`unnamed_key`) to one of its addresses, then drop it: the most
    recently seen of its candidates that ``s`` holds (none held: the first, by key); without candidates, the most
    recently seen address of the kind seen at or before the bounce (else the most recent).  This is the rule of a
    bounce naming no address (``deliverability.apply_status_event``: the customer's most recent address of the
    channel), applied where the bounced customer's addresses went: before, a late one reaching a merged-away
    customer changed nothing and the survivor went on sending to the bounced address.  No candidate and no address
    of the kind: dropped (nothing to bounce, as in that rule)."""
    for key in [k for k in s.addr_status if k[6:7] == "?" and _unnamed(k)]:
        kind, cands = _unnamed(key)
        per = s.addr_status.pop(key)
        held = [k for k, _raw in addresses_of(s, kind)]  # most recently seen first
        for ch, (st, ts, hard, soft) in ((c, r[:4]) for c, r in per.items()):  # (unnamed: bounces only)
            at = hard if hard is not None else ts if ts is not None else min(_soft_ts(t) for t in soft)
            pick = ([k for k in held if k in cands] or cands) if cands else (
                [k for k in held if s.addresses[k][2] <= at] or held)
            if not pick:
                continue
            if hard is not None:
                set_address_status(s, pick[0], ch, HARD_BOUNCE, hard)
            if st is not None:
                set_address_status(s, pick[0], ch, st, ts)
            for t in soft:
                set_address_status(s, pick[0], ch, SOFT_BOUNCE if t.__class__ is int else f"{SOFT_BOUNCE}:{t[1]}",
                                   t if t.__class__ is int else t[0])
