"""Online (streaming) identity resolution against an identity store, and the identity control events.

For each event, its links are applied to the store (``link`` is idempotent, so Beam retries are harmless) and the
event is keyed by the canonical root of its primary identifier. When a link merges two customers, a
``merge_into`` control event (pseudo-stream :data:`IDENTITY_STREAM`) is sent to the absorbed customer's key at the
link's event time; that customer's state then travels to the surviving key as an ``absorb`` event through the
``state-transfer`` topic (see :meth:`journeyflow.stages.processor.CustomerProcessor.on_event`), because a Beam
graph is acyclic and cannot hand state from key A to key B inside one stage. As in Snowplow's and Segment's
designs, the older (canonical) id survives and a merge event is emitted; per-customer state is a commutative,
idempotent union (``CustomerState.merge``), so a replayed merge is harmless.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, NamedTuple

from journeyflow.model.events import Event
from journeyflow.stages.identity.clusters import link_row
from journeyflow.stages.identity.keys import canonical
from journeyflow.stages.identity.rules import LinkRules, links_for
from journeyflow.stages.mailboxes import refused_contact

if TYPE_CHECKING:
    from journeyflow.adapters.identity_store import IdentityStore

__all__ = ["ABSORB", "IDENTITY_STREAM", "MERGE_FROM", "MERGE_INTO", "STATUS_FROM", "OnlineResolution",
           "link_of", "merge_from_event", "merge_into_event", "resolve_online", "route_transfer", "status_handover",
           "transfer_target"]

#: Pseudo-stream of identity control events (streaming merges); never read from input files.
IDENTITY_STREAM = "_identity"
#: Control event type sent to an absorbed customer: ``attrs["into"]`` is the surviving customer id.
MERGE_INTO = "merge_into"
#: Control event type sent to the surviving customer of a merge (issue 23.4): ``attrs["from"]`` is the absorbed
#: customer id and ``attrs["members"]`` its identifier keys before the merge.  The survivor holds everything after
#: the link's time until the ``absorb`` from that customer arrives, and decides its events of the absorbed
#: identifiers dated before the link under the absorbed id (``journeyflow.stages.identity.flush_plan``).
MERGE_FROM = "merge_from"
#: Control event type carrying an absorbed customer's state to the survivor: ``attrs["state"]`` (base64 of
#: ``CustomerState.to_bytes()``) and ``attrs["from"]`` (the absorbed customer id).
ABSORB = "absorb"
#: ``attrs["from"]`` prefix of a status-only ``absorb`` (:func:`status_handover`): never a customer id, so it never
#: stands for the hand-over a survivor holds its flush for (``flush_plan``).
STATUS_FROM = "status:"


def merge_into_event(old: str, new: str, ev: Event) -> Event:
    """The ``merge_into`` control event telling customer ``old`` it was linked into ``new`` by event ``ev``
    (same event time; deterministic uid ``merge:<old>:<ev.uid>`` so a retried bundle emits the same event).
    ``attrs["link"]``: ``ev``'s uid, which the absorb carries on (:func:`link_of`)."""
    return Event(uid=f"merge:{old}:{ev.uid}", stream=IDENTITY_STREAM, type=MERGE_INTO, ts=ev.ts, ids=(old,),
                 attrs={"into": new, "link": ev.uid})


def link_of(control: Event) -> str:
    """The uid of the record whose link a merge control event (``merge_into``, ``merge_from``, ``absorb``) stands
    for: the trigger of what the merge cancels, as bounded replay names it (``ClusterFold`` merges at the linking
    record itself; qa17e: the absorb's own uid gave the streaming ``journey_exited`` decisions other ids).  The
    control event's own uid when it names none (one from an earlier build, a status hand-over)."""
    link = control.attrs.get("link")
    return link if isinstance(link, str) and link else control.uid


def merge_from_event(old: str, new: str, ev: Event, members: list[str],
                     pair: tuple[str, str] | None = None) -> Event:
    """The ``merge_from`` control event telling customer ``new`` that ``old`` (identifier keys ``members`` before
    the merge) was linked into it by event ``ev`` (same event time; deterministic uid ``mergefrom:<old>:<ev.uid>``);
    ``pair``: the two identifier keys of the link (``attrs["pair"]``: the flush plan replays a key's links in event
    time when they arrived in another order, ``journeyflow.stages.identity.flush_plan``); ``attrs["link"]``: ``ev``'s
    uid (:func:`link_of`)."""
    attrs: dict[str, Any] = {"from": old, "members": sorted(members), "link": ev.uid}
    if pair is not None:
        attrs["pair"] = list(pair)
    return Event(uid=f"mergefrom:{old}:{ev.uid}", stream=IDENTITY_STREAM, type=MERGE_FROM, ts=ev.ts, ids=(new,),
                 attrs=attrs)


