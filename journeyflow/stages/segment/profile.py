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

__all__ = ["PROFILE_TRAITS", "profile_fields"]

#: folded trait name (lower case, no ``_``/``-``/space) -> the profile field it sets (``crm`` stream's field name)
PROFILE_TRAITS = {"lifecyclestage": "lifecycle_stage", "ownerid": "owner_id"}


def _folded(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


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
