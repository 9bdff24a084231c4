"""The CRM profile fields an ``identify`` call's traits carry: ``lifecycle_stage`` and ``owner_id``.

The Segment Spec's ``identify`` call is "who the user is" and its ``traits`` are "pieces of information you know
about a user" (segment.com/docs/connections/spec/identify/, "Traits"): the profile a CRM keeps.  Companies whose
CRM feeds Segment (HubSpot's ``lifecyclestage``, Salesforce's and Customer.io's ``lifecycle_stage``) send the
customer's lifecycle stage and account owner there, not on journeyflow's ``crm`` stream.  The journeys read those
two as ``customer.lifecycle_stage`` (the shipped ``welcome`` and ``winback`` journeys) and the owner of a CRM task
(``arbitration.context``), so an identify trait naming one of them updates the profile exactly as a ``crm`` record's
field does (``CustomerState.apply``: a non-empty value replaces the previous one).

Names are matched as sources spell them: in any case, with or without ``_``, ``-`` or spaces
(``lifecycle_stage``, ``lifecycleStage``, ``lifecyclestage``, ``Lifecycle Stage``; ``owner_id``, ``ownerId``).
Values: the stage a string (as the ``crm`` stream's ``lifecycle_stage``), the owner a string or an integer id (its
digits, as ``crm``'s ``owner_id``: ``spellings.INTEGER_ID_FIELDS``); another value is dropped from the profile with a
``wrong_type`` field warning ``traits.<name as sent>`` (the trait itself is handled like every trait: kept when
declared and of its type).  Values are the cleaned traits (an address in them is already a keyed token); an empty
value changes nothing.  Only ``identify`` calls (with the ``context.traits`` they merge under their own) update the
profile: ``context.traits`` of other calls describe the user at that moment, and a group call's traits the account.
"""
from __future__ import annotations

from typing import Any

from journeyflow.model.reasons import FieldWarningReason as W
from journeyflow.stages.fields import warning_value
from journeyflow.stages.segment.calls import text as _id_text

__all__ = ["PERSONAL_TRAITS", "PROFILE_TRAITS", "personal_name", "profile_fields", "reserved_spellings", "spelt"]

#: folded trait name (lower case, no ``_``/``-``/space) -> the profile field it sets (``crm`` stream's field name)
PROFILE_TRAITS = {"lifecyclestage": "lifecycle_stage", "ownerid": "owner_id"}
#: The Segment Spec's reserved personal traits (and their snake_case spellings): ``email``/``phone`` become hashed
#: identifiers; the others are used by no decision and never reach ``attrs``.
PERSONAL_TRAITS = frozenset({"email", "phone", "name", "firstName", "lastName", "first_name", "last_name",
                             "address", "birthday", "username", "avatar"})
#: folded spelling -> the reserved trait (``Email``, ``E-mail``, ``email_address``, ``Phone Number``, ``First Name``)
_RESERVED = {**{n.lower().replace("_", ""): n for n in PERSONAL_TRAITS if "_" not in n},
             "emailaddress": "email", "phonenumber": "phone", "fullname": "name", "username": "username"}


def _folded(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def spelt(traits: dict, name: str) -> str:
    """The key of ``traits`` that is ``name`` (a folded one: ``timezone``) in a source's spelling (``timeZone``,
    ``Time Zone``): ``name`` itself when present, else the first key that folds to it, else ``name``."""
    if name in traits:
        return name
    return next((k for k in traits if isinstance(k, str) and _folded(k) == name), name)


def personal_name(name: str) -> str | None:
    """The reserved personal trait a name is in any spelling (``Email`` -> ``email``), else None."""
    return name if name in PERSONAL_TRAITS else _RESERVED.get(_folded(name)) if isinstance(name, str) else None


def reserved_spellings(values: dict) -> tuple[dict, list[tuple[str, Any]]]:
    """``values`` (traits, or an opt-out's properties) with the personal traits written another way (``Email``,
    ``E-Mail``, ``email_address``, ``Phone Number``, ``First Name``: CRM exports and hand-built sources) under the
    Segment Spec's names, so an address is the identifier it is (hashed, an opt-out applies to it) and a name is
    dropped like ``firstName`` -- before, ``"Email"`` was kept as a tokenized trait and an ``Unsubscribed``
    naming its address only so opted out the user id alone.  A spelling beside the reserved name itself is left out
    (that one counts); the ``(email|phone, value)`` of such a second address are returned, for an opt-out to block
    too.  ``values`` itself is returned when no name is spelt so."""
    out, extra = None, []
    for name in values:
        want = None if name in PERSONAL_TRAITS else personal_name(name)
        if want is None:
            continue
        out = dict(values) if out is None else out
        v = out.pop(name)
        if want not in values and want not in out:
            out[want] = v
        elif want in ("email", "phone") and isinstance(v, str) and v.strip():
            extra.append((want, v))
    return (values if out is None else out), extra


def profile_fields(traits: dict, problems: list) -> dict[str, str]:
    """``{field: value}`` of the profile fields (:data:`PROFILE_TRAITS`) the cleaned identify ``traits`` set;
    a value of the wrong type appends ``(traits.<name>, wrong_type, "dropped", detail, value)`` to ``problems``.
    Of two spellings of one field in a message, the one written exactly as the field (``lifecycle_stage``)
    wins, else the last one."""
    out: dict[str, str] = {}
    exact: set[str] = set()
    for name, v in traits.items():
        field = PROFILE_TRAITS.get(_folded(name)) if isinstance(name, str) else None
        if field is None or v is None or v == "" or (field in exact and name != field):
            continue
        value = (v if isinstance(v, str) else None) if field == "lifecycle_stage" else _id_text(v)
        if value is None or not value.strip():
            if value is None:
                what = "a string" if field == "lifecycle_stage" else "a string or an integer id"
                problems.append((f"traits.{name}", W.WRONG_TYPE, "dropped",
                                 f"the customer's {field} is {what}, got {type(v).__name__}",
                                 warning_value(f"traits.{name}", v)))
            continue
        out[field] = value.strip()
        if name == field:
            exact.add(field)
    return out
