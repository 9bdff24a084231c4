"""The profile fields a CRM record or an ``identify`` call sets: time zone, lifecycle stage and CRM owner.

Each is kept with the event time it was set (``tz_at``, ``lifecycle_at``, ``owner_at``), so that an identity merge
keeps, field by field, the value set last in event time (:func:`merge_profile`): what one profile that had seen
both histories would hold.  Before (qa17f), only the zone followed that rule; the lifecycle stage and the owner were
those of the profile whose last event of any kind was later, so a device that browsed yesterday brought back the
owner and stage its ``identify`` set a month ago over the ones the CRM set last week (the escalation's follow-up
task went to the old owner).  Without both times (state stored before they existed) or at equal times, the newer
profile's value wins, as before.  Plain Python, no Beam.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PROFILE_FIELDS", "apply_profile", "merge_profile"]

#: (state field, its time field, the event attribute that sets it)
PROFILE_FIELDS = (("tz", "tz_at", "timezone"), ("lifecycle", "lifecycle_at", "lifecycle_stage"),
                  ("owner_id", "owner_at", "owner_id"))


def apply_profile(state: Any, a: Mapping[str, Any], ts: int) -> None:
    """Set the lifecycle stage and the owner a ``crm`` or ``track`` event's attributes ``a`` carry, at event time
    ``ts`` (the time zone is set by any stream's event: ``CustomerState.apply``, a Segment call's
    ``context.timezone``)."""
    for f, at, attr in PROFILE_FIELDS[1:]:
        v = a.get(attr)
        if v:
            setattr(state, f, v)
            setattr(state, at, ts)


def merge_profile(m: Any, x: Any, y: Any, newer: Any, older: Any) -> None:
    """Set ``m``'s profile fields from the merged states ``x`` and ``y`` (``newer``: the one of them with the later
    last event): per field, the value set last in event time; without both times or at a tie, the newer's."""
    for f, at in ((f, at) for f, at, _ in PROFILE_FIELDS):
        xv, yv, xt, yt = getattr(x, f), getattr(y, f), getattr(x, at), getattr(y, at)
        if xv and yv and xt is not None and yt is not None and xt != yt:
            src = x if xt > yt else y
        else:
            src = newer if getattr(newer, f) else older
        setattr(m, f, getattr(src, f))
        setattr(m, at, getattr(src, at))