class OnlineResolution(NamedTuple):
    """What :func:`resolve_online` did for one event.

    ``rows``: one ``identity_links`` row per link (accepted or refused); ``merges``: the control events to deliver
    with the event, each ``(customer id, event)``: per accepted link that merged two customers, ``(absorbed customer
    id, merge_into event)`` and ``(surviving customer id, merge_from event)``, and per other customer an opt-out
    or a deletion names (``opt_outs.online_copies``), ``(that customer id, status-only absorb)``; ``customer_id``:
    the event's customer (the canonical root of its primary identifier at the event's time); ``event``: the event as
    that customer gets it: without an identifier whose link it refused (another customer's, as replay's
    ``ClusterKeyer`` drops it) and with such an address noted in its contact (``mailboxes.refused_contact``)."""

    rows: list[dict[str, Any]]
    merges: list[tuple[str, Event]]
    customer_id: str
    event: Event


def resolve_online(store: IdentityStore, ev: Event, rules: LinkRules) -> OnlineResolution:
    """Apply one event's links (:func:`~.rules.links_for`) to ``store`` and key the event; an opt-out or a deletion
    naming identifiers of other customers gets a copy for each of them among ``merges`` (:mod:`.opt_outs`).

    Store errors propagate (e.g. ``IdentityStoreUnavailable``: Beam retries the bundle; links are idempotent)."""
    rows: list[dict[str, Any]] = []
    merges: list[tuple[str, Event]] = []
    refused: set[str] = set()
    pairs = links_for(ev.stream, ev.type, ev.ids, rules)
    for a, b in pairs:
        ra, rb = store.find(a), store.find(b)
        before = {} if ra == rb else {ra: store.members(ra), rb: store.members(rb)}  # a possible merge's sides
        outcome = store.link(a, b, ev.ts, ev.uid)
        rows.append(link_row(a, b, outcome.root, ev.uid, ev.stream, ev.ts,
                             "accepted" if outcome.accepted else "refused", outcome.reason))
        if not outcome.accepted:
            refused.update((a, b))
        elif outcome.merged:
            old, new = outcome.merged
            merges.append((old, merge_into_event(old, new, ev)))
            merges.append((new, merge_from_event(old, new, ev, before.get(old) or [old], (a, b))))
        else:
            # already one customer: a link dated before the merge that joined them (the same login seen again with
            # an earlier time, arriving after the later one) moves that merge back to this time, with its control
            # events at this time (the absorbed key hands over from here; the survivor places it here)
            again = store.rejoin(a, b, ev.ts)
            if again is not None:
                old, new = again
                side = [k for k in store.members(new) if store.root_at(k, ev.ts) == old] or [old]
                merges.append((old, merge_into_event(old, new, ev)))
                merges.append((new, merge_from_event(old, new, ev, side, (a, b))))
    # keyed by the customer its primary identifier was at the event's time (replay's rule): an event dated before
    # the link that merged its customer away, arriving after that link, is decided in the absorbed customer's own
    # state (consent, sends, memberships), which then travels to the survivor with the hand-over
    customer = store.root_at(canonical(ev.ids), ev.ts)
    if len(ev.ids) > 1 and (ev.stream == "consent" or ev.stream == "engagement" or ev.stream == "crm"):
        # an opt-out or a deletion naming other customers' identifiers reaches each of them (``opt_outs``)
        from journeyflow.stages.identity.opt_outs import online_copies
        merges += online_copies(store, ev, customer)
    keyed = ev
    dropped = {k for k in refused if store.root_at(k, ev.ts) != customer}
    if dropped:  # (qa17h: V2's email on V1's order made it V1's newest address; V1's state listed V2's key)
        # another customer's address is noted (a singleton a cap refused, ``kind_cap:email`` on the customer's own
        # side, is a new address of this customer's, as in replay: ``clusters.ClusterKeyer``)
        others = {k for k in dropped if len(store.members(k)) > 1}
        keyed = Event(ev.uid, ev.stream, ev.type, ev.ts, tuple(k for k in ev.ids if k not in dropped), ev.attrs,
                      refused_contact(ev.contact, others, pairs) if ev.contact and others else ev.contact)
    return OnlineResolution(rows, merges, customer, keyed)


