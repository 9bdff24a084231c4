"""Declared property and trait types enforced on input (issue 19, point 5, for the values themselves).

An attributes file (:mod:`journeyflow.stages.attributes_loader`) may declare the types of an event's properties
(``events: {Trial Ending Soon: {properties: {days_left: int}}}``) and of traits (``traits: {plan: string}``).  The
type checker holds conditions to those types at load time; this module holds the *data* to them at parse time, so a
condition never meets a value of another type: a declared property whose value does not have its declared type is
dropped from ``attrs["properties"]`` with a field warning (reason ``wrong_type``, field ``properties.<name>``), a
declared trait likewise from ``attrs["traits"]`` (field ``traits.<name>``); the event is kept.  A ``null`` value is
an absent one (removed without a warning, as for the streams' optional fields: ``stages.fields.check_optional``).

Which values fit (the Python values of decoded JSON; the same rule as the traits fold, ``stages.attributes``):
``int`` an integer (not a bool); ``double`` an integer or a float; ``string`` a string; ``bool`` a bool;
``timestamp`` an integer (epoch ms, like ``event.ts``); ``list<T>`` an array whose items fit ``T``; ``map<T>`` an
object whose values fit ``T``; ``dyn`` anything.

Properties are checked on events of the declared name in the declared stream (a Segment message the mapping turns
into a built-in event is checked against that event's declaration: ``product_view``); traits on every event that
carries ``attrs["traits"]`` (Segment messages) but a ``group`` call, whose traits describe the group.  The
declarations travel to the workers in :class:`journeyflow.stages.parse.ParseConfig` (``declared_types``), built on
the launcher from the attributes file (``EngineConfig.declared_types``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Mapping

from journeyflow.model.events import Event, is_group_call
from journeyflow.model.reasons import FieldWarningReason
from journeyflow.stages.typecheck import T

__all__ = ["DeclaredTypes", "fits"]

_SCALAR = {"int": int, "double": (int, float), "string": str, "bool": bool, "timestamp": int}


def fits(value: Any, t: T) -> bool:
    """True when the decoded JSON ``value`` has the declared type ``t`` (rules in the module docstring)."""
    kind = t.kind
    if kind == "dyn":
        return True
    py = _SCALAR.get(kind)
    if py is not None:
        return isinstance(value, py) and (kind == "bool" or not isinstance(value, bool))
    elem = t.elem or T("dyn")
    if kind == "list":
        return isinstance(value, list) and all(fits(v, elem) for v in value)
    if kind == "map":
        return isinstance(value, dict) and all(isinstance(k, str) and fits(v, elem) for k, v in value.items())
    return True  # no other type can be declared


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "double", str: "string", list: "list", dict: "map"}.get(
        type(value), type(value).__name__)


@dataclass(frozen=True)
class DeclaredTypes:
    """The declared property types, ``((stream, event type, ((property, T), ...)), ...)``, and trait types,
    ``((trait, T), ...)``, of an attributes file.  Frozen, hashable and picklable (it travels in ParseConfig)."""

    properties: tuple[tuple[str, str, tuple[tuple[str, T], ...]], ...] = ()
    traits: tuple[tuple[str, T], ...] = ()

    @classmethod
    def of(cls, declarations: Any) -> "DeclaredTypes | None":
        """The types a ``Declarations`` declares, or None when it declares no property and no trait."""
        props = tuple(sorted((d.stream, name, tuple(sorted(d.properties.items())))
                             for name, d in declarations.events.items() if d.properties))
        traits = tuple(sorted(declarations.traits.items()))
        return cls(props, traits) if props or traits else None

    @cached_property
    def _by_event(self) -> dict[tuple[str, str], dict[str, T]]:
        return {(s, e): dict(ps) for s, e, ps in self.properties}

    @cached_property
    def _traits(self) -> dict[str, T]:
        return dict(self.traits)

    def check(self, ev: Event, problems: list) -> Event:
        """``ev`` without the declared properties and traits whose values do not fit their types (a new Event;
        ``ev`` is unchanged); each dropped value appends ``(field, wrong_type, "dropped", detail, value)`` to
        ``problems`` (the parser's problem tuples)."""
        from journeyflow.stages.fields import warning_value
        attrs = ev.attrs
        new: dict[str, Any] = {}
        group = is_group_call(ev)  # its traits are the group's, not the customer's declared ones
        for key, declared in (("properties", self._by_event.get((ev.stream, ev.type))),
                              ("traits", None if group else self._traits)):
            values = attrs.get(key)
            if not declared or not isinstance(values, Mapping):
                continue
            kept = None
            for name, t in declared.items():
                if name not in values:
                    continue
                v = values[name]
                if (v is not None and fits(v, t)) or (v is None and key == "traits"):
                    continue  # (a null trait clears the trait: stages.attributes)
                if kept is None:
                    kept = dict(values)
                del kept[name]
                if v is not None:
                    field = f"{key}.{name}"
                    problems.append((field, FieldWarningReason.WRONG_TYPE, "dropped",
                                     f"declared {t}, got {_type_name(v)}", warning_value(field, v)))
            if kept is not None:
                new[key] = kept
        if not new:
            return ev
        out = {**attrs, **new}
        for key in ("properties", "traits"):
            if key in new and not new[key]:
                del out[key]  # an empty map is left out, as the parser does
        return replace(ev, attrs=out)
