"""The fast path of :class:`journeyflow.stages.parse.Parser`: typed ``msgspec`` decoders generated from
``schemas/<stream>.avsc``, with caches for what recurs (identifier keys, pseudonymized kept strings, dates and UTC
offsets of event times).

Contract: :meth:`FastPath.parse` returns an ``Event`` only for a record that the full parser
(:meth:`Parser._parse <journeyflow.stages.parse.Parser._parse>`) keeps *without a field warning*, and then the very
same ``Event``; for anything else -- a record the typed decoder refuses (bad JSON, a wrong type, a missing required
field, an unknown enum symbol, a non-finite or out-of-range number, a lone surrogate), an optional field that would be
dropped or replaced, an unusable identifier, an event time out of range or in a form the fast time reader does not
take -- it returns ``None`` and the caller runs the full parser, so dead letters and field warnings are the full
parser's own.  Only the built-in streams whose schema shapes map exactly onto ``msgspec`` types are fast-pathed
(:func:`struct_for`); the Segment ``track`` stream always takes the full path.  The agreement is a property test
(``tests/stages/test_parse_fast.py``).

Type mapping (Avro -> msgspec): ``string`` -> ``str``; ``long`` -> ``int`` within the signed 64-bit range;
``["double", "long"]`` -> ``float | int`` (msgspec keeps a JSON integer an ``int``, as ``json.loads`` does);
``boolean`` -> ``bool``; ``enum`` -> ``Literal[symbols]``; ``array`` / ``map`` -> ``list`` / ``dict[str, …]``;
``["null", X]`` -> ``X | None``.  A field is required in the decoder when its Avro type has no ``null`` (except the
fields :mod:`journeyflow.stages.fields` treats a ``null`` of as absent: ``product_ids``, ``properties``).
"""
from __future__ import annotations

import functools
import operator
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

import msgspec

from journeyflow.model.events import BUILTIN_STREAMS, EVENT_TYPES, Event
from journeyflow.stages import fields as _fields
from journeyflow.stages.identity.keys import InvalidIdentifier
from journeyflow.stages.pii import pseudonymize
from journeyflow.stages.timeparse import parse_iso8601_ms, parse_ts

if TYPE_CHECKING:
    from journeyflow.stages.parse import Parser

__all__ = ["FastPath", "cannot_hold_pii", "fast_iso_ms", "struct_for"]

_LONG = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_INT = Annotated[int, msgspec.Meta(ge=-(1 << 31), le=(1 << 31) - 1)]
_PRIMITIVES: dict[str, Any] = {"string": str, "long": _LONG, "int": _INT, "boolean": bool}
#: bounded caches (entries): identifier keys, pseudonymized strings, dates, offsets
_CACHE = 1 << 16


class Unsupported(Exception):
    """An Avro shape without an exact msgspec counterpart: the stream stays on the full path."""


def _py_type(t: Any) -> Any:
    if isinstance(t, list):
        members = [x for x in t if x != "null"]
        nums = {m for m in members if isinstance(m, str) and m in ("double", "float", "long", "int")}
        if nums and nums != {"long"} and nums != {"int"}:
            if nums != {"double", "long"}:  # a lone double would turn JSON integers into floats
                raise Unsupported(f"numeric union {sorted(nums)}")
            members = [m for m in members if m not in nums]
            types = [_py_type(m) for m in members] + [float, _LONG]
        else:
            types = [_py_type(m) for m in members]
        if not types:
            raise Unsupported("union of null only")
        out = Union[tuple(types)] if len(types) > 1 else types[0]  # noqa: UP007 (built at run time)
        return Optional[out] if "null" in t else out  # noqa: UP007
    if isinstance(t, str):
        if t in _PRIMITIVES:
            return _PRIMITIVES[t]
        raise Unsupported(f"type {t!r}")
    kind = t.get("type")
    if kind == "enum":
        return Literal[tuple(t["symbols"])]
    if kind == "array":
        return list[_py_type(t["items"])]
    if kind == "map":
        return dict[str, _py_type(t["values"])]
    if kind in _PRIMITIVES and len(t) == 1:
        return _PRIMITIVES[kind]
    raise Unsupported(f"type {kind!r}")


def struct_for(stream: str, schema: dict) -> type[msgspec.Struct]:
    """A ``msgspec.Struct`` type decoding one JSON record of ``stream`` as its Avro ``schema`` (a parsed
    ``schemas/<stream>.avsc``) types it; raises :class:`Unsupported` for a shape without an exact counterpart."""
    required, optional = [], []
    for f in schema["fields"]:
        typ = _py_type(f["type"])
        nullable = isinstance(f["type"], list) and "null" in f["type"]
        if nullable:
            optional.append((f["name"], typ, None))
        elif f["name"] in _fields._NOT_NULLABLE and "default" in f:
            optional.append((f["name"], Optional[typ], None))  # noqa: UP007
        else:
            required.append((f["name"], typ))
    return msgspec.defstruct(f"Fast{stream.title()}Record", required + optional, kw_only=True)


_ISO_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
                     r"(Z|[+-][0-9]{2}:[0-9]{2})")


