"""Account deletion and erasure (qa15a): a deleted account gets no message, from the deletion's event time on.

Plain Python, no Beam.  Input forms (one event type, crm ``contact_deleted``, a status record:
``model.events.is_status_event``, so at equal times it applies before every other record, as an opt-out does):

* a ``crm`` record of type ``contact_deleted``, or in a CRM's or privacy tool's words (``spellings.ENUM_SYNONYMS``:
  HubSpot's ``contact.deletion`` / ``contact.privacyDeletion``, ``deleted``, ``archived``, ``erasure_requested``,
  ``right_to_be_forgotten`` ...): a GDPR erasure request (art. 17) is sent as such a record;
* a Segment ``Account Deleted`` (B2B SaaS spec), mapped onto it (``defaults/segment_mapping.yaml``).

Semantics (Braze's and Segment's "suppress and delete"; :func:`on_event`, :func:`settle`):

1. The deletion is of the **customer** the record resolves to -- the whole profile, every identifier merged into
   it (a deletion naming one device of a merged profile deletes the person: fail safe), and, when a deleted profile
   is merged into another later, the merged one from the link on (``CustomerState.merge`` keeps the later of the
   two profiles' ``account`` marks; a tie: the deletion).  A deletion whose identifiers resolve to several customers
   at its time (a Segment ``Account Deleted`` with B's ``userId`` and an unlinked device's ``anonymousId``, a crm
   deletion naming B's CRM id and A's email) deletes each of them: the others get a status-only copy carrying the
   mark (``identity.opt_outs``, qa16b; fail safe, as an opt-out naming several people).
2. Every journey membership ends (``exited``, detail ``account_deleted``), every held entry too
   (``entry_refused``, ``held_ended:account_deleted``), every pending wait is dropped and every pending (deferred)
   send is ``cancelled`` with a ``suppress`` decision whose reason is ``account_deleted``.
3. The profile's personal facts are erased (:func:`erase`): delivery addresses (the raw email and phone), time
   zone, lifecycle, owner, tickets, orders, purchases, cart, views, sends, journeys, traits, computed attributes,
   activity times and consent grants.  Kept: the identifier keys (hashed addresses; CRM and device ids as given),
   the opt-outs and the per-address statuses (hashed: a deletion never re-opens a channel), the event ids seen
   (de-duplication) and the ``account`` mark itself, which is never retired (``state_bounds.retire`` keeps it).
4. While deleted, the customer's records are decided on (counted, de-duplicated) but change nothing and enter no
   journey; an opt-out among them is still applied.  A candidate that reaches arbitration anyway (it cannot on
   the paths above) is suppressed with ``account_deleted`` (:func:`suppressed`), tasks and cases included.
5. A **new account**: a ``signup`` (web, or Segment's mapped ``Signed Up``), a ``contact_created`` or a Segment
   ``Account Created`` strictly later than the deletion re-opens the profile as a new one: it starts empty (no
   consent: the new account's sends need its own grant, no ``reentry: never`` markers: it is welcomed again).  One
   at the deletion's millisecond does not (which came first is not known: fail safe).  It re-opens only the customer
   it is of: the others one deletion named stay deleted until a new account of their own.
"""
from __future__ import annotations

from typing import Any

from journeyflow.model.events import ACCOUNT_DELETED_TYPE, Event, is_status_event
from journeyflow.stages.arbitration.reasons import ACCOUNT_DELETED

__all__ = ["CREATED", "DELETED", "NEW_ACCOUNT", "erase", "is_deleted", "is_deletion", "mark_deleted",
           "merge_account", "on_event", "settle", "suppressed"]

DELETED, CREATED = "deleted", "created"
#: (stream, type) of the events that open a new account after a deletion
NEW_ACCOUNT = frozenset({("web", "signup"), ("crm", "contact_created"), ("track", "Account Created")})
#: the ``CustomerState`` fields an erasure keeps as they are (of ``consent``, only the opt-outs:
#: ``deliverability.BLOCKING``, so the channel stays opted out)
_KEPT_FIELDS = ("customer_id", "ids", "addr_status", "seen", "first_seen", "last_event", "expired_at", "account")
#: the records a deleted customer still has applied (their status change only): opt-outs and bounces
_OPT_OUT_TYPES = frozenset({"consent_revoked", "unsubscribed", "complained", "bounced"})


def is_deletion(ev: Event) -> bool:
    """True for an account deletion record (crm ``contact_deleted``, whatever its input form)."""
    return ev.type == ACCOUNT_DELETED_TYPE and ev.stream == "crm"


def is_deleted(state: Any) -> bool:
    """True when the customer's latest account mark is a deletion."""
    a = state.account
    return a is not None and a[0] == DELETED


