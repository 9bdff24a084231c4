"""One spelling per user-named event in a journey file.

Event names are matched exactly, case and spaces included, as the Segment Spec treats a ``track`` call's ``event``
(``Order Completed`` is not ``order completed``).  A user-named event (stream ``track``) that is neither declared
nor mapped cannot be checked against a list, but two spellings of one name in one file -- an entry on
``Trial Ending Soon`` and an exit on ``trial ending soon `` -- mean that one of them never fires: the later one is
an error naming the first (:func:`spelling_clashes`; names compared as ``declarations``' near-miss rule folds them:
case, accents, spaces, ``_``, ``-`` and ``.``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from journeyflow.stages.declarations import CUSTOM_STREAM, Declarations, _folded
from journeyflow.stages.journeys.model import STREAM_OF_TYPE

__all__ = ["spelling_clashes"]


def _user_events(journeys: list[Any]) -> Iterator[tuple[tuple, str, str | None]]:
    """``(path of the name, name, stream)`` of every trigger and wait-until of the file, in file order."""
    for i, jd in enumerate(journeys):
        if not isinstance(jd, dict):
            continue
        for key in ("entry", "exit", "goal"):
            v = jd.get(key)
            for k, td in ([(None, v)] if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
                if isinstance(td, dict):
                    yield ("journeys", i, key) + (() if k is None else (k,)) + ("event",), td.get("event"), \
                        td.get("stream")
        for k, sd in enumerate(jd.get("steps") or ()):
            w = sd.get("wait") if isinstance(sd, dict) else None
            if isinstance(w, dict):
                yield ("journeys", i, "steps", k, "wait", "until"), w.get("until"), w.get("stream")


def spelling_clashes(journeys: list[Any], decl: Declarations, line: Callable[[tuple], int]
                     ) -> list[tuple[tuple, str]]:
    """``(path, message)`` for each user-named event spelled otherwise earlier in the file (see the module doc)."""
    first: dict[str, tuple[str, tuple]] = {}
    out: list[tuple[tuple, str]] = []
    for path, name, stream in _user_events(journeys):
        if (not isinstance(name, str) or stream != CUSTOM_STREAM or name in STREAM_OF_TYPE or name in decl.events
                or name in decl.mapped):
            continue
        seen = first.setdefault(_folded(name), (name, path))
        if seen[0] != name:
            out.append((path, f"event '{name}' is spelled '{seen[0]}' at line {line(seen[1])}: event names are "
                              f"matched exactly (case and spaces included, as in the Segment Spec), so one of the "
                              f"two would never fire"))
    return out
