"""The attributes file: declared event schemas, traits and computed attributes (issue 19, points 4 and 5).

Loaded strictly (``journeyflow.config.yaml``: no aliases, unique plain keys, file:line positions) and checked at
once; every problem is one ``<file>:<line>: <json path>: <what>`` line of an :class:`AttributesError`.  Format::

    version: 1
    events:                          # declared events: their stream and property types
      Trial Ending Soon:             # a user-named (Segment track) event; stream defaults to track
        properties: {days_left: int, plan: string}
      product_view:                  # a built-in event may declare its (web) properties too
        properties: {category: string}
    traits:                          # kept from identify calls (only declared traits are kept)
      plan: string
    attributes:                      # computed attributes, seen as customer.traits.<name>
      logins_7d: {op: count, event: login, window: 7d}
      spend_30d: {op: sum, event: order_placed, property: amount, window: 30d, where: 'event.currency == "EUR"'}
      big_orders: {op: count, event: order_placed, where: 'event.currency == "EUR" && event.amount > 100.0'}
      categories_7d: {op: distinct_count, event: product_view, property: properties.category, window: 7d}

Types: ``string``, ``int``, ``double``, ``bool``, ``timestamp``, ``dyn``, ``list<T>``, ``map<T>``.  ``op``: one of
:data:`~journeyflow.stages.attributes.OPS`; ``property``: a path of the event as conditions see it (``sum`` needs
a numeric one, not a timestamp, ``min``/``max``/``distinct_count`` any declared scalar, ``count`` none); ``where``: a CEL condition over ``event``
only (type-checked); ``window``: a duration (``7d``) or absent (all time); ``max_events``: 1-1000 (default 100).
A ``sum``, ``min`` or ``max`` of an order's ``amount`` whose ``where`` does not read ``event.currency`` loads with a
warning: amounts of different currencies are never added or compared as one number (as ``customer_value``).
"""
from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from journeyflow.config.durations import parse_duration
from journeyflow.model.events import EVENT_TYPES
from journeyflow.config.yaml import MAX_CONFIG_BYTES, format_path, parse_yaml, utf8_size
from journeyflow.stages.attributes import OPS, Attribute, AttributeSet
from journeyflow.stages.conditions import JourneyError, compile_condition
from journeyflow.stages.journeys.never_fires import deletion_trigger_error, synonym_trigger_error
from journeyflow.stages.journeys.positions import condition_line
from journeyflow.stages.declarations import (CUSTOM_STREAM, CUSTOMER_FIELDS, MAX_EVENT_NAME, Declarations, EventDecl,
                                             _folded, stream_of)
from journeyflow.stages.declared_types import _folded as _spelling
from journeyflow.stages.segment.calls import event_name_text
from journeyflow.stages.typecheck import DOUBLE, INT, NUMERIC, STRING, T, parse_type

__all__ = ["AttributesError", "MAX_ATTRIBUTES", "MAX_EVENTS_LIMIT", "load_attributes", "load_attributes_text"]

#: Most computed attributes, traits and declared events (each) in one file.
MAX_ATTRIBUTES = 100
#: The largest ``max_events`` an attribute may ask for.
MAX_EVENTS_LIMIT = 1000
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
#: A declared property or trait name: the key as the source writes it -- Segment properties and traits are often
#: "Plan Type" or "plan-type" (read in conditions as ``event.properties['Plan Type']``); a '.' would be read as a
#: path step (``property: properties.a.b``) and is refused, as are control characters.
_FIELD_NAME = re.compile(r"[^.\x00-\x1f\x7f]{1,64}")
_KEYS = {"version", "events", "traits", "attributes"}
_ATTR_KEYS = {"op", "event", "stream", "where", "property", "window", "max_events", "description"}
_BUILTIN_TYPES = [t for ts in EVENT_TYPES.values() for t in ts]
_STREAMS = ("web", "orders", "support", "crm", "engagement", "consent", CUSTOM_STREAM)


class AttributesError(JourneyError):
    """An invalid attributes file; ``errors`` holds one ``"<file>:<line>: <path>: <what>"`` per problem."""


