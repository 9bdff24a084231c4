"""What ``event`` is when a step runs: the type a branch condition is checked against (split from the loader).

A step runs in the context of the input that moved the membership to it (``JourneyEngine._run``): the entry event
for the steps run at entry, the wait-until event after a wait's ``on_event``, and a **timer** after a plain wait or
a wait's ``on_timeout`` (a timer's ``event`` has ``stream``/``type``/``ts`` and the entry's ``product_id`` only:
``journeys.context._Ctx``).  :func:`step_event_types` follows the step graph from the first step and gives each
step the union (``Declarations.union_event_type``) of the events of the paths that reach it, so ``event.amount``
in a branch a day after ``order_placed`` -- an error at every evaluation, read as false -- is refused at load time,
while a step reached both from the entry and after a wait accepts the fields of either.
"""
from __future__ import annotations

from typing import Any

from journeyflow.stages.declarations import Declarations

__all__ = ["step_event_types"]

_TIMER = ("timer",)


def _targets(sds: list[dict[str, Any]], k: int, sources: frozenset) -> list[tuple[Any, frozenset]]:
    """``(step id, sources)`` handed on by step ``k`` (a schema-valid step dict) run with ``sources``."""
    sd = sds[k]
    nxt = sd["next"] if "next" in sd else (sds[k + 1]["id"] if k + 1 < len(sds) else None)
    w = sd.get("wait")
    if w is not None:
        if isinstance(w, dict):
            return [(w.get("on_event") or nxt, frozenset({("until", w["until"], w.get("stream"))})),
                    (w.get("on_timeout") or nxt, frozenset({_TIMER}))]
        return [(nxt, frozenset({_TIMER}))]
    b = sd.get("branch")
    if b is not None:
        return [(cd["next"], sources) for cd in b["cases"]] + [(b["else"] if "else" in b else nxt, sources)]
    return [] if "exit" in sd else [(nxt, sources)]


def step_event_types(sds: list[dict[str, Any]], entries: list[tuple[str, str | None]], decl: Declarations) -> dict:
    """Step id → the type of ``event`` in that step's conditions: the union of the entry events (``entries``:
    ``(event, stream)``), the wait-until events and a timer, as far as each reaches the step.  A step no path
    reaches (an unknown target, an unreachable step: errors reported elsewhere) gets the union of them all."""
    index = {sd["id"]: k for k, sd in enumerate(sds)}
    reached: dict[str, frozenset] = {}
    todo = [(sds[0]["id"], frozenset({("entry",)}))] if sds else []
    while todo:
        sid, sources = todo.pop()
        k = index.get(sid)
        if k is None or sources <= reached.get(sid, frozenset()):
            continue
        reached[sid] = sources = reached.get(sid, frozenset()) | sources
        todo.extend((t, s) for t, s in _targets(sds, k, sources) if t is not None)
    every = frozenset({("entry",), _TIMER}) | {("until", w["until"], w.get("stream")) for sd in sds
                                               if isinstance(w := sd.get("wait"), dict)}
    cache: dict[frozenset, Any] = {}
    out = {}
    for sd in sds:
        sources = reached.get(sd["id"], every)
        if sources not in cache:
            names = [(n, s) for src in sorted(sources, key=str) if src[0] != "timer"
                     for n, s in (entries if src[0] == "entry" else [(src[1], src[2])])]
            cache[sources] = decl.union_event_type(names, _TIMER in sources)
        out[sd["id"]] = cache[sources]
    return out
