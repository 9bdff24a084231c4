"""The expiry pass of computed attributes (``CustomerState.computed``, :mod:`journeyflow.stages.attributes`): split
from that module so that ``state_bounds`` calls it without importing the CEL runtime.  Pure Python, no imports of
the rest of the package."""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from functools import lru_cache
from operator import itemgetter

__all__ = ["expire_computed", "trait_order"]

_ts = itemgetter(0)


def expire_computed(computed: dict, windows: Mapping[str, int | None] | tuple[tuple[str, int | None], ...] | None,
                    now: int) -> None:
    """Drop windowed entries at or before ``now - window``, and the data of attributes no longer declared.

    ``windows``: name -> window in ms (None: all time), as a mapping or as ``Retention.attributes``' pairs; None:
    keep everything (a bare ``Retention()`` knows no configuration).  Entries are time-sorted, so a list is rebuilt
    only when its oldest entry has expired."""
    if windows is None:
        return
    if windows.__class__ is tuple:
        last = _LAST_WINDOWS  # (the pairs of one configuration are one object: no hash of them per call)
        declared, windowed = last[1] if last[0] is windows else _remember_windows(windows)
    else:
        declared, windowed = _plan(windows)
    keys = computed.keys()
    gone = None if keys <= declared else [n for n in computed if n not in declared]
    lost = None  # (the windowed attributes left without entries)
    for name in keys & windowed.keys():  # (those with data only; each on its own: the order does not matter)
        w = windowed[name]
        rec = computed[name]
        if "e" in rec:
            e = rec["e"]
            if e and e[0][0] <= now - w:  # (time-sorted, as ``_windowed`` keeps them: the expired ones lead)
                e = rec["e"] = e[bisect_right(e, now - w, key=_ts):]
            if not e:
                lost = (lost or []) + [name]
    if gone or lost:  # (a dict keeps the order of what is left whatever the order of the deletions)
        for name in (gone or []) + (lost or []):
            del computed[name]


def _remember_windows(pairs: tuple[tuple[str, int | None], ...]) -> tuple[frozenset[str], dict[str, int]]:
    global _LAST_WINDOWS
    plan = _plan_of_pairs(pairs)
    _LAST_WINDOWS = (pairs, plan)
    return plan


_LAST_WINDOWS: tuple = ((), (frozenset(), {}))


def _plan(windows: Mapping[str, int | None]) -> tuple[frozenset[str], dict[str, int]]:
    """What :func:`expire_computed` walks: the declared names, and name -> window ms of the windowed ones."""
    return frozenset(windows), {k: w for k, w in windows.items() if w is not None}


@lru_cache(maxsize=64)
def _plan_of_pairs(pairs: tuple[tuple[str, int | None], ...]) -> tuple[frozenset[str], dict[str, int]]:
    """:func:`_plan` of ``dict(pairs)``, made once per declared set (read only)."""
    return _plan(dict(pairs))


def trait_order(entry: list) -> tuple:
    """The order of a trait's ``[value, ts]`` entries (``CustomerState.traits``; the latest wins): event time, then
    at one time a clear (``None``) over any value -- an uncertain value is no value, whatever the arrival order or
    the type (by ``repr`` the clear lost to ``True`` only) -- then the larger ``repr``, so that one profile in either
    order and an identity merge (``state_merge``) keep the same entry."""
    return (entry[1], entry[0] is None, repr(entry[0]))
