"""The declarative mapping of Segment-Spec events onto journeyflow's built-in streams and event types.

The shipped default is ``journeyflow/defaults/segment_mapping.yaml`` (its header documents the format); another file
replaces it with ``--segment_mapping FILE``.  The file is read on the launcher and its validated *text* travels in
:class:`journeyflow.stages.parse.ParseConfig` to the workers, which compile it once (:func:`compiled_mapping`).

A mapped message keeps ``attrs["properties"]`` (and ``attrs["traits"]``) and gains the attributes the built-in state
and journeys read for its target (``stages.state``: web ``product_id``; orders ``order_id``, ``product_ids``,
``amount``, ``currency``; engagement/consent ``channel``).  Errors are :class:`~journeyflow.config.errors.UserError`
``<file>:<line>: <path>: <problem>``.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal, NamedTuple, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from journeyflow.config.errors import UserError
from journeyflow.config.yaml import MAX_CONFIG_BYTES, format_path, parse_yaml, utf8_size
from journeyflow.model.decisions import CHANNELS
from journeyflow.model.events import BUILTIN_STREAMS, EVENT_TYPES
from journeyflow.stages.json_text import as_number
from journeyflow.stages.object_ids import object_id
from journeyflow.stages.segment.calls import event_name_text
from journeyflow.stages.json_text import whole_digits

__all__ = ["AttrRule", "EventRule", "MAPPING_FILE", "MappedAttr", "Misplaced", "SegmentMapping", "compiled_mapping",
           "lookup_per_item",
           "default_mapping_text", "load_mapping_file", "required_attrs"]

#: Name of the packaged default mapping (``journeyflow/defaults``).
MAPPING_FILE = "segment_mapping.yaml"

#: Attributes a target stream cannot do without (the required non-identifier fields of its records,
#: ``stages.fields.REQUIRED_FIELDS``): a message mapped there without them is dead-lettered.
_REQUIRED: dict[str, tuple[str, ...]] = {"orders": ("order_id",), "support": ("ticket_id",),
                                         "engagement": ("channel",), "consent": ("channel",)}


def required_attrs(stream: str) -> tuple[str, ...]:
    """The attributes events of the built-in ``stream`` must carry (``()`` for web and crm)."""
    return _REQUIRED.get(stream, ())


class AttrRule(BaseModel):
    """Where one attribute comes from: the first of ``from`` (paths) whose value converts ``as``; or a
    constant ``value``.  ``required``: a message without it is dead-lettered."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: tuple[str, ...] = Field((), alias="from")
    as_: Literal["string", "strings", "amount"] = Field("string", alias="as")
    value: Union[str, int, float, bool, None] = None
    required: bool = False

    @field_validator("from_")
    @classmethod
    def _paths(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if not p or any(not part or part == "[]" for part in p.split(".")):
                raise ValueError(f"path {p!r} must be dotted names (a part may end in [])")
        return v


class EventRule(BaseModel):
    """One event name's target: built-in ``stream`` and ``type``, and its attributes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: str
    type: str
    attrs: dict[str, AttrRule] = Field(default_factory=dict)


class SegmentMapping(BaseModel):
    """The whole file: ``version`` 1 and ``events`` by Segment event name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    events: dict[str, EventRule] = Field(default_factory=dict)


class MappedAttr(NamedTuple):
    """A compiled attribute rule: name, split paths (each a tuple of ``(key, walk_array)``), conversion, constant
    (``has_value``), required."""

    name: str
    paths: tuple[tuple[tuple[str, bool], ...], ...]
    as_: str
    has_value: bool
    value: Any
    required: bool


class Target(NamedTuple):
    """A compiled event rule: the built-in stream and type and the attribute rules."""

    stream: str
    type: str
    attrs: tuple[MappedAttr, ...]


def default_mapping_text() -> str:
    """The text of the packaged default mapping."""
    from journeyflow.config.engine import default_text

    return default_text(MAPPING_FILE)


def _problems(m: SegmentMapping) -> list[tuple[tuple, str]]:
    out: list[tuple[tuple, str]] = []
    for name, rule in m.events.items():
        at = ("events", name)
        if name != event_name_text(name):  # (a message's event is read so: this name would never match)
            out.append((at, f"event name {name!r} has spaces around it or characters nobody sees (event names are "
                            f"read without them: write {event_name_text(name)!r})"))
        if rule.stream not in BUILTIN_STREAMS:
            out.append((at + ("stream",), f"{rule.stream!r} is not a built-in stream ({', '.join(BUILTIN_STREAMS)})"))
            continue
        if rule.type not in EVENT_TYPES[rule.stream]:
            out.append((at + ("type",), f"{rule.type!r} is not a {rule.stream} event type "
                                        f"({', '.join(EVENT_TYPES[rule.stream])})"))
        for attr in required_attrs(rule.stream):
            if attr not in rule.attrs:
                out.append((at + ("attrs",), f"{rule.stream} events need the attribute {attr!r}"))
        for attr, a in rule.attrs.items():
            if attr in ("properties", "traits", "name", "category", "timezone"):
                out.append((at + ("attrs", attr), f"{attr!r} is set from the message itself, not by the mapping"))
            if bool(a.from_) == ("value" in a.model_fields_set):
                out.append((at + ("attrs", attr), "give either `from` (paths) or `value` (a constant)"))
            if attr == "channel" and "value" in a.model_fields_set and a.value not in CHANNELS:
                out.append((at + ("attrs", attr), f"channel {a.value!r} is not one of {', '.join(CHANNELS)}"))
    return out


def load_mapping_text(text: str, source: str) -> SegmentMapping:
    """Validate a mapping file's text.  Raises :class:`UserError` ``<source>:<line>: <path>: <problem>`` (strict
    YAML, unknown keys, a stream or type that does not exist, a required attribute not mapped)."""
    if utf8_size(text, MAX_CONFIG_BYTES) > MAX_CONFIG_BYTES:
        raise UserError(f"{source}: larger than the {MAX_CONFIG_BYTES} byte limit")
    doc = parse_yaml(text, source)
    doc.raise_first()
    data = {} if doc.empty else doc.data
    if not isinstance(data, dict):
        raise UserError(f"{source}:1: the Segment mapping must be a YAML mapping")
    try:
        m = SegmentMapping.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        path = tuple(err["loc"])
        raise UserError(f"{source}:{doc.line(path)}: {format_path(path)}: {err['msg']}") from None
    problems = _problems(m)
    if problems:
        path, msg = problems[0]
        raise UserError(f"{source}:{doc.line(path)}: {format_path(path)}: {msg}")
    return m


def load_mapping_file(path: str | None) -> tuple[str, str]:
    """``(text, source)`` of the mapping at ``path`` (the packaged default when None), validated.  Raises
    :class:`UserError` (see :func:`load_mapping_text`; ``--segment_mapping FILE: cannot read the file (no such
    file)`` for a file that cannot be read)."""
    if not path:
        text, source = default_mapping_text(), f"<default {MAPPING_FILE}>"
    else:
        from pathlib import Path

        from journeyflow.config.engine import file_size

        p = Path(path)
        if file_size(p, "--segment_mapping") > MAX_CONFIG_BYTES:
            raise UserError(f"{path}: larger than the {MAX_CONFIG_BYTES} byte limit")
        text, source = p.read_text(encoding="utf-8"), str(p)
    load_mapping_text(text, source)
    return text, source


def _split(path: str) -> tuple[tuple[str, bool], ...]:
    return tuple((part[:-2], True) if part.endswith("[]") else (part, False) for part in path.split("."))


@lru_cache(maxsize=8)
def compiled_mapping(text: str | None, source: str = "<default>") -> dict[str, Target]:
    """Event name -> :class:`Target` of a mapping text (None: the packaged default); cached per text."""
    m = load_mapping_text(default_mapping_text() if text is None else text, source)
    out: dict[str, Target] = {}
    for name, rule in m.events.items():
        attrs = tuple(MappedAttr(attr, tuple(_split(p) for p in a.from_), a.as_, "value" in a.model_fields_set,
                                 a.value, a.required or attr in required_attrs(rule.stream))
                      for attr, a in rule.attrs.items())
        out[name] = Target(rule.stream, rule.type, attrs)
    return out


# ------------------------------------------------------------------------------------------ applying a rule
class Misplaced(NamedTuple):
    """What a walked path found where it needed an array of objects or an object: a ``products`` that is a
    string (``"p1,p2"``), an item of it that is no object (``["p1", "p2"]``).  It converts to nothing and is
    reported with a field warning like any value that does not convert (it was dropped silently)."""

    where: str
    type: str
    expected: str = "an object"

    def problem(self) -> str:
        """The warning's detail."""
        return f"{self.where} is a {self.type}, not {self.expected}"


def lookup(msg: Any, path: tuple[tuple[str, bool], ...]) -> Any:
    """The value at a compiled path of ``msg`` (None when absent); an array walk gives a list of the values found
    (an object where an array is walked counts as an array of that one object: ``"products": {"product_id": ...}``,
    a producer's single product, is not lost; a scalar there, or an item that is no object where a key is looked
    up in it, is a :class:`Misplaced`)."""
    cur: list[Any] = [msg]
    walked = False
    prev = ""
    for key, walk in path:
        nxt: list[Any] = []
        for c in cur:
            if isinstance(c, Misplaced):
                nxt.append(c)
                continue
            if not isinstance(c, dict):  # an item of a walked array that is no object
                nxt.append(Misplaced(f"an item of {prev}[]", _json_type(c)))
                continue
            v = c.get(key)
            if v is None:
                continue
            if walk:
                if isinstance(v, list):
                    nxt.extend(x for x in v if x is not None)
                elif isinstance(v, dict):  # one object where the spec has an array of them (`products`): one item
                    nxt.append(v)
                else:
                    nxt.append(Misplaced(key, _json_type(v), "an array of objects"))
            else:
                nxt.append(v)
        prev = key
        cur = nxt
        walked = walked or walk
        if not cur:
            return None
    return cur if walked else cur[0]


def lookup_per_item(msg: Any, paths: tuple[tuple[tuple[str, bool], ...], ...]) -> list | None:
    """For paths that walk the same array to different keys of its items (``products[].product_id``,
    ``products[].sku``): per item, the value of the first of those keys it has -- a product given by its ``sku``
    only is not lost beside one given by its ``product_id`` (the first path that found anything won for every
    item: ``[{"product_id": "p1"}, {"sku": "S-2"}]`` gave ``["p1"]``).  An item that is no object is passed on as
    the :class:`Misplaced` it is.  None when the paths are not of that shape, or nothing is found."""
    if len(paths) < 2:
        return None
    prefix = paths[0][:-1]
    if not any(walk for _k, walk in prefix) or any(p[:-1] != prefix or p[-1][1] for p in paths):
        return None
    items = lookup(msg, prefix)
    if not isinstance(items, list):
        return None
    keys = [p[-1][0] for p in paths]
    out = []
    for item in items:
        if not isinstance(item, dict):
            out.append(item if isinstance(item, Misplaced) else Misplaced("an item of an array", _json_type(item)))
            continue
        v = next((item[k] for k in keys if item.get(k) is not None and item.get(k) != ""), None)
        if v is not None:
            out.append(v)
    return out or None


def _json_type(v: Any) -> str:
    return {str: "string", bool: "boolean", int: "number", float: "number", list: "array"}.get(type(v), "value")


def _as_text(v: Any) -> str | None:
    if isinstance(v, str):  # an id or a code: its one spelling (stages.object_ids: " SKU-1\u200b" is SKU-1)
        return object_id(v) or None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float):  # a whole float up to 2**53 (beyond, a double may not be the id written: None)
        return whole_digits(v)
    return None


def convert(value: Any, as_: str) -> tuple[Any, str | None]:
    """``(converted value, None)`` or ``(None, problem)`` for a value found by a path (see the file format)."""
    if as_ == "strings":
        items = value if isinstance(value, list) else [value]
        kept = [t for t in (_as_text(x) for x in items) if t is not None]
        if len(kept) != len(items):
            misplaced = [x for x in items if isinstance(x, Misplaced)]
            return (kept or None), f"{len(items) - len(kept)} of {len(items)} items are not strings or integers" + (
                f" ({misplaced[0].problem()})" if misplaced else "")
        return kept, None
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Misplaced):
        return None, value.problem()
    if as_ == "amount":
        value = as_number(value)  # total: "99.50" (a tag template's string) is 99.5
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"expected a number, got {type(value).__name__}"
        if not math.isfinite(value) or value < 0:
            return None, "expected a finite number >= 0"
        return value, None
    text = _as_text(value)
    if text is None:
        return None, f"expected a string or an integer, got {type(value).__name__}"
    return text, None