@functools.lru_cache(maxsize=_CACHE)
def _hour_ms(date_hour: str) -> int | None:
    """Epoch ms of ``YYYY-MM-DDThh`` (UTC), None when the date or the hour does not exist (or is 24)."""
    if date_hour[11:13] > "23":
        return None
    try:
        return parse_iso8601_ms(date_hour + "Z")
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _offset_ms(offset: str) -> int | None:
    try:
        return -parse_iso8601_ms("1970-01-01T00" + offset)
    except ValueError:
        return None


def fast_iso_ms(text: str) -> int | None:
    """Epoch ms of the common form ``YYYY-MM-DDThh:mm:ss[.f…](Z|±hh:mm)``, equal to
    :func:`journeyflow.stages.timeparse.parse_ts` of it; None for any other text (the caller then asks ``parse_ts``).
    Date-hours and offsets are cached; a leap second (``:60``) and hour 24 are left to ``parse_ts``."""
    m = _ISO_RE.fullmatch(text)
    if m is None:
        return None
    date_hour, mm, ss, frac, off = m.groups()
    base = _hour_ms(date_hour)
    offset = _offset_ms(off)
    minute, second = int(mm), int(ss)
    if base is None or offset is None or minute > 59 or second > 59:
        return None
    ms = base + minute * 60_000 + second * 1000 - offset
    return ms + int((frac + "00")[:3]) if frac else ms


# Texts no pattern of stages.pii can match, as one linear-time full match (character classes without overlap):
# an ASCII word starting with a letter or "_" (every digit follows a word character: no phone candidate can start
# there, and a formatted number needs a separator), or an ASCII text without @ + % & \\ [ ( { and with at most 6
# digits; for ids (keep_uuids) also exactly one UUID.
_PLAIN = r"[^0-9@+%&\\\[({\x80-\U0010FFFF]"
_WORD_OR_FEW_DIGITS = rf"[A-Za-z_][A-Za-z0-9_]*|{_PLAIN}*(?:[0-9]{_PLAIN}*){{0,6}}"
_SAFE = re.compile(_WORD_OR_FEW_DIGITS)
_SAFE_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|"
                      + _WORD_OR_FEW_DIGITS)


def cannot_hold_pii(text: str, keep_uuids: bool = False) -> bool:
    """True when no pattern of :mod:`journeyflow.stages.pii` can match ``text``, so that ``mask_pii`` (and, with
    ``keep_uuids``, ``pseudonymize`` and ``contains_pii(keep_uuids=True)``) leave it as it is: an ASCII word
    starting with a letter (``C57274206``), an ASCII text without ``@ + % & \\ [ ( {`` and with at most 6 digits
    (``web-000001``: every pattern needs an ``@``, a ``+``, 7 digits or an encoded spelling starting with one of
    those characters or a non-ASCII one), or with ``keep_uuids`` exactly one UUID.  One regular-expression full
    match; the property test checks it against ``pii``."""
    return (_SAFE_ID if keep_uuids else _SAFE).fullmatch(text) is not None


def _values_getter(names: tuple[str, ...]) -> Any:
    """A function giving the values of ``names`` of a record as one tuple."""
    if len(names) >= 2:
        return operator.attrgetter(*names)  # a tuple, built in C
    getter = operator.attrgetter(*names)
    return lambda rec: (getter(rec),)


