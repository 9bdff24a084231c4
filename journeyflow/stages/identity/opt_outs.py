"""Opt-outs and account deletions naming several people: every customer any identifier of the record resolves to is
opted out (or deleted).

An opt-out record names identifiers (a consent revoke by ``crm_id`` B and the ``anonymous_id`` of A's browser, an
ESP unsubscribe with B's id and A's address, a Segment ``Unsubscribed`` with ``userId`` B and ``traits.email`` of
A, a STOP by B's id and a number A holds).  Identity resolution routes a record to one customer (the one of its
canonical identifier); the identifiers that belong to other customers used to be dropped from it, so A went on
getting the channel although the record named A's device or address.  An account deletion (``stages.deletion``,
qa16b) is the same: a Segment ``Account Deleted`` with ``userId`` B and the ``anonymousId`` of a device never linked
to B (the crm link rules leave device ids out), a crm deletion naming ``crm_id`` B and A's email (a contact merged
in the CRM, an export row with two people's identifiers) deleted B only; the device kept its browsing facts and its
journeys, A its win-back.  Fail safe (opt-outs: consent; deletions: GDPR art. 17 erasure): such a record now reaches
every customer any of its identifiers resolves to, at the record's own event time:

* the record itself is decided by its own customer, as before (one record read, one event decided);
* every other customer gets a **copy**: a status-only hand-over (``identity.online.status_handover`` of the record
  for that identifier: an ``absorb`` of a state holding only the record's consent/address change, or, of a
  deletion, only the ``account`` mark ``deliverability.apply_status`` sets), which the processor unions into the
  customer's state like any hand-over (``CustomerState.merge``: the later ``account`` mark, a tie the deletion;
  then ``stages.deletion.settle`` ends the memberships, cancels the pending sends and erases the profile).  A copy
  runs no journey, is never a duplicate, a late event or a dead letter, and is not counted as an event decided:
  ``decided + dead letters = records read`` stays exact.  At equal times it is applied before every other record
  (identity control events first, as ``flush_plan.flush_order``), so an opt-out or a deletion at a trigger's
  millisecond stops it for every customer it names.

Where: bounded replay sends a copy to the final cluster of each identifier outside the record's own cluster
(:func:`cluster_copies`, called where events are keyed by cluster: ``stages.bounded.resolve_clusters``,
``transforms.identity.KeyByCluster``, ``pipelines.replay_buckets``), and inside a cluster's fold to the
sub-profile each identifier is part of at the record's time (``ClusterFold``), so an identifier linked to A only
later carries the opt-out (the deletion) into A at the link, as a record naming only that identifier does (a
deleted profile merged later deletes the survivor from the link on: ``stages.deletion``, 1).  Streaming sends a
copy to the customer each identifier had at the record's time and to the one it has now
(:func:`online_copies`: when a link dated later has already merged it away, its state went to the survivor,
which then is opted out or deleted from the record's time, fail safe).

A new account after the deletion (``stages.deletion``, 5) re-opens only the customer whose record it is: a copy
deleted every customer named, and each stays deleted until a new account of its own (or a merge with a profile
whose new account is later than the deletion: ``merge_account``, the later mark).

Only opt-outs and deletions fan out (:func:`fans_out`; :func:`is_opt_out`: consent revoked, engagement
unsubscribed or complained, whatever the input spelling: SMS STOP, Segment ``Unsubscribed`` ...;
``stages.deletion.is_deletion``: crm ``contact_deleted`` in any CRM's word, a record flagged deleted, Segment
``Account Deleted``).  A **grant** is for the record's subject only (a consent grant names exactly one identifier,
else ``multiple_identifiers``); a bounce is the address's (address-status copies, ``transforms.address``).  And an
opt-out never *links* its identifiers (``rules.links_for``): naming two people is no evidence that they are one.
The copies link nothing either (a deletion record itself links as its stream's rules say: crm ids, emails and
phones, never device ids; a link that would put two CRM ids in one customer is refused by the caps).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from journeyflow.model.events import Event
from journeyflow.stages.deletion import is_deletion
from journeyflow.stages.identity.online import status_handover
from journeyflow.stages.identity.rules import OPT_OUT_TYPES

if TYPE_CHECKING:
    from journeyflow.adapters.identity_store import IdentityStore

__all__ = ["FAN_OUT_STREAMS", "OPT_OUT_TYPES", "cluster_copies", "fans_out", "is_opt_out", "online_copies"]

#: the streams of the records that fan out (:func:`fans_out`): a cheap first test for callers
FAN_OUT_STREAMS = frozenset({"consent", "engagement", "crm"})


def is_opt_out(ev: Event) -> bool:
    """Whether ``ev`` is an opt-out: a consent revoke or an engagement unsubscribe/complaint (the stream and type
    the parser gives every spelling of one: STOP, ``Unsubscribed``, ``spamreport`` ...)."""
    return (ev.stream == "consent" and ev.type == "consent_revoked") or (
        ev.stream == "engagement" and ev.type in OPT_OUT_TYPES)


def fans_out(ev: Event) -> bool:
    """Whether ``ev`` reaches every customer its identifiers resolve to (module doc): an opt-out
    (:func:`is_opt_out`) or an account deletion (``stages.deletion.is_deletion``: the crm ``contact_deleted`` the
    parser gives every input form of one)."""
    return is_opt_out(ev) or is_deletion(ev)


def cluster_copies(ev: Event, cluster: str, root_of: Mapping[str, str]) -> list[tuple[str, tuple[Event, tuple]]]:
    """Bounded replay: ``(cluster, (copy, ()))`` for each identifier of the opt-out or deletion ``ev`` whose final
    cluster (``root_of``: identifier -> cluster, an identifier absent is its own) is not ``cluster``, the one ``ev``
    is keyed to; empty for a record that does not fan out (:func:`fans_out`).  One copy per identifier (``ids``
    that identifier): the fold applies it to the sub-profile the identifier is part of at the record's time."""
    if not fans_out(ev):
        return []
    out = []
    for k in ev.ids:
        c = root_of.get(k, k)
        if c != cluster:
            out.append((c, (status_handover(k, ev), ())))
    return out


def online_copies(store: IdentityStore, ev: Event, customer: str) -> list[tuple[str, Event]]:
    """Streaming: ``(customer id, copy)`` for each customer other than ``customer`` (the one ``ev`` is keyed to)
    that an identifier of the opt-out or deletion ``ev`` belonged to at the record's time (``root_at``) or belongs
    to now (``find``: after a later-dated merge that arrived first, its state is the survivor's); one copy per
    customer, named after the first identifier that reaches it.  Empty for a record that does not fan out
    (:func:`fans_out`) or names one identifier."""
    if len(ev.ids) < 2 or not fans_out(ev):
        return []
    out: dict[str, Event] = {}
    for k in ev.ids:
        then = store.root_at(k, ev.ts)
        if then == customer:
            continue  # (its customer at the record's time is the record's: the record itself goes there)
        for target in (then, store.find(k)):
            if target != customer and target not in out:
                out[target] = status_handover(k, ev)
    return list(out.items())
