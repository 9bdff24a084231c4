"""A CRM record whose fields say the contact opted out is that opt-out (compliance fails safe).

CRMs keep a contact's subscription as properties of the contact, and a sync sends them on every contact record:
HubSpot's ``hs_email_optout: "true"`` (v3 objects under ``properties``), Salesforce's ``HasOptedOutOfEmail`` /
``DoNotCall``, Customer.io's ``unsubscribed: true``, Braze's ``email_subscribe: "unsubscribed"``, an export's
``do_not_contact`` / ``sms_opt_out``.  ``crm.avsc`` names none of them, so such a ``contact_updated`` was read
as a plain update and the contact kept getting the channel it had left (qa17b's finding).

:func:`crm_opt_out` reads a crm record's top-level fields, and those of its ``properties`` object, with
:func:`journeyflow.stages.opt_out_names.opted_out_trait` (the reading a Segment ``identify``'s traits get): the
channel scope it opts the contact out of (a channel, ``spellings.EVERY_CHANNEL`` or ``PHONE_CHANNELS``; several
flags of different channels: their union).  The parser (``Parser._parse``) then makes the record the engagement
stream's ``unsubscribed`` of that scope, with its crm identifiers, its event id in the crm namespace
(``crm/<event_id>``: a re-sent record is a duplicate of itself, never of an engagement record with the same id) and
its profile fields (``lifecycle_stage``, ``timezone``, ``owner_id``: ``CustomerState.apply`` sets them from any
stream), so like every opt-out it applies first at a tie, reaches every customer its addresses name
(``opt_outs.fans_out``) and links nothing (README "Identity": send the link in another record).  A false flag, an
opt-in, a data opt-out (``do_not_track``) and a deletion (``stages.deletion_flags``: the deletion applies) change
nothing.

The fast parser (``stages.parse_fast``, whose typed decoder skips fields ``crm.avsc`` does not name) hands a crm
record that may name such a field to the full parser (:func:`names_crm_flag`, a cheap scan of the raw text).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from journeyflow.stages.deletion_flags import DELETED_TYPE, names_deletion_flag

__all__ = ["OPTED_OUT", "OPT_OUT_TYPE", "crm_opt_out", "names_crm_flag", "opt_out_event"]

#: The engagement stream's type a flagged crm record becomes.
OPT_OUT_TYPE = "unsubscribed"
#: The attribute of a flagged ``contact_created`` naming the scope it opts the new contact out of.
OPTED_OUT = "opted_out"
_CREATED = "contact_created"
# a key that may hold an opt-out flag or status (opted_out_trait's words: unsubscribe, opt out, do not, subscribe,
# consent, spam, complaint, dnc), any case; a cheap scan: a false hit only costs the full parser
_KEYS = r'"[^"\\]{0,80}(?:unsub|opt|do_?not|donot|subscri|consent|spam|complain|dnc|permission)[^"\\]{0,80}"\s*:'
_SCAN_BYTES, _SCAN_TEXT = re.compile(_KEYS.encode(), re.IGNORECASE), re.compile(_KEYS, re.IGNORECASE)


def names_crm_flag(raw: bytes | str) -> bool:
    """Whether the JSON text ``raw`` has a key that may flag a deletion (``stages.deletion_flags``) or an opt-out
    (module doc): the fast parser then leaves the record to the full parser."""
    return names_deletion_flag(raw) or (_SCAN_BYTES if isinstance(raw, (bytes, bytearray)) else
                                        _SCAN_TEXT).search(raw) is not None


def opt_out_event(etype: str, attrs: dict[str, Any], scope: str) -> tuple[str, str, dict[str, Any]]:
    """``(stream, type, attributes)`` of the Event a crm record of type ``etype`` flagged opted out of ``scope``
    (:func:`crm_opt_out`) is read as: the engagement stream's ``unsubscribed`` of that scope with the record's
    attributes; but a ``contact_created`` stays itself (the identity links it makes, the journeys it starts: a welcome
    by email for a contact who refused calls) with ``attrs[OPTED_OUT] = scope``, which ``CustomerState.apply`` applies
    to the contact's own consent and address as that opt-out (before, the whole record became the opt-out: the contact
    was never created nor linked, qa17j).  Such a creation's opt-out reaches the contact itself, not another customer
    holding the same address, and is not ordered first at a tie as an opt-out record is: the later records of a
    sync carry the flag again and are opt-outs in full."""
    if etype == _CREATED:
        return "crm", etype, {**attrs, OPTED_OUT: scope}
    return "engagement", OPT_OUT_TYPE, {**attrs, "channel": scope}


def crm_opt_out(rec: Mapping[str, Any]) -> str | None:
    """The channel scope a decoded crm record's fields opt the contact out of (module doc), else None (also for a
    deletion)."""
    from journeyflow.stages.opt_out_names import opted_out_trait
    from journeyflow.stages.spellings import EVERY_CHANNEL, _several_channels

    if rec.get("type") == DELETED_TYPE:
        return None
    props = rec.get("properties")
    items = [*rec.items(), *(props.items() if isinstance(props, dict) else ())]
    scopes = list(dict.fromkeys(s for k, v in items if (s := opted_out_trait(k, v)) is not None))
    if not scopes:
        return None
    return scopes[0] if len(scopes) == 1 else _several_channels(",".join(scopes)) or EVERY_CHANNEL