class FastPath:
    """Per-:class:`Parser` fast path (its own caches, bounded LRU of 65,536 entries each)."""

    def __init__(self, parser: Parser):
        self._parser = parser
        self._cfg = parser.config
        self._decoders: dict[str, msgspec.json.Decoder] = {}
        for stream in BUILTIN_STREAMS:
            try:
                self._decoders[stream] = msgspec.json.Decoder(struct_for(stream, parser._schemas[stream]))
            except Unsupported:
                continue
        # optional fields whose check the decoder's types do not already make (ranges, time zones, enums)
        typed = {_fields._string, _fields._string_list, _fields._scalar_map}
        self._checks = {s: tuple((f, c) for f, c in _fields.OPTIONAL_FIELDS[s].items() if c not in typed)
                        for s in self._decoders}
        self._ids = {s: tuple((f, f in _fields.REQUIRED_FIELDS[s]) for f in _fields.IDENTIFIER_FIELDS[s])
                     for s in self._decoders}
        self._key = functools.lru_cache(maxsize=_CACHE)(self._key_uncached)
        self._ids_cached = functools.lru_cache(maxsize=_CACHE)(self._ids_uncached)
        # the identifier values of a record, as one tuple (attrgetter of two or more names returns a tuple)
        self._id_values = {s: _values_getter(tuple(f for f, _req in ids)) for s, ids in self._ids.items()}
        self._pseudo = functools.lru_cache(maxsize=_CACHE)(self._pseudo_uncached)
        # kept attribute strings recur (SKUs, channels, currencies): one cache look-up each
        self._clean_value = functools.lru_cache(maxsize=_CACHE)(self.clean)

    def streams(self) -> frozenset[str]:
        """The streams this fast path decodes (the others always take the full path)."""
        return frozenset(self._decoders)

    # ------------------------------------------------------------------ caches
    def _key_uncached(self, field: str, value: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        contact: dict[str, str] = {}
        try:
            key = self._parser._key(field, value, contact)
        except InvalidIdentifier:
            return None
        if not key.split(":", 1)[1]:
            return None  # an empty key: the full parser leaves it out
        return key, tuple(contact.items())

    def _pseudo_uncached(self, text: str) -> str:
        return pseudonymize(text, self._parser.hasher.digest)

    def clean(self, text: str) -> str:
        """:meth:`Parser._clean` of ``text``: itself when it cannot hold PII, else cached."""
        return text if cannot_hold_pii(text, True) else self._pseudo(text)

    # ------------------------------------------------------------------ parse
    def parse(self, stream: str, raw: bytes | str, received_at: int | None) -> Event | None:
        """The Event of a record the full parser keeps without a warning, else None (then run the full parser).
        ``stream`` must be one of :meth:`streams`."""
        cfg = self._cfg
        if len(raw) > cfg.max_bytes:
            return None
        if isinstance(raw, bytes):
            if raw.count(b"{") + raw.count(b"[") > 32:
                return None
            if not raw.isascii():
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return None
        elif raw.count("{") + raw.count("[") > 32:
            return None
        try:
            rec = self._decoders[stream].decode(raw)
        except (msgspec.DecodeError, UnicodeError):
            return None
        # event time
        ts = rec.ts
        if ts.__class__ is int:
            et = ts
        else:
            et = fast_iso_ms(ts)
            if et is None:
                try:
                    et = parse_ts(ts)
                except (ValueError, OverflowError):
                    return None
        if et < cfg.min_ts or et > cfg.max_ts or (
                cfg.max_ahead_ms is not None and received_at is not None and et > received_at + cfg.max_ahead_ms):
            return None
        # type
        if stream == "consent":
            etype = "consent_" + rec.status
        else:
            etype = rec.type
            if etype not in EVENT_TYPES[stream]:
                return None
        for name, check in self._checks[stream]:
            v = getattr(rec, name)
            if v is not None and check(v) is not None:
                return None
        ids = self._identifiers(stream, rec)
        if ids is None:
            return None
        attrs = self._attrs(stream, rec)
        return Event(f"{stream}/{self.clean(rec.event_id)}", stream, etype, et, ids[0], attrs, ids[1])

    def _identifiers(self, stream: str, rec: Any) -> tuple[tuple[str, ...], dict[str, str]] | None:
        # a customer's records repeat one combination of identifier values: one cache look-up for all of them
        got = self._ids_cached(stream, self._id_values[stream](rec))
        return None if got is None else (got[0], dict(got[1]))

    def _ids_uncached(self, stream: str, values: tuple[str | None, ...]) -> tuple[tuple[str, ...], tuple] | None:
        key = self._key
        if stream == "consent":
            present = [(f, v) for (f, _req), v in zip(self._ids[stream], values) if v]
            if len(present) != 1:
                return None
            got = key(*present[0])
            if got is None:
                return None
            return (got[0],), got[1]
        keys = []
        contact: dict[str, str] = {}
        for (f, required), v in zip(self._ids[stream], values):
            if not required and (v is None or v == ""):
                continue
            got = key(f, v)
            if got is None:
                return None  # dropped with a warning, a dead letter, or an empty key: the full path says which
            keys.append(got[0])
            if got[1]:
                contact.update(got[1])
        if not keys:
            return None
        return tuple(sorted(set(keys))), tuple(contact.items())

    def _attrs(self, stream: str, rec: Any) -> dict[str, Any]:
        # the same attributes, in the same order, as Parser._attrs (None values left out, strings cleaned)
        c = self._clean_value
        a: dict[str, Any] = {}
        if stream == "web":
            if rec.product_id is not None:
                a["product_id"] = c(rec.product_id)
            if rec.properties:
                a["properties"] = {k: c(v) if v.__class__ is str else v for k, v in rec.properties.items()}
        elif stream == "orders":
            a["order_id"] = c(rec.order_id)
            a["product_ids"] = [c(x) for x in rec.product_ids] if rec.product_ids else []
            if rec.amount is not None:
                a["amount"] = rec.amount
            if rec.currency is not None:
                a["currency"] = c(rec.currency)
        elif stream == "support":
            a["ticket_id"] = c(rec.ticket_id)
            if rec.severity is not None:
                a["severity"] = c(rec.severity)
            if rec.csat is not None:
                a["csat"] = rec.csat
        elif stream == "crm":
            for name in ("lifecycle_stage", "timezone", "owner_id"):
                v = getattr(rec, name)
                if v is not None:
                    a[name] = c(v)
        elif stream == "engagement":
            a["channel"] = c(rec.channel)
            if rec.decision_id is not None:
                a["decision_id"] = c(rec.decision_id)
            if rec.type == "bounced" and rec.bounce_type is not None:
                a["bounce_type"] = c(rec.bounce_type)
        else:  # consent
            a["channel"] = c(rec.channel)
            a["status"] = c(rec.status)
        return a