def status_handover(key: str, ev: Event) -> Event:
    """The ``absorb`` that carries the change of a late consent, deliverability or deletion record ``ev`` (a
    deletion: the ``account`` mark only, ``stages.deletion``) from customer ``key``,
    whose state was handed over to another customer by a merge (only its processed horizon is left), to that
    customer: a state holding only the change (``CustomerState.apply_status`` at the record's own event time, so the
    latest status in event time still wins in the union), addressed to ``key`` and routed on to its current customer
    by :func:`transfer_target`.  Before, the change was dropped with the state that was no longer there: a late
    opt-out of a merged-away customer never reached the survivor, who went on messaging the channel.  The uid is a
    function of the key and the record (a retried bundle sends the same hand-over; the union is idempotent).

    A bounce naming no address hits the customer's most recent address of its channel; that customer's addresses
    went with its state, so the hand-over names the bounce by kind only (``state_merge.unnamed_key``): the routing
    step fills in the addresses the identity graph gave ``key`` at the bounce's time (:func:`route_transfer`) and
    the survivor's merge applies it (``state_merge.resolve_unnamed``).  Before, such a bounce changed nothing."""
    from journeyflow.model.decisions import ADDRESS_FOR_CHANNEL
    from journeyflow.stages.deliverability import bounce_effect, channels_of
    from journeyflow.stages.state import CustomerState
    from journeyflow.stages.state_merge import unnamed_key
    state = CustomerState(customer_id=key)
    state.apply_status(ev)
    if ev.stream == "engagement" and ev.type == "bounced" and not state.addr_status and bounce_effect(ev):
        for ch in channels_of(ev.attrs.get("channel")):  # (no effect: the sender's fault, stages.bounce_words)
            if ADDRESS_FOR_CHANNEL.get(ch):
                state.set_address_status(unnamed_key(ADDRESS_FOR_CHANNEL[ch]), ch, bounce_effect(ev), ev.ts)
    return Event(uid=f"absorb:status:{key}:{ev.uid}", stream=IDENTITY_STREAM, type=ABSORB, ts=ev.ts, ids=(key,),
                 attrs={"state": base64.b64encode(state.to_bytes()).decode(), "from": STATUS_FROM + key})


def transfer_target(store: IdentityStore, target: str, ev: Event) -> str:
    """The customer a state hand-over (``absorb`` event ``ev`` addressed to ``target``, read back from the
    ``state-transfer`` topic) is decided by: the customer ``target`` belonged to at the hand-over's time
    (:meth:`~journeyflow.adapters.identity_store.IdentityStore.root_at`).  ``target`` itself unless it was merged
    away at or before that time by a link that arrived after the hand-over was addressed (a link dated earlier
    arriving last): its state went to the survivor then, so the hand-over goes there too, not into a customer
    whose state is gone.  A status-only hand-over (:func:`status_handover`, dated at its record's time, before the
    merge) goes to the customer ``target`` belongs to now (``find``: its state went there, through any later merges
    too).  Other events: ``target``."""
    if ev.stream != IDENTITY_STREAM or ev.type != ABSORB:
        return target
    if str(ev.attrs.get("from", "")).startswith(STATUS_FROM):
        return store.find(target)
    return store.root_at(target, ev.ts)


def route_transfer(store: IdentityStore, target: str, ev: Event) -> tuple[str, Event]:
    """``(customer, hand-over)``: the customer :func:`transfer_target` addresses ``ev`` to and the hand-over itself,
    in which a status-only one's bounces naming no address (:func:`status_handover`) name the addresses the identity
    graph gave ``target`` at the bounce's time (its members then, of the kind: ``state_merge.name_unnamed``), so the
    survivor bounces the merged-away customer's address, not its own most recent one.  Other hand-overs as given."""
    routed = transfer_target(store, target, ev)
    if not str(ev.attrs.get("from", "")).startswith(STATUS_FROM):
        return routed, ev
    from journeyflow.stages.state import CustomerState
    from journeyflow.stages.state_merge import name_unnamed, unnamed_key
    state = CustomerState.from_bytes(base64.b64decode(ev.attrs["state"]))
    if not any(k.startswith((unnamed_key("email"), unnamed_key("phone"))) for k in state.addr_status):
        return routed, ev
    then = [k for k in store.members(store.find(target)) if store.root_at(k, ev.ts) == target]
    name_unnamed(state, {kind: [k for k in then if k.startswith(kind + ":")] for kind in ("email", "phone")})
    attrs = {**ev.attrs, "state": base64.b64encode(state.to_bytes()).decode()}
    return routed, Event(ev.uid, ev.stream, ev.type, ev.ts, ev.ids, attrs, ev.contact)
