"""Field warnings: an optional field of a *kept* record that the parser dropped or replaced, with the reason (see
``journeyflow.model.reasons.FieldWarningReason``; which fields are optional: ``journeyflow.stages.fields``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeyflow.model.reasons import FieldWarningReason


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """An optional field (or identifier) of a kept record that was dropped or replaced by the parser; it goes to
    the ``field-warnings`` topic and the ``field_warnings`` table.

    ``event_id`` is the record's own id (the event's uid is ``<stream>/<event_id>``); ``field`` the input field;
    ``reason`` a :class:`FieldWarningReason`; ``action`` ``dropped`` or ``replaced``; ``detail`` a human-readable
    explanation (PII masked); ``value`` the bad value as short JSON with emails and phone numbers masked (``None``
    for the email and phone fields, whose values are PII); ``source`` where the record was read (``path:line``,
    ``pubsub:<message id>``); ``event_time`` the record's event time (epoch ms)."""

    stream: str
    event_id: str
    field: str
    reason: FieldWarningReason | str
    action: str
    detail: str
    value: str | None
    source: str
    event_time: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the field-warnings topic and the row of the ``field_warnings`` table (plain
        strings)."""
        return {
            "stream": self.stream,
            "event_id": self.event_id,
            "field": self.field,
            "reason": str(self.reason),
            "action": self.action,
            "detail": self.detail,
            "value": self.value,
            "source": self.source,
            "event_time": self.event_time,
        }
