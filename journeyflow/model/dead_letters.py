"""Dead letters: a record journeyflow could not use, with the reason (see ``journeyflow.model.reasons``)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from journeyflow.model.reasons import DeadLetterReason


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record (or a due timer) that was not used, never silently dropped: it goes to the ``dead-letter`` topic
    and the ``dead_letter`` table.

    ``stream``: the input stream (``_timer`` for a timer, ``_identity`` for an identity control event);
    ``reason``: a :class:`DeadLetterReason`; ``detail``: a human-readable explanation (PII masked);
    ``payload``: the raw record, truncated and PII-masked ("" for records that were parsed); ``source``: where it
    came from (``path:line``, ``pubsub:<message id>``, or the event uid); ``event_time``: epoch ms if known;
    ``attributes``: a Pub/Sub message's attributes (values truncated and PII-masked), None for a record that did not
    come from Pub/Sub (files, timers)."""

    stream: str
    reason: DeadLetterReason | str
    detail: str
    payload: str
    source: str
    event_time: int | None = None
    attributes: Mapping[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the dead-letter topic and the row of the ``dead_letter`` table (plain strings).
        ``attributes`` (a JSON object as text, keys sorted) only when the record had them: the topic's messages
        and tables of file records are those of earlier versions; the table column is nullable."""
        out = {
            "stream": self.stream,
            "reason": str(self.reason),
            "detail": self.detail,
            "payload": self.payload,
            "source": self.source,
            "event_time": self.event_time,
        }
        if self.attributes is not None:
            out["attributes"] = json.dumps(dict(self.attributes), sort_keys=True, ensure_ascii=False)
        return out
