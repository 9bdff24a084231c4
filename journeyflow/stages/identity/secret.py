"""The one secret of a deployment and what is derived from it: the identifier HMAC key (``JOURNEYFLOW_HASH_KEY``)
and, from the same secret, the key that seals the state-transfer topic (:func:`derive_key`).

Local runs may use the documented development key :data:`journeyflow.stages.identity.keys.DEFAULT_HASH_KEY` (with
a one-time WARNING); a deployment on Dataflow must not: anyone can recompute hashes made with a public key.
:func:`check_real_key` is the one rule of what a real key is, used by the launcher and the worker boot
(``journeyflow.pipelines.launch``): not empty, not the development key (whatever the surrounding whitespace or
letter case), at least :data:`MIN_KEY_BYTES` bytes (``openssl rand -base64 32`` gives 44).

Derived keys: HKDF-SHA256 (RFC 5869, ``cryptography``'s implementation) of the secret with a per-use ``info``
label, so the sealing key and the HMAC key are independent although they come from one secret (knowing one tells
nothing about the other).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

#: Environment variable holding the secret (UTF-8).  Same name as ``keys.HASH_KEY_ENV``.
HASH_KEY_ENV = "JOURNEYFLOW_HASH_KEY"
#: Documented local-development key (public: never for real data).  Same value as ``keys.DEFAULT_HASH_KEY``.
DEVELOPMENT_KEY = b"journeyflow-local-dev-key"
#: The shortest key accepted on Dataflow (bytes of its UTF-8 form): 128 bits of a random key's entropy.
MIN_KEY_BYTES = 16

_warned = False
_lock = threading.Lock()


class InsecureKeyError(ValueError):
    """A key that must not protect real data (empty, the public development key, or too short).  The message never
    contains the key."""


def check_real_key(value: str | bytes | None, where: str = HASH_KEY_ENV) -> bytes:
    """``value`` as key bytes if it is a real secret key; raises :class:`InsecureKeyError` naming ``where`` (a
    secret or variable name) when it is missing or empty, the development key (compared after stripping whitespace,
    case-insensitively) or shorter than :data:`MIN_KEY_BYTES` bytes."""
    raw = value.encode("utf-8") if isinstance(value, str) else (value or b"")
    stripped = raw.strip()
    if not stripped:
        raise InsecureKeyError(f"{where} is empty: set it to a random secret (openssl rand -base64 32)")
    if stripped.lower() == DEVELOPMENT_KEY:
        raise InsecureKeyError(f"{where} holds the public development key: anyone could recompute the hashed "
                               "identifiers; set it to a random secret (openssl rand -base64 32)")
    if len(stripped) < MIN_KEY_BYTES:
        raise InsecureKeyError(f"{where} is shorter than {MIN_KEY_BYTES} bytes: use a random secret "
                               "(openssl rand -base64 32)")
    return raw


def key_from_env(environ: Mapping[str, str] = os.environ) -> bytes:
    """The secret from ``JOURNEYFLOW_HASH_KEY`` (UTF-8), else the development key with a one-time WARNING (the key
    itself is never logged).  Local runs only rely on the fallback: Dataflow workers refuse to start without a real
    key (``journeyflow.pipelines.launch.worker_boot``)."""
    global _warned
    value = environ.get(HASH_KEY_ENV)
    if value:
        return value.encode("utf-8")
    with _lock:
        if not _warned:
            _warned = True
            logger.warning("%s is not set: hashing PII with the documented local-development key. "
                           "Set it to a secret for any real data.", HASH_KEY_ENV)
    return DEVELOPMENT_KEY


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A ``length``-byte key for ``purpose`` (the HKDF ``info``, e.g. ``"journeyflow state-transfer v1"``) derived
    from ``secret`` with HKDF-SHA256 (RFC 5869, no salt).  Deterministic: every worker derives the same key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(secret)
