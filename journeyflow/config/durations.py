"""The one duration syntax of journeyflow: ``<number><unit>``, e.g. ``250ms``, ``90s``, ``30m``, ``1h``, ``14d``, ``2w``.

Used by journey files (``wait``, ``timeout``, ``cooldown``, ``max_duration``), policy files (windows, grace periods,
cap periods) and the streaming options (``--allowed_lateness``, ``--catch_up``).

Grammar (after stripping surrounding white space): one or more decimal digits, optional white space, and a unit
``ms | s | m | h | d | w`` (milliseconds, seconds, minutes, hours, days, weeks of 7 days).  Callers choose two
things: whether zero is allowed (``allow_zero``; durations in files must be positive, the streaming lateness may be
``0s``) and whether a bare number means milliseconds (``bare_ms``; only the streaming options, as documented in the
Dataflow template metadata).

This is a superset of the three parsers it replaced: journey files (no space, at most 9 digits, a ``\\Z`` anchor),
policy files (space allowed, at most 7 digits) and the streaming options (no ``w``, bare numbers, zero).  Journey
files are still limited to 9 significant digits by ``schemas/journey.schema.json``; a policy value too large for a
``timedelta`` is refused by the policy model.
"""
from __future__ import annotations

import re
from typing import Any

from journeyflow.config.errors import UserError

__all__ = ["UNIT_MS", "format_duration", "parse_duration"]

#: Milliseconds per unit.
UNIT_MS: dict[str, int] = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION_RE = re.compile(r"(\d+)\s*(ms|s|m|h|d|w)")
_BARE_RE = re.compile(r"\d+")


def parse_duration(text: Any, *, allow_zero: bool = False, bare_ms: bool = False) -> int:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"14d"``, ``"2w"``, ``"250ms"`` → milliseconds (``int``).

    Raises :class:`~journeyflow.config.errors.UserError` (a ``ValueError``) naming the text when it is not a string
    of this syntax, when it is zero and ``allow_zero`` is false, or when it does not fit a 64-bit count of ms.  With ``bare_ms``, a number without a unit is
    milliseconds.  The message carries no file or line: callers that read a file add them.
    """
    t = text.strip() if isinstance(text, str) else None
    m = _DURATION_RE.fullmatch(t) if t is not None else None
    if m is not None and (len(m[1].lstrip("0")) > 19 or int(m[1]) * UNIT_MS[m[2]] >= 2 ** 63):
        raise UserError(f"{text[:40]!r} is too long a duration (times are 64-bit counts of milliseconds: at most "
                        f"292 million years)")
    if m is not None:
        ms = int(m[1]) * UNIT_MS[m[2]]
    elif bare_ms and t is not None and _BARE_RE.fullmatch(t):
        ms = int(t)
    else:
        raise UserError(f"{text!r} is not a duration: a number and a unit ms, s, m, h, d or w, e.g. 500ms, 30s, "
                        f"48h, 7d")
    if ms == 0 and not allow_zero:
        raise UserError(f"{text!r} is not a positive duration")
    return ms


def format_duration(ms: int) -> str:
    """Milliseconds → the shortest exact text in the largest unit (``604800000`` → ``"1w"``, ``90000`` → ``"90s"``,
    ``1500`` → ``"1500ms"``); ``parse_duration(format_duration(ms)) == ms`` for ``ms > 0``.  Used in journey step
    labels (``wait:1h``), which appear in the ``journey_steps`` table."""
    for unit in ("w", "d", "h", "m", "s"):
        if ms % UNIT_MS[unit] == 0:
            return f"{ms // UNIT_MS[unit]}{unit}"
    return f"{ms}ms"
