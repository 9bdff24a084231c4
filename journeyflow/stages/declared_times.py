"""Declared ``timestamp`` properties and traits given as ISO-8601 strings, read as epoch ms before the declared-type
check (:mod:`journeyflow.stages.declared_types`); used by :mod:`journeyflow.stages.parse` and the Segment parser
(:mod:`journeyflow.stages.segment.parse`), which import them from ``stages.parse``."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

from journeyflow.model.events import Event
from journeyflow.stages.timeparse import parse_ts

if TYPE_CHECKING:
    from journeyflow.stages.declared_types import DeclaredTypes

__all__ = ["epoch_ms_values"]


@lru_cache(maxsize=16)
def _timestamp_names(declared: "DeclaredTypes") -> tuple[dict[tuple[str, str], frozenset[str]], frozenset[str]]:
    """The properties (per (stream, event type)) and traits an attributes file declares ``timestamp``."""
    props = {(st, et): frozenset(n for n, t in ps if _holds_times(t)) for st, et, ps in declared.properties}
    return ({k: v for k, v in props.items() if v}, frozenset(n for n, t in declared.traits if _holds_times(t)))


def _holds_times(t) -> bool:
    """``timestamp``, ``list<timestamp>`` or ``map<timestamp>``."""
    return t.name == "timestamp" or (t.kind in ("list", "map") and t.elem is not None and t.elem.name == "timestamp")


def _ms(v: Any) -> Any:
    """An ISO-8601 time string as its epoch ms; anything else (a digit string among them) as it is."""
    if isinstance(v, str) and not v.strip().lstrip("-").isdigit():
        try:
            return parse_ts(v)
        except (ValueError, OverflowError):
            return v
    return v


def epoch_ms_values(values: Mapping[str, Any], names: frozenset[str]) -> Mapping[str, Any]:
    """``values`` with each of ``names`` that is an ISO-8601 time string (``"2026-06-01T10:00:00Z"``: how the
    Segment Spec writes dates, ``createdAt``), or a list or map of such strings, replaced by its epoch ms, the
    value of a declared ``timestamp`` (``stages.timeparse``); anything else is left for the declared-type check (a
    warning when it is no int)."""
    out = None
    for n in names:
        v = values.get(n)
        if isinstance(v, list):  # (a list<timestamp>, a map<timestamp>: each item)
            items = [_ms(x) for x in v]
            ms: Any = items if any(a is not b for a, b in zip(items, v)) else v
        elif isinstance(v, dict):
            kv = {k: _ms(x) for k, x in v.items()}
            ms = kv if any(kv[k] is not v[k] for k in v) else v
        else:
            ms = _ms(v)
        if ms is v:
            continue
        if out is None:
            out = dict(values)
        out[n] = ms
    return values if out is None else out


def _declared_times(declared: "DeclaredTypes", ev: Event) -> Event:
    """``ev`` with its declared ``timestamp`` properties and traits given as ISO-8601 strings read as epoch ms."""
    props, traits = _timestamp_names(declared)
    names = props.get((ev.stream, ev.type))
    attrs = ev.attrs
    new = {}
    if names and isinstance(attrs.get("properties"), Mapping):
        new["properties"] = epoch_ms_values(attrs["properties"], names)
    if traits and isinstance(attrs.get("traits"), Mapping):
        new["traits"] = epoch_ms_values(attrs["traits"], traits)
    if not new or all(new[k] is attrs[k] for k in new):
        return ev
    return Event(ev.uid, ev.stream, ev.type, ev.ts, ev.ids, {**attrs, **new}, ev.contact)
