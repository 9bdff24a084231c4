"""Declared property and trait types enforced on input (issue 19, point 5, for the values themselves).

An attributes file (:mod:`journeyflow.stages.attributes_loader`) may declare the types of an event's properties
(``events: {Trial Ending Soon: {properties: {days_left: int}}}``) and of traits (``traits: {plan: string}``).  The
type checker holds conditions to those types at load time; this module holds the *data* to them at parse time, so a
condition never meets a value of another type: a declared property whose value does not have its declared type is
dropped from ``attrs["properties"]`` with a field warning (reason ``wrong_type``, field ``properties.<name>``), a
declared trait likewise from ``attrs["traits"]`` (field ``traits.<name>``); the event is kept.  A ``null`` value is
an absent one (removed without a warning, as for the streams' optional fields: ``stages.fields.check_optional``).

Which values fit (the Python values of decoded JSON; the same rule as the traits fold, ``stages.attributes``):
``int`` an integer (not a bool), or a whole float of at most 2**53 in magnitude (``3.0``: JavaScript has one number
type and pandas writes an int column with a gap as float64; read as the int, as ids are: ``json_text.whole_digits``;
``3.5`` is the wrong type); ``double`` an integer or a float; ``string`` a string; ``bool`` a bool; ``timestamp``
an integer (epoch ms, like ``event.ts``; a whole float too, as ``int``); ``list<T>`` an array whose items fit ``T``;
``map<T>`` an object whose values fit ``T``; ``dyn`` anything.  A value of the right kind but outside what the type can hold is
dropped with reason ``out_of_range`` (never read as another value): an ``int`` (or ``timestamp``) beyond CEL's
64-bit signed range (cel-spec langdef "Numeric Values"; ``2**70`` would fail every condition reading it), a
``double`` that is NaN or infinite (JSON has neither: Python's decoder reads ``NaN`` and ``1e400``; cel-spec's JSON
mapping excludes them), a ``timestamp`` between -10^11 and 10^11 (1966-10-31 to 1973-03-03 as milliseconds: epoch
*seconds*, ``1790848800``, read as milliseconds would be January 1970; the detail says so) or outside 0001-01-01 to
9999-12-31 (CEL's timestamps).  An item of a list or a value of a map out of range drops the whole field.  An integer
declared ``double`` is kept as a double (:func:`as_declared`), so conditions do double arithmetic on it.

An undeclared name that is a declared one in another case or with other separators (``Plan``, ``seat-count`` for
``plan``, ``seat_count``) is read as the declared one with an ``unknown_value`` warning naming both
(:func:`_declared_spellings`): conditions match names exactly, so it never matched before.

Properties are checked on events of the declared name in the declared stream (a Segment message the mapping turns
into a built-in event is checked against that event's declaration: ``product_view``); traits on every event that
carries ``attrs["traits"]`` (Segment messages) but a ``group`` call, whose traits describe the group.  The
declarations travel to the workers in :class:`journeyflow.stages.parse.ParseConfig` (``declared_types``), built on
the launcher from the attributes file (``EngineConfig.declared_types``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Mapping

from journeyflow.model.events import Event, is_group_call
from journeyflow.model.reasons import FieldWarningReason
from journeyflow.stages.json_text import whole_digits
from journeyflow.stages.typecheck import _PRIMITIVES, T

__all__ = ["DeclaredTypes", "as_declared", "check_value", "fits", "parse_type"]

#: integer kinds that take a whole float up to 2**53 as its int (``json_text.whole_digits``, as ids are read)
_WHOLE = ("int", "timestamp")
_SCALAR = {"int": int, "double": (int, float), "string": str, "bool": bool, "timestamp": int}
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
#: |epoch ms| below this is taken for epoch seconds (10^11 ms: 1973-03-03; 10^11 s: the year 5138)
_SECONDS_BELOW = 10 ** 11
#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z, CEL's (and RFC 3339's) first and last timestamps, in epoch ms
_MIN_TIMESTAMP_MS, _MAX_TIMESTAMP_MS = -62_135_596_800_000, 253_402_300_799_999


def _range_problem(value: Any, t: T) -> str | None:
    """Why a ``value`` of the right JSON kind for the scalar type ``t`` is out of its range, else None."""
    if t.kind == "double":
        if isinstance(value, float) and value != value:
            return "NaN is no number (JSON has no NaN)"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "too large for a double (read as infinite)"
        return None
    if not _INT64[0] <= value <= _INT64[1]:
        digits = str(value)
        return f"{digits if len(digits) <= 24 else digits[:21] + '...'} does not fit a 64-bit integer (CEL's int)"
    if t.name == "timestamp":
        if -_SECONDS_BELOW < value < _SECONDS_BELOW:
            return (f"{value} is not epoch milliseconds (as ms it is in 1970; epoch seconds? send "
                    f"{value * 1000} or an ISO-8601 time)")
        if not _MIN_TIMESTAMP_MS <= value <= _MAX_TIMESTAMP_MS:
            return f"{value} is outside 0001-01-01 to 9999-12-31 (CEL's timestamps)"
    return None


def check_value(value: Any, t: T) -> tuple[str, str] | None:
    """None when the decoded JSON ``value`` fits the declared type ``t``, else ``(reason, detail)``: reason
    ``wrong_type`` (another kind of value) or ``out_of_range`` (rules in the module docstring)."""
    kind = t.kind
    if kind == "dyn":
        return None
    py = _SCALAR.get(kind)
    if py is not None:
        if kind in _WHOLE and value.__class__ is float and value.is_integer():
            if whole_digits(value) is None:  # beyond 2**53: the digits shown may not be the number sent
                return FieldWarningReason.WRONG_TYPE, (f"declared {t}, got a double beyond 2**53 (not an exact "
                                                       f"integer: send it as a JSON integer)")
            value = int(value)  # 3.0 (JavaScript's number, a float64 column): the int 3
        if not isinstance(value, py) or (kind != "bool" and isinstance(value, bool)):
            if t.name == "timestamp" and isinstance(value, str):  # (an ISO-8601 one was read: stages.declared_times)
                return FieldWarningReason.WRONG_TYPE, ("declared timestamp (epoch ms, or an ISO-8601 time with its "
                                                       "zone: 2026-06-01T10:00:00Z), got a string that is neither")
            return FieldWarningReason.WRONG_TYPE, f"declared {t}, got {_type_name(value)}"
        if kind in ("int", "double", "timestamp"):
            why = _range_problem(value, t)
            if why is not None:
                return FieldWarningReason.OUT_OF_RANGE, f"declared {t}: {why}"
        return None
    elem = t.elem or T("dyn")
    if kind == "list":
        if not isinstance(value, list):
            return FieldWarningReason.WRONG_TYPE, f"declared {t}, got {_type_name(value)}"
        items = value
    elif kind == "map":
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            return FieldWarningReason.WRONG_TYPE, f"declared {t}, got {_type_name(value)}"
        items = value.values()
    else:
        return None  # no other type can be declared (typecheck.parse_type)
    for v in items:
        problem = check_value(v, elem)
        if problem is not None:
            reason, detail = problem
            if reason == FieldWarningReason.WRONG_TYPE:  # name the container: "declared list(string), got list"
                return reason, f"declared {t}, got {_type_name(value)}"
            return reason, f"declared {t}: an item {detail.split(': ', 1)[-1]}"
    return None


def as_declared(value: Any, t: T) -> Any:
    """A fitting ``value`` as its declared type holds it: an integer declared ``double`` (JSON has one number type,
    ``"total": 7``) is the double ``7.0``, a whole float declared ``int`` or ``timestamp`` (``3.0``) the int ``3``,
    also inside a ``list`` or ``map``; anything else is ``value`` itself.  Kept an int, CEL would do integer arithmetic on it (``total / seats`` of 7 and 2: 3)."""
    kind = t.kind
    if kind == "double":
        return float(value) if value.__class__ is int else value
    if kind in _WHOLE:
        return int(value) if value.__class__ is float else value
    if kind in ("list", "map") and t.elem is not None and t.elem.kind in ("double", "list", "map", *_WHOLE):
        if kind == "list":
            items = [as_declared(v, t.elem) for v in value]
            return items if any(a is not b for a, b in zip(items, value)) else value
        items = {k: as_declared(v, t.elem) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    return value


def fits(value: Any, t: T) -> bool:
    """True when the decoded JSON ``value`` has the declared type ``t`` and is in its range (module docstring)."""
    return check_value(value, t) is None


def _type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "double", str: "string", list: "list", dict: "map"}.get(
        type(value), type(value).__name__)


_CONTAINER = re.compile(r"(list|map)\s*(?:<(.*)>|\((.*)\))")
_OPTIONAL = re.compile(r"(?:optional|nullable)\s*[<(\[](.*)[>)\]]|(.*)\?")


def parse_type(text: Any) -> T:
    """A declared type name → :class:`T`: ``string``, ``int``, ``double``, ``bool``, ``timestamp``, ``dyn``,
    ``list<T>``, ``map<T>`` (string keys; also written as error messages and CEL write them: ``list(T)``,
    ``map<string, T>``, ``map(string, T)``).  Raises ValueError naming the accepted types and, for a type written
    another way (``integer``, ``optional<string>``, ``array<int>``, ``[string]``, ``uint``), what to write."""
    use = "use string, int, double, bool, timestamp, dyn, list<T> or map<T>"
    if text is None or not str(text).strip():  # (``plan:`` with nothing after it in YAML)
        raise ValueError(f"no type given ({use})")
    if isinstance(text, list) and len(text) == 1 and isinstance(text[0], str):  # (YAML [string])
        raise ValueError(f"unknown type {text!r} (did you mean list<{text[0]}>? {use})")
    if isinstance(text, dict):  # (JSON Schema / Avro style: {type: integer})
        inner = text.get("type")
        raise ValueError(f"a type is written alone, not as a mapping (name: int, not name: {{type: {inner}}}; "
                         f"{use})")
    s = str(text).strip()
    m = _CONTAINER.fullmatch(s)
    if m:
        kind, inner = m.group(1), (m.group(2) if m.group(2) is not None else m.group(3)).strip()
        if kind == "map" and "," in inner:
            key, inner = (x.strip() for x in inner.split(",", 1))
            if key != "string":
                raise ValueError(f"unknown type {s!r} (map keys are strings, as in JSON: write map<{inner}>)")
        return T(kind, elem=parse_type(inner))
    t = _PRIMITIVES.get(s)
    if t is None:
        opt, arr = _OPTIONAL.fullmatch(s), re.fullmatch(r"(?:array|set|seq)\s*<(.*)>", s.lower())
        if opt:
            raise ValueError(f"unknown type {s!r} (every declared property and trait is optional: absent or null "
                             f"is allowed; write {(opt.group(1) or opt.group(2)).strip()})")
        alias = {"integer": "int", "long": "int", "float": "double", "number": "double", "str": "string",
                 "boolean": "bool", "datetime": "timestamp", "uint": "int"}.get(s.lower(), s.lower())
        hint = f"did you mean list<{arr.group(1).strip()}>? " if arr else (
            f"did you mean {alias}? " if alias in _PRIMITIVES and alias != s else "")
        raise ValueError(f"unknown type {s!r} ({hint}{use})")
    return t


def _trait_problem(value: Any) -> tuple[str, str] | None:
    """Why a trait value of its declared type would not be kept by the traits fold (``stages.attributes``: one
    finite scalar, a string of at most ``MAX_TRAIT_CHARS``), so it is dropped with a warning here, not silently."""
    from journeyflow.stages.attributes import MAX_TRAIT_CHARS
    if isinstance(value, (list, dict)):
        return FieldWarningReason.WRONG_TYPE, f"a trait is one value, got {_type_name(value)}"
    if isinstance(value, str) and len(value) > MAX_TRAIT_CHARS:
        return FieldWarningReason.OUT_OF_RANGE, f"a trait string is at most {MAX_TRAIT_CHARS} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return FieldWarningReason.OUT_OF_RANGE, "a trait number is finite"
    return None


def _folded(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    if not name.isascii():  # a zero-width space, a BOM, a no-break space: characters nobody sees (qa17d)
        from journeyflow.stages.segment.calls import event_name_text
        name = event_name_text(name)
    return name.casefold().replace("_", "").replace("-", "").replace(" ", "")


def _declared_spellings(values: Mapping, declared: Mapping[str, T], key: str, problems: list) -> dict | None:
    """``values`` (``key``: ``properties`` or ``traits``) with each undeclared name that is a declared one in another
    case or with other separators (``Plan`` / ``plan``, ``seat-count`` / ``seat_count``; one declared name only) read
    as the declared name, or None when there is none.  Names match exactly in conditions, so such a value was kept
    and never matched (a property) or silently not kept (a trait); now it is the declared field with an
    ``unknown_value`` warning naming both spellings (action ``replaced``), or, when the declared name is given too,
    dropped with one (that one counts)."""
    out = None
    for name in values:
        if name in declared or (f := _folded(name)) is None:
            continue
        match = [d for d in declared if _folded(d) == f]
        if len(match) != 1:
            continue
        want, what = match[0], "property" if key == "properties" else "trait"
        out = dict(values) if out is None else out
        v = out.pop(name)
        field = f"{key}.{name}"
        from journeyflow.stages.fields import warning_value
        if want in out:
            problems.append((field, FieldWarningReason.UNKNOWN_VALUE, "dropped", f"{name!r} is no declared {what}; "
                             f"the declared {want!r} is given too and counts (names match exactly)",
                             warning_value(field, v)))
        else:
            out[want] = v
            problems.append((field, FieldWarningReason.UNKNOWN_VALUE, "replaced", f"{name!r} is no declared "
                             f"{what}: read as the declared {want!r} (names match exactly: send {want!r})",
                             warning_value(field, v)))
    return out


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
            kept = _declared_spellings(values, declared, key, problems)
            values = values if kept is None else kept
            for name, t in declared.items():
                if name not in values:
                    continue
                v = values[name]
                problem = None if v is None else check_value(v, t) or (_trait_problem(v) if key == "traits" else None)
                if v is not None and problem is None:
                    typed = as_declared(v, t)
                    if typed is not v:
                        kept = dict(values) if kept is None else kept
                        kept[name] = typed
                    continue
                if v is None and key == "traits":
                    continue  # (a null trait clears the trait: stages.attributes)
                if kept is None:
                    kept = dict(values)
                del kept[name]
                if problem is not None:
                    field = f"{key}.{name}"
                    problems.append((field, problem[0], "dropped", problem[1], warning_value(field, v)))
            if kept is not None:
                new[key] = kept
        if not new:
            return ev
        out = {**attrs, **new}
        for key in ("properties", "traits"):
            if key in new and not new[key]:
                del out[key]  # an empty map is left out, as the parser does
        return replace(ev, attrs=out)
