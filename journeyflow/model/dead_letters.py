"""Dead letters: a record journeyflow could not use, with the reason (see ``journeyflow.model.reasons``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DeadLetter:
    stream: str
    reason: str
    detail: str
    payload: str
    source: str
    event_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "reason": self.reason,
            "detail": self.detail,
            "payload": self.payload,
            "source": self.source,
            "event_time": self.event_time,
        }
