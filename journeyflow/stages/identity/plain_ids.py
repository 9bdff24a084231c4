"""The common customer and device id, keyed at once: a UUID or an ASCII word (``C57274206``) is its own key.

:func:`plain_key` gives, for such an id, the key that :func:`journeyflow.stages.identity.keys.crm_key` /
:func:`~journeyflow.stages.identity.keys.anon_key` and the parser's PII check of an id (``Parser._id_key``) give:
each leaves it as it is (ASCII: no invisible format characters; no whitespace, quotes or ``:`` to strip or read as
a key; not a placeholder; no email or phone pattern can match it: it is in the language of
``parse_fast.cannot_hold_pii(keep_uuids=True)``).  Anything else is None: the caller runs those rules.  The
agreement is a property test (``tests/stages/test_plain_ids.py``).  :func:`plain_first` puts the shortcut in
front of the parser fast path's per-value key function (``parse_fast.FastPath._key_uncached``).
"""
from __future__ import annotations

import re
from typing import Any, Callable

from journeyflow.stages.identity.keys import MAX_ID_CHARS, is_placeholder

__all__ = ["plain_first", "plain_key"]

# one UUID, or a word starting with a letter or "_": two branches of parse_fast._SAFE_ID (no ":" in either)
_PLAIN_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
                       r"|[A-Za-z_][A-Za-z0-9_]*").fullmatch


def plain_key(kind: str, raw: object) -> str | None:
    """``"<kind>:<raw>"`` when ``raw`` is a plain id (a ``str``: one UUID or an ASCII word of letters, digits and
    ``_`` not starting with a digit, at most ``MAX_ID_CHARS`` characters, no placeholder such as ``null``); None
    for anything else.  ``kind``: ``"crm"`` or ``"anon"``.  Never raises."""
    if type(raw) is str and len(raw) <= MAX_ID_CHARS and _PLAIN_ID(raw) is not None and not is_placeholder(raw):
        return f"{kind}:{raw}"
    return None


#: the id fields whose plain values plain_key keys, and their kinds (as Parser._key reads them)
_PLAIN_KINDS = {"anonymous_id": "anon", "crm_id": "crm", "user_id": "crm"}


def plain_first(uncached: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """``key(field, value)`` equal to ``uncached(field, value)`` -- a ``(key, contact items)`` pair, or None --
    answering ``(plain_key(kind, value), ())`` at once for a plain id of an id field (``anonymous_id``,
    ``crm_id``, ``user_id``): what ``uncached`` gives for it (the key, no contact).  Everything else is
    ``uncached``'s."""
    kinds = _PLAIN_KINDS

    def key(field: str, value: Any) -> Any:
        kind = kinds.get(field)
        if kind is not None:
            got = plain_key(kind, value)
            if got is not None:
                return got, ()
        return uncached(field, value)
    return key
