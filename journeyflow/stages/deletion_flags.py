"""A CRM record flagged as deleted is the contact's deletion, whatever its ``type`` says.

CRMs do not always send a deletion as an event of its own: HubSpot's v3 objects carry ``archived: true`` (and
``archivedAt``) on the contact record a sync exports, Salesforce's ``IsDeleted``, a warehouse export's ``deleted`` /
``deleted_at`` column.  Such a ``contact_updated`` record is read as the crm stream's ``contact_deleted``
(:mod:`journeyflow.stages.deletion`, qa15a): fail safe, since a deleted contact that journeyflow keeps as an ordinary
update stays reachable (its win-back, its cart reminder).  A flag that is false (``false``, ``0``, ``"no"``, null,
an empty text) changes nothing.

Used by :func:`journeyflow.stages.spellings.fold_enums` (the full parser) on the crm stream; the fast parser
(:mod:`journeyflow.stages.parse_fast`, which skips fields its typed decoder does not know) leaves a crm record that
names such a field to the full parser (:func:`names_deletion_flag`).
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["DELETED_TYPE", "deletion_flagged", "names_deletion_flag"]

#: The crm stream's deletion type (``schemas/crm.avsc``).
DELETED_TYPE = "contact_deleted"
#: Boolean flags (lower case): HubSpot ``archived``, Salesforce ``IsDeleted``, exports' ``deleted`` / ``is_deleted``.
_FLAGS = frozenset({"deleted", "isdeleted", "is_deleted", "archived", "isarchived", "is_archived"})
#: Times of the deletion (lower case): HubSpot ``archivedAt``, exports' ``deleted_at``; any value but null or "".
_TIMES = frozenset({"deleted_at", "deletedat", "archived_at", "archivedat"})
_TRUE_TEXTS = frozenset({"true", "yes", "y", "1", "t"})
_NAMES = r'"(?:is_?)?(?:deleted|archived)(?:_?at)?"\s*:'
_SCAN_BYTES, _SCAN_TEXT = re.compile(_NAMES.encode(), re.IGNORECASE), re.compile(_NAMES, re.IGNORECASE)


def _set(key: str, value: Any) -> bool:
    k = key.lower()
    if k in _FLAGS:
        return value is True or (value.__class__ is int and value == 1) or (
            isinstance(value, str) and value.strip().lower() in _TRUE_TEXTS)
    return k in _TIMES and value is not None and value is not False and value != ""


def deletion_flagged(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` (a decoded crm record), or a copy whose ``type`` is :data:`DELETED_TYPE` when one of its top-level
    fields flags the contact as deleted (module doc)."""
    if rec.get("type") != DELETED_TYPE and any(_set(k, v) for k, v in rec.items() if isinstance(k, str)):
        return {**rec, "type": DELETED_TYPE}
    return rec


def names_deletion_flag(raw: bytes | str) -> bool:
    """Whether the JSON text ``raw`` has a key that may be a deletion flag (any case; a cheap scan, no decode)."""
    return (_SCAN_BYTES if isinstance(raw, (bytes, bytearray)) else _SCAN_TEXT).search(raw) is not None
