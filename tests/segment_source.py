"""Segment-Spec messages as a real source emits them: analytics.js (browser, device clock skewed, times filled in by
Segment's API on arrival) and RudderStack (server-side, ``channel``/``rudderId`` fields), written as the ``track``
stream's file (``track.jsonl``: one message a line, or ``{"batch": [...]}`` lines as the HTTP API receives them)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


def iso(t: datetime) -> str:
    """``2026-10-05T10:00:00.123Z`` (Segment's format: UTC, milliseconds, ``Z``)."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SegmentSource:
    """Collects messages; ``skew``: how far the device clock is ahead of the server's (corrected by the times)."""

    def __init__(self, anonymous_id: str, skew: timedelta = timedelta(minutes=3), tz: str = "Europe/Amsterdam",
                 library: str = "analytics.js"):
        self.anonymous_id = anonymous_id
        self.user_id: str | None = None
        self.skew = skew
        self.tz = tz
        self.library = library
        self.messages: list[dict[str, Any]] = []

    def _msg(self, at: datetime, type_: str, **fields: Any) -> dict[str, Any]:
        n = len(self.messages) + 1
        device = at + self.skew  # what the device clock reads when the call happens
        sent = device + timedelta(milliseconds=850)
        received = at + timedelta(milliseconds=850 + 40)
        msg: dict[str, Any] = {
            "type": type_, "messageId": f"ajs-{self.anonymous_id}-{n:04d}", "anonymousId": self.anonymous_id,
            "context": {"library": {"name": self.library, "version": "4.15.3"}, "locale": "nl-NL",
                        "timezone": self.tz, "ip": "203.0.113.7",
                        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)",
                        "page": {"path": "/", "url": "https://shop.example/", "referrer": "", "title": "Shop"}},
            "integrations": {}, "originalTimestamp": iso(device), "sentAt": iso(sent), "receivedAt": iso(received),
            # Segment's API sets timestamp = receivedAt - (sentAt - originalTimestamp)
            "timestamp": iso(received - (sent - device)), "version": 2,
        }
        if self.user_id is not None:
            msg["userId"] = self.user_id
        msg.update(fields)
        self.messages.append(msg)
        return msg

    def page(self, at: datetime, name: str, **properties: Any) -> dict[str, Any]:
        """A ``page`` call."""
        return self._msg(at, "page", name=name, properties={"path": "/" + name.lower(), **properties})

    def track(self, at: datetime, event: str, **properties: Any) -> dict[str, Any]:
        """A ``track`` call."""
        return self._msg(at, "track", event=event, properties=properties)

    def identify(self, at: datetime, user_id: str, **traits: Any) -> dict[str, Any]:
        """An ``identify`` call; later calls carry ``userId`` (analytics.js remembers it)."""
        self.user_id = user_id
        return self._msg(at, "identify", traits=traits)

    def write(self, directory: Path, batch_from: int | None = None) -> Path:
        """``directory/track.jsonl``: one message a line; from message ``batch_from`` on, the rest as one
        ``{"batch": [...]}`` line (with the envelope's ``sentAt``)."""
        directory.mkdir(parents=True, exist_ok=True)
        msgs = self.messages
        cut = len(msgs) if batch_from is None else batch_from
        with open(directory / "track.jsonl", "a") as f:
            for m in msgs[:cut]:
                f.write(json.dumps(m) + "\n")
            if cut < len(msgs):
                f.write(json.dumps({"batch": msgs[cut:], "sentAt": msgs[-1]["sentAt"]}) + "\n")
        return directory