def load_attributes(path: str | Path) -> AttributeSet:
    """Load and check an attributes file; raises AttributesError listing every problem."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as e:
        raise AttributesError(f"{p}:1: $: cannot read the file ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise AttributesError(f"{p}:1: $: file is not UTF-8 ({e.reason} at byte {e.start})") from None
    return load_attributes_text(text, str(p))


def load_attributes_text(text: str, filename: str = "<string>",
                         mapped: Mapping[str, tuple[str, str]] | None = None) -> AttributeSet:
    """Parse and check the text of an attributes file (see the module docstring).  ``mapped``: the Segment event
    names a mapping turns into built-in events (``Declarations.mapped``); an attribute on one in stream ``track``
    is an error (it would never count)."""
    mapped = dict(mapped or {})
    if utf8_size(text, MAX_CONFIG_BYTES) > MAX_CONFIG_BYTES:
        raise AttributesError(f"{filename}:1: $: file is larger than the 1 MiB limit")
    yd = parse_yaml(text, filename)
    errors: list[tuple[int, str, str]] = []

    def add(path: tuple, message: str) -> None:
        errors.append((yd.line(path), format_path(path), message))

    for issue in yd.issues:
        errors.append((issue.line, format_path(issue.path), ("invalid YAML: " if issue.syntax else "")
                       + issue.message))
    data = yd.data if not yd.issues else None
    if data is None and not yd.issues:
        data = {}
    if data is not None and not isinstance(data, dict):
        add((), "expected a mapping with events, traits and attributes")
        data = None
    attrs: list[Attribute] = []
    decl = Declarations()
    if data is not None:
        for k in sorted(set(data) - _KEYS, key=str):
            add((k,), f"unknown field '{k}' (allowed: {', '.join(sorted(_KEYS))})")
        if data.get("version", 1) != 1:
            add(("version",), "only version 1 is supported")
        events = _events(data.get("events"), add, mapped)
        traits = _types(data.get("traits"), ("traits",), add, "trait")
        decl = Declarations(events=events, traits=traits, mapped=mapped)
        attrs = _attributes(data.get("attributes"), decl, traits, add, filename, yd, errors, text)
        decl = Declarations(events=events, traits=traits, computed={a.name: a.result for a in attrs}, mapped=mapped)
    if errors:
        raise AttributesError(_render(errors, filename))
    return AttributeSet(tuple(attrs), decl)


def _render(errors: list[tuple[int, str, str]], filename: str) -> list[str]:
    out: list[str] = []
    for line, path, message in sorted(errors):
        s = f"{filename}:{line}: {path}: {message}"
        if s not in out:
            out.append(s)
    return out


def _types(v: Any, path: tuple, add, what: str) -> dict[str, T]:
    """A ``name: type`` mapping (traits, properties)."""
    out: dict[str, T] = {}
    if v is None:
        return out
    if not isinstance(v, dict):
        add(path, f"expected a mapping of {what} names to types")
        return out
    if len(v) > MAX_ATTRIBUTES:
        add(path, f"{len(v)} {what}s, more than the limit of {MAX_ATTRIBUTES}")
    for name, t in v.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name) or name != name.strip():
            add(path + (name,), f"{name!r} is not a valid {what} name (at most 64 characters, no '.', no control "
                                f"characters, no spaces around it)")
            continue
        if name in _never_kept(what) or (what == "trait" and _personal(name)):
            add(path + (name,), f"'{name}' is personal data the parser never keeps as a {what} (an email or phone is a "
                                f"hashed identifier, names and addresses are dropped): conditions cannot read it")
            continue
        try:
            out[name] = parse_type(t)
        except ValueError as e:
            add(path + (name,), str(e))
            continue
        if what == "trait" and out[name].kind in ("list", "map"):  # (stages.attributes keeps scalars only)
            add(path + (name,), f"a trait is one value (string, int, double, bool or timestamp), not a {out[name]}: "
                                f"a list or map would never be kept")
        # (a source's spelling is read as the declared name it folds to: stages.declared_types; two such names
        # would leave 'PLAN' neither's, silently)
        same = next((k for k in out if k != name and _spelling(k) == _spelling(name)), None)
        if same is not None:
            add(path + (name,), f"'{name}' and '{same}' are one {what} in two spellings (a source's "
                                f"'{name.upper()}' would be either): declare one")
    return out


def _personal(name: str) -> bool:
    """True for a reserved personal trait in another spelling (``Email``, ``First Name``: read as it, dropped)."""
    from journeyflow.stages.segment.profile import personal_name
    return personal_name(name) is not None


def _never_kept(what: str) -> frozenset[str]:
    """The trait (or property) names the Segment parser drops as personal data (``segment.parse``)."""
    from journeyflow.stages.segment.parse import _PII_PROPERTIES, PERSONAL_TRAITS
    return PERSONAL_TRAITS if what == "trait" else _PII_PROPERTIES if what == "property" else frozenset()


def _events(v: Any, add, mapped: Mapping[str, tuple[str, str]] | None = None) -> dict[str, EventDecl]:
    """The declared events.  A declaration that could never apply is an error (its types would silently never be
    checked, its triggers never fire): a name with surrounding spaces (the Segment parser strips them), a
    user-named event in a built-in stream (their types are fixed), a name the Segment mapping turns into a
    built-in event, a built-in type spelled another way (``Login``, ``add to cart``) without ``stream: track``,
    and one event declared twice in two spellings (``plan upgraded`` and ``Plan Upgraded``)."""
    out: dict[str, EventDecl] = {}
    folded: dict[str, str] = {}
    if v is None:
        return out
    if not isinstance(v, dict):
        add(("events",), "expected a mapping of event names to declarations")
        return out
    if len(v) > MAX_ATTRIBUTES * 2:
        add(("events",), f"{len(v)} events, more than the limit of {MAX_ATTRIBUTES * 2}")
    for name, d in v.items():
        p = ("events", name)
        if not isinstance(name, str) or not 0 < len(name) <= MAX_EVENT_NAME:
            add(p, f"an event name is a string of 1-{MAX_EVENT_NAME} characters")
            continue
        d = d if d is not None else {}
        if not isinstance(d, dict):
            add(p, "expected a mapping with stream and properties")
            continue
        for k in sorted(set(d) - {"stream", "properties", "description"}, key=str):
            add(p + (k,), f"unknown field '{k}' (allowed: stream, properties, description)")
        own = stream_of(name)
        stream = d.get("stream", own)
        if stream not in _STREAMS:
            add(p + ("stream",), f"{stream!r} is not a stream ({', '.join(_STREAMS)})")
        elif own != CUSTOM_STREAM and stream != own:
            add(p + ("stream",), f"event '{name}' is in stream '{own}'")
        elif own == CUSTOM_STREAM:
            _user_named(name, d, stream, p, add, mapped or {}, folded)
        out[name] = EventDecl(name, stream, _types(d.get("properties"), p + ("properties",), add, "property"))
    return out


def _user_named(name: str, d: dict, stream: str, p: tuple, add, mapped: Mapping[str, tuple[str, str]],
                folded: dict[str, str]) -> None:
    """The checks of a declared user-named event (stream ``track``) that could never apply (see :func:`_events`)."""
    key = _folded(name)
    builtin = next((t for t in _BUILTIN_TYPES if _folded(t) == key), None)
    if name != event_name_text(name):
        add(p, f"event name {name!r} has spaces around it or characters nobody sees: event names are read without "
               f"them (a Segment track call's event is read so), write {event_name_text(name)!r}")
    elif name in mapped:
        ms, mt = mapped[name]
        add(p, f"event '{name}' never reaches stream '{CUSTOM_STREAM}': the Segment mapping turns it into {ms} "
               f"'{mt}' (declare its properties under {mt})")
    elif stream != CUSTOM_STREAM:
        add(p + ("stream",), f"event '{name}' is not a built-in {stream} event (its types are fixed: "
                             f"{', '.join(EVENT_TYPES[stream])}); a user-named event is in stream '{CUSTOM_STREAM}'")
    elif builtin is not None and "stream" not in d:
        add(p, f"'{name}' is not the built-in event '{builtin}' (names are matched exactly): write {builtin} to "
               f"declare its properties, or stream: {CUSTOM_STREAM} if '{name}' is an event of your own")
    elif name in ("identify", "alias", "group") and d.get("properties"):
        add(p + ("properties",), f"{name} calls carry no properties (identify and group: traits, declared under "
                                 f"traits; a group's own traits describe the group and are not kept)")
    elif key in folded:
        add(p, f"event '{name}' is declared twice, also as '{folded[key]}': event names are matched exactly "
               f"(as the Segment Spec does), declare the one your sources send")
    folded.setdefault(key, name)


def _attributes(v: Any, decl: Declarations, traits: dict, add, filename: str, yd, errors: list,
                text: str = "") -> list[Attribute]:
    out: list[Attribute] = []
    if v is None:
        return out
    if not isinstance(v, dict):
        add(("attributes",), "expected a mapping of attribute names to definitions")
        return out
    if len(v) > MAX_ATTRIBUTES:
        add(("attributes",), f"{len(v)} attributes, more than the limit of {MAX_ATTRIBUTES}")
    for name, d in v.items():
        p = ("attributes", name)
        if not isinstance(name, str) or not _NAME.match(name):
            add(p, f"{name!r} is not a valid attribute name (lowercase letters, digits and _, starting with a "
                   f"letter, at most 64)")
            continue
        if name in traits or name in CUSTOMER_FIELDS:
            add(p, f"'{name}' is already a trait" if name in traits else f"'{name}' is a built-in customer field")
            continue
        if not isinstance(d, dict):
            add(p, "expected a mapping with op and event")
            continue
        a = _attribute(name, d, p, decl, add, filename, yd, errors, text)
        if a is not None:
            out.append(a)
    return out


def _attribute(name: str, d: dict, p: tuple, decl: Declarations, add, filename: str, yd,
               errors: list, text: str = "") -> Attribute | None:
    n = len(errors)
    for k in sorted(set(d) - _ATTR_KEYS, key=str):
        add(p + (k,), f"unknown field '{k}' (allowed: {', '.join(sorted(_ATTR_KEYS))})")
    op, event, stream = d.get("op"), d.get("event"), d.get("stream")
    if op not in OPS:
        add(p + ("op",), f"{op!r} is not one of {', '.join(OPS)}" if op is not None else "missing required field "
                                                                                            "'op'")
    if not isinstance(event, str) or not event:
        add(p + ("event",), "missing required field 'event'" if event is None else "expected an event name")
        return None
    if len(event) > MAX_EVENT_NAME:  # the limit of journey triggers and declared events: one rule for names
        add(p + ("event",), f"an event name is a string of 1-{MAX_EVENT_NAME} characters, not {len(event)}")
        return None
    if event != event_name_text(event):  # (never sent so: a Segment track call's event is read so)
        add(p + ("event",), f"event name {event!r} has spaces around it or characters nobody sees (event names "
                            f"are read without them: write {event_name_text(event)!r})")
        return None
    if stream is not None and stream not in _STREAMS:
        add(p + ("stream",), f"{stream!r} is not a stream ({', '.join(_STREAMS)})")
        stream = None
    own = decl.events[event].stream if event in decl.events else (
        stream_of(event) if decl.knows_event(event) else None)
    if own is None and event in decl.mapped and stream in (None, CUSTOM_STREAM):
        ms, mt = decl.mapped[event]
        never = deletion_trigger_error(mt, ms, "attribute")  # (the deletion: no "use event: contact_deleted")
        add(p + ("event",), f"event '{event}' never reaches stream '{CUSTOM_STREAM}': the Segment mapping turns it "
                            f"into {ms} '{mt}'" + (f", and {never}" if never else f" (use event: {mt})"))
    elif own is None and stream == CUSTOM_STREAM and decl.near_miss(event) is not None:
        add(p + ("event",), f"event '{event}' is neither declared nor mapped: did you mean "
                            f"'{decl.near_miss(event)}'? (declare '{event}' under events if the name is right)")
    elif own is not None and stream is not None and stream != own:
        add(p + ("stream",), f"unknown event '{event}' in stream '{stream}' (it is in '{own}')")
    elif (own is None and stream != CUSTOM_STREAM and event not in _shipped_mapping()
          and (said := synonym_trigger_error(event, stream)) is not None):  # (another tool's word: never_fires)
        add(p + ("event",), said)
    elif own is None and stream != CUSTOM_STREAM:
        hint = difflib.get_close_matches(event, [*decl.events, *_BUILTIN_TYPES], n=1)
        shipped = _shipped_mapping().get(event)
        if shipped is not None:  # never "set stream: track" for a name the mapping turns into a built-in event
            extra = f" (the Segment mapping turns it into {shipped[0]} '{shipped[1]}': use event: {shipped[1]})"
        elif hint:
            extra = f" (did you mean '{hint[0]}'?)"
        else:
            extra = f" (declare it under events, or set stream: {CUSTOM_STREAM})"
        add(p + ("event",), f"unknown event '{event}'{extra}")
    elif (never := deletion_trigger_error(event, stream, "attribute")) is not None:  # (journeys.never_fires)
        add(p + ("event",), never)
    etype = decl.event_type(event, stream)
    ptype: T | None = None
    path: tuple[str, ...] = ()
    prop = d.get("property")
    if prop is not None:
        if not isinstance(prop, str) or not prop:
            add(p + ("property",), "expected a field path such as amount or properties.plan")
        else:
            path = tuple(prop.split("."))
            ptype = _resolve(etype, path, p + ("property",), add)
    if op in ("sum", "min", "max") and prop is None:
        add(p + ("property",), f"{op} needs a property")
    if op == "count" and isinstance(prop, str) and prop:  # (it was read by no one: every event counted)
        add(p + ("property",), f"count counts events and reads no property: to count the events that have "
                               f"'{prop}', write where: \"has(event.{prop})\"")
    if ptype is not None:
        if op == "sum" and (ptype.kind not in NUMERIC and ptype.kind != "dyn" or ptype.name == "timestamp"):
            add(p + ("property",), f"sum needs a number, '{prop}' is a {ptype}" + (
                ": a sum of times is no time (min, max, first or last take one)" if ptype.name == "timestamp" else ""))
        if op in ("min", "max", "first", "last", "distinct_count") and ptype.kind not in (
                "int", "double", "string", "bool", "timestamp", "dyn"):
            add(p + ("property",), f"{op} needs a scalar, '{prop}' is a {ptype}")
    window = None
    if d.get("window") is not None:
        try:
            window = parse_duration(d["window"])
        except ValueError as e:
            add(p + ("window",), str(e))
    max_events = d.get("max_events", 100)
    if type(max_events) is not int or not 1 <= max_events <= 1000:
        add(p + ("max_events",), "max_events is an integer from 1 to 1000")
        max_events = 100
    where = None
    if d.get("where") is not None:
        wp = p + ("where",)
        loc = f"{filename}:{yd.line(wp)}: {format_path(wp)}"
        try:
            where = compile_condition(d["where"], loc, {"event": etype},
                                      f"attribute '{p[-1]}': where ({loc.split(': ', 1)[0]})")
        except JourneyError as e:
            # the line of the faulty part of a condition written over several lines (as the journeys' conditions)
            line = condition_line(text, yd.lines.get(wp, yd.line(wp)), d["where"], e.offset) if text else yd.line(wp)
            for m in e.errors:
                errors.append((line if e.offset is not None else yd.line(wp), format_path(wp),
                               m[len(loc) + 2:] if m.startswith(loc + ": ") else m))
    if op in ("count", "distinct_count"):
        result = INT
    elif op == "sum":
        result = DOUBLE if ptype is None or ptype.kind != "int" else INT
    elif prop is None:
        result = INT  # first/last without a property: the event time
    else:
        result = ptype or STRING
    if len(errors) != n:
        return None
    if (op in ("sum", "min", "max") and len(path) == 1 and etype is not None and etype.kind == "struct"
            and "currency" in etype.fields and path[0] in _MONEY_FIELDS
            and not _CURRENCY_TEST.search(str(d.get("where") or ""))):  # (a warning: the file is valid)
        logging.getLogger(__name__).warning(
            "%s:%s: %s: %s of '%s' over '%s' events of any currency adds or compares amounts of different "
            "currencies (100 USD + 10,000 JPY = 10,100); add where: 'event.currency == \"EUR\"' (one attribute per "
            "currency)", filename, yd.line(p), format_path(p), op, path[0], event)
    return Attribute(name, op, event, stream, path, where, window, max_events, ptype, result)


#: Event fields that hold an amount of money in the event's ``currency`` (orders: ``declarations.STREAM_FIELDS``).
_MONEY_FIELDS = frozenset({"amount"})
#: A ``where`` condition that reads the event's currency (``event.currency``): it picks one currency.
_CURRENCY_TEST = re.compile(r"\bevent\s*\.\s*currency\b")


def _resolve(t: T, path: tuple[str, ...], p: tuple, add) -> T | None:
    """The type at ``path`` inside event type ``t`` (an unknown field is an error)."""
    cur = t
    for i, k in enumerate(path):
        if cur.kind == "struct":
            nxt = cur.fields.get(k)
            if nxt is None:
                add(p, f"unknown field '{'.'.join(path[:i + 1])}' of {cur.name}{_did_you_mean(cur, path, i)}")
                return None
            cur = nxt
        elif cur.kind in ("map", "dyn"):
            cur = cur.elem if cur.kind == "map" and cur.elem is not None else T("dyn")
        else:
            add(p, f"'{'.'.join(path[:i])}' is a {cur}: it has no field '{k}'")
            return None
    return cur


def _did_you_mean(struct_t: T, path: tuple[str, ...], i: int) -> str:
    """A hint for an unknown ``property`` path: ``properties.<name>`` when the name is a declared property (the path
    starts at the event, as conditions see it), else the closest field name."""
    props = struct_t.fields.get("properties")
    if i == 0 and props is not None and props.kind == "struct" and path[0] in props.fields:
        return f" (did you mean 'properties.{'.'.join(path)}'?)"
    close = difflib.get_close_matches(path[i], list(struct_t.fields), n=1)
    return f" (did you mean '{'.'.join((*path[:i], close[0]))}'?)" if close else ""


def _shipped_mapping() -> dict[str, tuple[str, str]]:
    """Segment event name -> (stream, type) of the shipped Segment mapping (for hints only)."""
    from journeyflow.stages.segment.mapping import default_mapping_text, load_mapping_text
    m = load_mapping_text(default_mapping_text(), "<default>")
    return {name: (rule.stream, rule.type) for name, rule in m.events.items()}
