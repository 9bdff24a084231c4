"""The keyed hash behind :meth:`journeyflow.stages.identity.keys.Hasher.digest`: one HMAC-SHA256 object keyed once,
copied for each digest."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

__all__ = ["keyed_sha256"]


def keyed_sha256(key: bytes) -> Any:
    """An HMAC-SHA256 object keyed with ``key`` (bytes) whose ``copy()`` / ``update(bytes)`` / ``hexdigest()`` give
    the digests of ``hmac.new(key, digestmod=hashlib.sha256)``: OpenSSL's HMAC object itself where the interpreter
    has one (methods in C; ``hmac.HMAC.copy`` is Python code building a new wrapper around the same OpenSSL copy,
    most of a cached-key digest's cost), else the ``hmac`` module's object.  Never raises for a bytes key."""
    try:
        import _hashlib  # CPython's OpenSSL binding: what hashlib and hmac use when it is present

        return _hashlib.hmac_new(key, digestmod="sha256")
    except (ImportError, AttributeError, ValueError, TypeError):
        return hmac.new(key, digestmod=hashlib.sha256)
