"""Dead letters: a record journeyflow could not use, with the reason (see ``journeyflow.model.reasons``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from journeyflow.model.reasons import DeadLetterReason


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record (or a due timer) that was not used, never silently dropped: it goes to the ``dead-letter`` topic
    and the ``dead_letter`` table.

    ``stream``: the input stream (``_timer`` for a timer, ``_identity`` for an identity control event);
    ``reason``: a :class:`DeadLetterReason`; ``detail``: a human-readable explanation (PII masked);
    ``payload``: the raw record, truncated and PII-masked ("" for records that were parsed); ``source``: where it
    came from (``path:line``, ``pubsub:<message id>``, or the event uid); ``event_time``: epoch ms if known."""

    stream: str
    reason: DeadLetterReason | str
    detail: str
    payload: str
    source: str
    event_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the dead-letter topic and the row of the ``dead_letter`` table (plain strings)."""
        return {
            "stream": self.stream,
            "reason": str(self.reason),
            "detail": self.detail,
            "payload": self.payload,
            "source": self.source,
            "event_time": self.event_time,
        }
