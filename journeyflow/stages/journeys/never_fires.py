"""Journey triggers that can never fire (qa15c): refused at load, with the file and line (``journeys.loader``).

An account deletion (crm ``contact_deleted``, whatever its input form: a CRM's or privacy tool's word, Segment's
``Account Deleted``) freezes the customer from its event time on (``stages.deletion``, qa15a): every membership ends
(``exited``, detail ``account_deleted``), every held entry and pending send too, and while deleted the customer's
records enter no journey.  So a trigger on it means nothing:

* an **entry** on it never enters (the deleted customer is frozen; a new account -- a ``signup`` or
  ``contact_created`` after it -- starts anew and is the entry to use);
* an **exit** on it never fires as such (the deletion already ends the membership, detail ``account_deleted``);
* a **goal** on it is never attributed (the membership has ended before: 0 conversions in both arms);
* a **wait until** it never resumes (the membership ends instead, so ``on_event`` is never taken);
* a **computed attribute** of it (attributes file: ``{op: count, event: contact_deleted}``) never counts one: the
  deletion erases the computed attributes and nothing is recorded after it.

Before, each loaded without a word and silently never ran.

A trigger named in another tool's word for a built-in type (``order_canceled``, Shopify's ``orders/create``, GA4's
``purchase``, HubSpot's ``contact.creation``, Zendesk's ``ticket.created``: ``spellings.ENUM_SYNONYMS``) never
fires either: the parser reads such a record as the stream's own type, so no event ever carries that name.  It was
refused with a misleading hint (``ticket.created``: "did you mean 'ticket_escalated'?"; ``purchase, stream: orders``:
"a user-named event is in stream 'track'"); it is refused naming the type it is read as
(:func:`synonym_trigger_error`, qa16a) rather than folded, so a journey file names each event one way, as the
tables and decisions do.  The other "never" triggers were already refused by
the loader: an event type its stream does not have (``ticket_opened`` on ``orders``), a Segment event the mapping
turns into a built-in one (``Account Deleted`` on ``track``), and ``customer.reachable.<channel>`` /
``customer.consent.<channel>`` of a channel that does not exist (the condition type check).
"""
from __future__ import annotations

from journeyflow.model.events import ACCOUNT_DELETED_TYPE
from journeyflow.stages.journeys.model import STREAM_OF_TYPE
from journeyflow.stages.spellings import ENUM_SYNONYMS, fold_symbol

__all__ = ["NEVER_FIRES", "deletion_trigger_error", "synonym_trigger_error"]

#: Event types no journey trigger may name (of their own stream).
NEVER_FIRES = frozenset({ACCOUNT_DELETED_TYPE})

_WHY = {
    "entry": "can never start a journey: a deletion freezes the customer and nothing runs after it (a new account "
             "-- signup or contact_created after it -- is the entry to use)",
    "exit": "is no exit: a deletion already ends every membership (exited, detail account_deleted); remove it",
    "goal": "can never be reached as a goal: a deletion ends every membership first (exited, detail "
            "account_deleted), so it is never attributed",
    "until": "never resumes the wait: a deletion ends the membership instead (exited, detail account_deleted), so "
             "on_event is never taken",
    "attribute": "is never counted: the deletion erases the profile's computed attributes and nothing is recorded "
                 "after it (a new account starts empty)",
}


def deletion_trigger_error(etype: str, stream: str | None, role: str) -> str | None:
    """The load error for a trigger on the account deletion event, else None.  ``etype`` / ``stream``: the trigger's
    ``event`` (or ``until``) and ``stream`` (None: the type's own); ``role``: ``entry``, ``exit``, ``goal`` or
    ``until`` (a wait step's), or ``attribute`` (a computed attribute of the attributes file:
    ``attributes_loader``).  Source of the rule: ``stages.deletion`` (qa15a)."""
    if etype not in NEVER_FIRES or stream not in (None, STREAM_OF_TYPE[etype]):
        return None
    return f"event '{etype}' (an account deletion, stages.deletion) {_WHY[role]}"


def synonym_trigger_error(etype: str, stream: str | None, key: str = "event") -> str | None:
    """The load error for a trigger named in a word the parser reads as a built-in type (of ``stream`` first, then
    of any stream; the loader does not ask for ``track`` or a declared event: a user-named event may have any name),
    else None.
    ``key``: the trigger's key (``event``, ``until``), named in the fix.  Source of the words:
    ``spellings.ENUM_SYNONYMS`` (the streams' ``type``); qa16a."""
    folded = fold_symbol(etype)
    meant = [(s, m) for s, fields in sorted(ENUM_SYNONYMS.items()) if "type" in fields
             and (m := fields["type"].get(folded)) is not None and STREAM_OF_TYPE.get(m) == s]
    meant = [sm for sm in meant if sm[0] == stream] or meant  # (another stream's word: its type, then its stream)
    if not meant:
        return None
    read = " or ".join(f"{s} '{m}'" for s, m in meant)
    fix = " or ".join(f"{key}: {m}" for _s, m in meant)
    return (f"event '{etype}' never fires: the parser reads that word as {read} (another tool's name for it, "
            f"spellings.ENUM_SYNONYMS), so no event has this name; use {fix}")
