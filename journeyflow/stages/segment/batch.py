"""Segment batch envelopes: ``{"batch": [message, ...]}`` (the Segment HTTP tracking API's ``/v1/batch`` body,
segment.com/docs/connections/sources/catalog/libraries/server/http-api/#batch) split into their messages.

The sources split them (files: one line may hold a batch; Pub/Sub: one message may), so that every message is one
record read and gets its own event or dead letter: decided + dead letters = records read.  Envelope fields other
than ``batch`` (``context``, ``integrations``, ``sentAt``) apply to every message that does not set them itself,
as the HTTP API does.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["split_batch"]

_SHARED = ("context", "integrations", "sentAt")


def split_batch(payload: Any) -> list[bytes] | None:
    """The messages of a batch envelope as compact JSON bytes (an item that is not an object is passed on as it is,
    to be dead-lettered by the parser), or None when ``payload`` (bytes, text or a decoded dict) is not a batch
    envelope (then it is one message, parsed as it is).  Cheap for ordinary messages: JSON is only decoded when the
    text holds ``"batch"``."""
    if isinstance(payload, (bytes, bytearray)):
        if b'"batch"' not in payload:
            return None
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError):
            return None
    elif isinstance(payload, str):
        if '"batch"' not in payload:
            return None
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError):
            return None
    else:
        obj = payload
    if not isinstance(obj, dict) or not isinstance(obj.get("batch"), list) or "type" in obj:
        return None
    shared = {k: obj[k] for k in _SHARED if k in obj}
    out = []
    for m in obj["batch"]:
        if isinstance(m, dict) and shared:
            m = {**shared, **m}
        out.append(json.dumps(m, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return out