def mark_deleted(state: Any, ts: int) -> None:
    """Mark ``state`` deleted at ``ts`` (ms) unless a new account was opened later (latest in event time; a tie: the
    deletion).  Idempotent: a redelivered or late deletion (``deliverability.apply_status``) only marks."""
    a = state.account
    if a is None or ts > a[1] or (ts == a[1] and a[0] != DELETED):
        state.account = [DELETED, ts]


def merge_account(x: list | None, y: list | None) -> list | None:
    """The ``account`` mark of two merged profiles: the later one; at equal times the deletion (fail safe)."""
    if x is None or y is None:
        return list(x or y) if (x or y) else None
    if x[1] != y[1]:
        return list(x if x[1] > y[1] else y)
    return list(x if x[0] == DELETED else y)


def erase(state: Any) -> None:
    """Drop the personal facts of a deleted profile (module doc, 3), in place: every field but the identifiers,
    the address statuses, the seen ids, the first/last event times and the mark; of the channel consent, the
    opt-outs only."""
    from journeyflow.stages.deliverability import BLOCKING
    from journeyflow.stages.state import CustomerState

    opt_outs = {ch: e for ch, e in state.consent.items() if e[0] in BLOCKING}
    fresh = CustomerState()
    for f in CustomerState._FIELDS:
        if f not in _KEPT_FIELDS:
            setattr(state, f, getattr(fresh, f))
    state.consent = opt_outs


def on_event(processor: Any, state: Any, ev: Event, out: Any) -> bool:
    """The deletion side of ``CustomerProcessor.on_event`` for a new (not duplicate) event of a customer that has an
    ``account`` mark or when ``ev`` is a deletion.  True when the event is handled here (nothing else runs on it):
    a deletion (:func:`settle`), or any event of a deleted customer but a new account's (module doc, 4-5)."""
    if is_deletion(ev):
        mark_deleted(state, ev.ts)
        if is_deleted(state):
            settle(processor, state, ev.ts, ev.uid, out)
        return True
    if not is_deleted(state):
        return False
    if (ev.stream, ev.type) in NEW_ACCOUNT and ev.ts > state.account[1]:
        settle(processor, state, ev.ts, ev.uid, out)  # (nothing left to end: erased at the deletion)
        state.account = [CREATED, ev.ts]
        return False
    settle(processor, state, ev.ts, ev.uid, out)  # (a mark set without its settling: a late deletion, a merge)
    if is_status_event(ev.stream, ev.type) and ev.type in _OPT_OUT_TYPES:
        state.apply_status(ev)  # an opt-out still counts (a new account keeps it)
    return True


def settle(processor: Any, state: Any, now: int, trigger_id: str, out: Any) -> None:
    """End what a deleted profile still has (module doc, 2) at ``now``, triggered by ``trigger_id``, then
    :func:`erase` it (a settled profile has no journey and no timer left: only the erasure runs again)."""
    if not state.journeys and not state.timers:
        erase(state)
        return
    from journeyflow.stages.arbitration.moment import cancelled_decision
    from journeyflow.stages.journeys.engine import JourneyEngine
    from journeyflow.stages.journeys.model import JourneyOutput, JourneyStep

    cid = state.customer_id
    pend = out.pending.get(id(state)) if out.pending else None
    if pend is not None:  # candidates of this millisecond not yet arbitrated
        pend.cancel({j: ACCOUNT_DELETED for j in pend.journeys()}, trigger_id, out.decisions, out.steps)
    jo = JourneyOutput([], [], [])
    for jid in sorted(state.journeys):
        m = state.journeys[jid]
        if m.get("step") is not None:
            JourneyEngine._finish(state, jid, m, now, trigger_id, ACCOUNT_DELETED, cid, jo)
        for _h in m.get("h") or ():
            jo.steps.append(JourneyStep(cid, jid, "", "entry_refused", now, trigger_id,
                                        f"held_ended:{ACCOUNT_DELETED}"))
    for t in state.take_timers("deferred"):  # (of finished memberships: their sends were deferred)
        jo.cancelled.append((t, ACCOUNT_DELETED))
        jo.steps.append(JourneyStep(cid, t[3].get("j"), t[3].get("s") or "", "cancelled", now, trigger_id,
                                    ACCOUNT_DELETED))
    out.steps.extend(jo.steps)
    for timer, _why in jo.cancelled:
        out.decisions.append(cancelled_decision(cid, timer, now, trigger_id, ACCOUNT_DELETED))
    erase(state)


def suppressed(candidates: list, now: int, customer_id: str, trigger_id: str) -> Any:
    """The arbitration result of a deleted customer's candidates: every one lost with ``account_deleted``."""
    from journeyflow.stages.arbitration.records import ArbitrationResult, decisions_of

    lost = [(c, ACCOUNT_DELETED) for c in candidates]
    return ArbitrationResult(decisions_of([], lost, now, customer_id, trigger_id), [])
