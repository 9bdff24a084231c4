"""The fast path of :class:`journeyflow.stages.parse.Parser`: typed ``msgspec`` decoders generated from
``schemas/<stream>.avsc``, with caches for what recurs (identifier keys and the id combinations of a record, pseudonymized kept strings, the
raw text of web ``properties``).

Contract: :meth:`FastPath.parse` returns an ``Event`` only for a record that the full parser
(:meth:`Parser._parse <journeyflow.stages.parse.Parser._parse>`) keeps *without a field warning*, and then the very
same ``Event``; for anything else -- a record the typed decoder refuses (bad JSON, a wrong type, a missing required
field, an unknown enum symbol, a non-finite or out-of-range number, a lone surrogate), an optional field that would be
dropped or replaced, an unusable identifier, an event time out of range or in a form the fast time reader does not
take -- it returns ``None`` and the caller runs the full parser, so dead letters and field warnings are the full
parser's own.  Only the built-in streams whose schema shapes map exactly onto ``msgspec`` types are fast-pathed
(:func:`struct_for`); the Segment ``track`` stream always takes the full path.  The agreement is a property test
(``tests/stages/test_parse_fast.py``).

Types: :mod:`journeyflow.stages.parse_types` (the Avro -> msgspec mapping).
"""
from __future__ import annotations

import dataclasses
import functools
import operator
import re
from typing import TYPE_CHECKING, Any, Callable

import msgspec
from msgspec.structs import astuple

from journeyflow.model.events import BUILTIN_STREAMS, EVENT_TYPES, Event
from journeyflow.stages import fields as _fields
from journeyflow.stages.crm_opt_outs import names_crm_flag
from journeyflow.stages.duplicate_keys import DECISIVE_KEYS, escaped_keys, key_count
from journeyflow.stages.identity.keys import MAX_ID_CHARS, InvalidIdentifier, event_id_text, is_placeholder
from journeyflow.stages.identity.plain_ids import plain_first
from journeyflow.stages.object_ids import object_id
from journeyflow.stages.parse_types import Unsupported, field_decoder, struct_for
from journeyflow.stages.pii import pseudonymize
from journeyflow.stages.spellings import ID_MAILBOXES, add_id_mailbox, also_named, plus_bases
from journeyflow.stages.timeparse import fast_iso_ms, fast_iso_reader, parse_ts

if TYPE_CHECKING:
    from journeyflow.stages.parse import Parser

__all__ = ["FastPath", "cannot_hold_pii", "fast_iso_ms", "field_decoder", "make_event", "struct_for"]

_CACHE = 1 << 16  #: bounded caches (entries): identifier keys, pseudonymized strings, date-hours, web properties
#: id combinations kept per stream (~550 B each; 65,536 a stream: 216 MB at 100,000 customers, issue 22's flat memory)
_IDS_CACHE = 1 << 13
_UNSEEN = object()  # a cache miss (None is a cached answer)
#: the quoted decisive keys of the opt-out streams (stages.duplicate_keys), then a backslash (a key written with
#: escapes needs one: a record without any is searched for no escaped key), as text and as bytes
_TWICE_TEXT = {s: (*(f'"{k}"' for k in DECISIVE_KEYS[s]), "\\") for s in ("consent", "engagement")}
_TWICE = {s: tuple(k.encode() for k in keys) for s, keys in _TWICE_TEXT.items()}
_OPT_OUTS = frozenset({"consent_revoked", "unsubscribed", "complained", "bounced"})


def may_repeat_escaped(raw: str | bytes, keys: tuple[str, ...]) -> bool:
    """True when ``raw`` writes one of ``keys`` more than once counting spellings with escapes (``"\\u0073tatus"``;
    ``stages.duplicate_keys.key_count``); False at the cost of one scan for a record without ``\\u``."""
    escaped = escaped_keys(raw)
    return bool(escaped) and any(key_count(raw, k, escaped) > 1 for k in keys)



# Texts no pattern of stages.pii can match, as one linear-time full match: an ASCII word starting with a letter or
# "_" (every digit follows a word character: no phone candidate can start there, and a formatted number needs a
# separator), an ASCII text without @ + % & \\ [ ( { and with at most 6 digits, or letters, "-" and at most 16 digits
# starting with "000" (ORD-00000314: its one candidate, "000…", is never a phone: pii._is_phone); ids: or one UUID.
_PLAIN = r"[^0-9@+%&\\\[({\x80-\U0010FFFF]"
_WORD_OR_FEW_DIGITS = rf"[A-Za-z_][A-Za-z0-9_]*|{_PLAIN}*(?:[0-9]{_PLAIN}*){{0,6}}|[A-Za-z]+-000[0-9]{{0,13}}"
_SAFE = re.compile(_WORD_OR_FEW_DIGITS)
_SAFE_ID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|"
                      + _WORD_OR_FEW_DIGITS)


_SAFE_ID_MATCH = _SAFE_ID.fullmatch
# the usual event id (``web-000001``): a sub-language of _SAFE_ID (ASCII, no @ + % & \\ [ ( {, at most 6 digits),
# matched first because it is matched faster
_EVENT_ID_MATCH = re.compile(r"[a-z]+-[0-9]{1,6}").fullmatch


def cannot_hold_pii(text: str, keep_uuids: bool = False) -> bool:
    """True when no pattern of :mod:`journeyflow.stages.pii` can match ``text``, so that ``mask_pii`` (and, with
    ``keep_uuids``, ``pseudonymize`` and ``contains_pii(keep_uuids=True)``) leave it as it is: an ASCII word
    starting with a letter (``C57274206``), an ASCII text without ``@ + % & \\ [ ( {`` and with at most 6 digits
    (``web-000001``: every pattern needs an ``@``, a ``+``, 7 digits or an encoded spelling starting with one of
    those characters or a non-ASCII one), letters, ``-`` and at most 16 digits starting with ``000``
    (``ORD-00000314``), or with ``keep_uuids`` exactly one UUID.  One regular-expression full
    match; the property test checks it against ``pii``."""
    return (_SAFE_ID if keep_uuids else _SAFE).fullmatch(text) is not None


def _memo(fn: Callable[[str], str], size: int = _CACHE) -> Callable[[str], str]:
    """``fn`` (a pure function of a text, never None) with its results remembered: at most ``size`` texts, the
    oldest forgotten first.  A hit is one dictionary look-up (``functools.lru_cache`` also moves the entry in its
    recency list and is called with an argument tuple: ~3x the cost)."""
    memo: dict[str, str] = {}  # (made here: compiled, its look-ups are direct dict calls)

    def cached(text: str) -> str:
        got = memo.get(text)
        if got is None:
            if len(memo) >= size:
                del memo[next(iter(memo))]
            got = memo[text] = fn(text)
        return got
    return cached


_EVENT_FIELDS = ("uid", "stream", "type", "ts", "ids", "attrs", "contact")


def _event_maker() -> Any:
    """A function ``(uid, stream, type, ts, ids, attrs, contact) -> Event`` equal to the constructor: for the frozen
    slots dataclass ``Event`` (no ``__post_init__``) it fills an instance of a plain class with the same slots
    (ordinary attribute stores, ~3x cheaper than the slots' ``__set__`` or ``object.__setattr__`` calls) and makes it
    an ``Event`` (``__class__`` assignment: one layout); the constructor should ``Event`` change or refuse that."""
    if (tuple(f.name for f in dataclasses.fields(Event)) != _EVENT_FIELDS or hasattr(Event, "__post_init__")
            or getattr(Event, "__slots__", None) != _EVENT_FIELDS):
        return Event
    blank = type("_BlankEvent", (), {"__slots__": _EVENT_FIELDS})

    def make(uid: str, stream: str, type_: str, ts: int, ids: tuple[str, ...], attrs: dict, contact: dict) -> Event:
        """``Event(uid, stream, type_, ts, ids, attrs, contact)``, its slots filled directly."""
        ev = blank()
        ev.uid, ev.stream, ev.type, ev.ts, ev.ids, ev.attrs, ev.contact = uid, stream, type_, ts, ids, attrs, contact
        ev.__class__ = Event
        return ev
    try:
        probe = make("s/e", "s", "t", 0, (), {}, {})
    except TypeError:  # (a layout Python does not deem the same: the constructor)
        return Event
    return make if probe == Event("s/e", "s", "t", 0, (), {}, {}) else Event


make_event = _event_maker()


class FastPath:
    """Per-:class:`Parser` fast path (its own caches, bounded: 65,536 entries, 8,192 id combinations a stream)."""

    def __init__(self, parser: Parser):
        self._parser = parser
        cfg = parser.config
        self._max_bytes, self._min_ts, self._max_ts, self._max_ahead = (cfg.max_bytes, cfg.min_ts, cfg.max_ts,
                                                                        cfg.max_ahead_ms)
        self._decoders: dict[str, Any] = {}
        self._lenient: dict[str, Any] = {}  # the same types, unknown fields skipped (see parse)
        self._iso_ms = fast_iso_reader()  # event times: each distinct date-hour and offset read once
        self._raw_fields: dict[str, frozenset[str]] = {}  # per stream, the fields decoded as msgspec.Raw
        self._at: dict[str, dict[str, int]] = {}  # per stream, each field's position in the record's tuple
        for stream in BUILTIN_STREAMS:
            try:
                raw = frozenset({"properties"}) if stream in ("web", "orders") else frozenset()
                self._raw_fields[stream] = raw
                struct = struct_for(stream, parser._schemas[stream], raw)
                self._decoders[stream] = msgspec.json.Decoder(struct).decode
                self._lenient[stream] = msgspec.json.Decoder(
                    struct_for(stream, parser._schemas[stream], raw, forbid_unknown_fields=False)).decode
            except Unsupported:
                continue
            # a decoded record is read as one tuple of its fields (msgspec.structs.astuple, in C), by position:
            # event_id and ts first, the identifier fields next to each other (read as one slice)
            at = {name: i for i, name in enumerate(struct.__struct_fields__)}
            id_at = sorted(at[f] for f in _fields.IDENTIFIER_FIELDS[stream])
            if at["event_id"] != 0 or at["ts"] != 1 or id_at != list(range(id_at[0], id_at[-1] + 1)):
                del self._decoders[stream], self._lenient[stream]  # (another layout: the full path)
                continue
            self._at[stream] = at
        if "web" in self._decoders:
            self._decode_properties = field_decoder(parser._schemas["web"], "properties").decode
        # optional fields whose check the decoder's types do not already make (ranges, time zones, enums)
        typed = {_fields._string, _fields._string_list, _fields._scalar_map}
        self._checks = {s: tuple((f, c) for f, c in _fields.OPTIONAL_FIELDS[s].items() if c not in typed)
                        for s in self._decoders}
        self._types = {s: frozenset(EVENT_TYPES[s]) for s in self._decoders}
        self._ids = {s: tuple((f, f in _fields.REQUIRED_FIELDS[s]) for f in _fields.IDENTIFIER_FIELDS[s])
                     for s in self._decoders}
        # the identifier values of a record, as one tuple (attrgetter of two or more names returns a tuple)
        # a record's identifier values: the slice of its field tuple (schema order), and where each field of
        # self._ids (IDENTIFIER_FIELDS order) is in that slice
        self._id_slice = {s: (min(self._at[s][f] for f, _r in ids), max(self._at[s][f] for f, _r in ids) + 1)
                          for s, ids in self._ids.items()}
        order = {s: tuple(self._at[s][f] - self._id_slice[s][0] for f, _r in ids) for s, ids in self._ids.items()}
        self._id_order = {s: None if o == tuple(range(len(o))) else operator.itemgetter(*o) for s, o in order.items()}
        # a customer's records repeat one combination of identifier values: one look-up for all of them (each
        # stream's dict made by _stream_parser)
        self._ids_by_values: dict[str, dict[tuple, Any]] = {}
        self._key = functools.lru_cache(maxsize=_CACHE)(plain_first(self._key_uncached))  # (identity.plain_ids)
        self._pseudo = functools.lru_cache(maxsize=_CACHE)(self._pseudo_uncached)
        # kept attribute strings recur (SKUs, channels, currencies): one cache look-up each
        self._clean_value = _memo(self.clean)
        # order, ticket and product ids: their one spelling (stages.object_ids), cleaned; one cache look-up each
        self._clean_id = _memo(lambda text: self.clean(object_id(text)))
        #: :meth:`clean` through that cache (the Segment parser's property and trait values)
        self.clean_cached = self._clean_value
        self._properties: dict[bytes, Any] = {}  # raw JSON of web properties -> their cleaned map (_attrs_web_reader's)
        readers = {"web": self._attrs_web_reader, "orders": self._attrs_orders, "support": self._attrs_support,
                   "crm": self._attrs_crm, "engagement": self._attrs_engagement, "consent": self._attrs_consent}
        attrs = {s: readers[s](self._at[s]) for s in self._decoders}
        # per stream, what parse() needs, in one look-up: decode, event types (None: consent's status), optional
        # checks, identifier values' slice, attributes
        self._plans = {s: (self._decoders[s], None if s == "consent" else self._types[s], self._checks[s],
                           self._id_slice[s], attrs[s]) for s in self._decoders}
        #: per stream, :meth:`parse` of its records (:meth:`_stream_parser`)
        self.parsers = {s: self._stream_parser(s) for s in self._decoders}

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
        return text if _SAFE_ID_MATCH(text) is not None else self._pseudo(text)

    # ------------------------------------------------------------------ parse
    def parse(self, stream: str, raw: bytes | str, received_at: int | None) -> Event | None:
        """The Event of a record the full parser keeps without a warning, else None (then run the full parser).
        ``stream`` must be one of :meth:`streams`."""
        return self.parsers[stream](raw, received_at)

    def _stream_parser(self, stream: str) -> Callable[[bytes | str, int | None], Event | None]:
        """:meth:`parse` of one stream: ``(raw, received_at) -> Event | None``, everything it looks up per record
        bound once (closure variables instead of attribute and dictionary look-ups)."""
        decode, types, checks, (id_lo, id_hi), attrs = self._plans[stream]
        ids_cache: dict[tuple, Any] = {}  # (made here: compiled, its look-ups are direct dict calls)
        self._ids_by_values[stream] = ids_cache
        at = self._at[stream]
        type_at = at["status" if types is None else "type"]
        checks = tuple((at[name], check) for name, check in checks)
        lenient = self._lenient[stream]
        max_bytes, min_ts, max_ts, max_ahead = self._max_bytes, self._min_ts, self._max_ts, self._max_ahead
        iso_ms, ids_uncached, pseudo = self._iso_ms, self._ids_uncached, self._pseudo
        twice_bytes, twice_text = _TWICE.get(stream), _TWICE_TEXT.get(stream)
        keys_twice, flags = DECISIVE_KEYS.get(stream, ()), names_crm_flag if stream == "crm" else None
        blank_null = tuple(at[f] for f, c in _fields.OPTIONAL_FIELDS[stream].items()  # (a field kept raw is no text)
                           if f not in _fields.IDENTIFIER_FIELDS[stream] and (f, c) not in self._checks[stream]
                           and f not in self._raw_fields[stream])
        prefix, dash, digits = stream + "/", stream + "-" if re.fullmatch("[a-z]+", stream) else "0", "0123456789"
        dash_len = len(dash)  # (dash "0": no strip of digits ends in one)
        validation_error, decode_error = msgspec.ValidationError, msgspec.DecodeError
        event_id_match, safe_id_match = _EVENT_ID_MATCH, _SAFE_ID_MATCH
        make, max_id, opt_outs, parser, id_mailboxes = make_event, MAX_ID_CHARS, _OPT_OUTS, self._parser, ID_MAILBOXES
        fields_of = astuple

        def parse(raw: bytes | str, received_at: int | None) -> Event | None:
            if len(raw) > max_bytes:
                return None
            if not raw.isascii() and isinstance(raw, bytes):  # (text: decoded as it is)
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return None
            # no nesting-depth check (parse.MAX_JSON_DEPTH) for a record the typed decoder takes: without unknown
            # fields (web properties a map of scalars) it is at most three deep; a deeper one fails to decode
            # (RecursionError beyond msgspec's own limit) and the full parser says what it is.  A record with
            # unknown fields is decoded again, skipping them, if it has at most 32 brackets (else they might nest
            # too deep)
            try:
                rec = decode(raw)
            except validation_error as e:
                if not str(e).startswith("Object contains unknown field") or (
                        raw.count(b"{") + raw.count(b"[") if isinstance(raw, bytes)
                        else raw.count("{") + raw.count("[")) > 32 or (flags is not None and flags(raw)):
                    return None  # (a crm field that may flag a deletion or an opt-out: crm_opt_outs)
                try:
                    rec = lenient(raw)
                except (decode_error, UnicodeError, RecursionError):
                    return None
            except (decode_error, UnicodeError, RecursionError):
                return None
            vals = fields_of(rec)  # (the fields in the schema's order: event_id, ts, ...)
            eid, et, etype = vals[0], vals[1], vals[type_at]
            # event time
            if type(et) is not int:  # (type(): one pointer compare when compiled; __class__ is an attribute look-up)
                ts = et
                et = iso_ms(ts)
                if et is None:
                    try:
                        et = parse_ts(ts)
                    except (ValueError, OverflowError):
                        return None
            if not min_ts <= et <= max_ts or (
                    max_ahead is not None and received_at is not None and et > received_at + max_ahead):
                return None
            # type
            if types is None:  # consent (etype: its status)
                etype = "consent_" + etype
            elif etype not in types:
                return None
            if twice_bytes is not None:
                twice = twice_bytes if type(raw) is bytes else twice_text
                if raw.count(twice[0]) > 1 or (etype in opt_outs and raw.count(twice[1]) > 1) or (
                        raw.find(twice[2]) >= 0 and may_repeat_escaped(raw, keys_twice)):  # ("\u0073tatus": no "\")
                    # (find, not "in": bytes.__contains__ first tries its operand as an int, raising and clearing
                    # a TypeError for every bytes operand)
                    # an opt-out's decisive key written twice: read fail safe (stages.duplicate_keys); a repeated
                    # channel matters to an opt-out only (one count for the common record)
                    return None
            for i, check in checks:
                v = vals[i]
                if v is not None and check(v) is not None:
                    return None
            for i in blank_null:  # an empty optional field is a null: the full path drops it (fields.check_optional)
                v = vals[i]
                if type(v) is str and not v.strip():
                    return None
            # identifiers
            values = vals[id_lo:id_hi]
            got = ids_cache.get(values, _UNSEEN)
            if got is _UNSEEN:
                got = ids_uncached(stream, values)
                for v in values:  # (refused ones, too long: not kept)
                    if type(v) is str and len(v) > max_id:
                        break
                else:
                    if len(ids_cache) >= _IDS_CACHE:
                        del ids_cache[next(iter(ids_cache))]
                    ids_cache[values] = got
            if got is None:
                return None
            a = attrs(vals)
            if a is None:
                return None
            # the usual id ("<stream>-" and 1-6 ASCII digits, a sub-language of _EVENT_ID_MATCH's) told by one strip
            if (eid.rstrip(digits) != dash or not 0 < len(eid) - dash_len <= 6) and (
                    event_id_match(eid) is None or len(eid) > max_id):
                if not eid.isascii() or eid[:1].isspace() or eid[-1:].isspace():
                    eid = event_id_text(eid)  # one spelling of the de-duplication key (invisible chars, padding)
                if not eid or len(eid) > max_id or is_placeholder(eid):
                    return None  # an empty id: the full parser's dead letter; a long or placeholder one: its stand-in
                if safe_id_match(eid) is None:
                    eid = pseudo(eid)
            contact = got[1].copy() if got[1] else {}  # (an opt-out's other addresses: spellings.also_named)
            if etype in opt_outs:
                contact = also_named(got[0], contact, etype, plus_bases(parser.hasher, [contact.get("email")]))
            elif id_mailboxes in contact:  # (an id that is a tagged address: the note is no part of the contact)
                contact = also_named(got[0], contact, etype)
            return make(prefix + eid, stream, etype, et, got[0], a, contact)
        return parse

    def _ids_uncached(self, stream: str, values: tuple[str | None, ...]) -> tuple[tuple[str, ...], dict] | None:
        """The keys and contact of a record's identifier values ``values`` (schema order: the fields' slice)."""
        order = self._id_order[stream]
        if order is not None:
            values = order(values)  # (in IDENTIFIER_FIELDS order)
        key = self._key
        if stream == "consent":
            present = [(f, v) for (f, _req), v in zip(self._ids[stream], values) if v]
            if len(present) != 1:
                return None
            got = key(*present[0]) if len(present[0][1]) <= MAX_ID_CHARS else self._key_uncached(*present[0])
            if got is None:
                return None
            return (got[0],), dict(got[1])
        keys = []
        contact: dict[str, str] = {}
        for (f, required), v in zip(self._ids[stream], values):
            if not required and (v is None or v == ""):
                continue
            got = key(f, v) if type(v) is not str or len(v) <= MAX_ID_CHARS else self._key_uncached(f, v)
            if got is None:
                return None  # dropped with a warning, a dead letter, or an empty key: the full path says which
            keys.append(got[0])
            for name, value in got[1]:
                if name == ID_MAILBOXES:  # (two ids that are tagged addresses: both mailboxes)
                    add_id_mailbox(contact, value.split())
                else:
                    contact[name] = value
        if not keys:
            return None
        return tuple(sorted(set(keys))), contact

    # the same attributes, in the same order, as Parser._attrs (None values left out, strings cleaned); None when
    # a field kept raw does not decode (the full parser then says what happens).  Each reader is made for a stream's
    # field positions ``at`` and reads a record's field tuple.
    def _attrs_web_reader(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any] | None]:
        """The web attributes of a record's fields (``product_id``, ``properties``: their raw JSON read once,
        cached, each Event given its own copy), its caches bound once."""
        clean_id, uncached = self._clean_id, self._properties_uncached
        cache: dict[bytes, Any] = {}  # (made here: compiled, its look-ups are direct dict calls)
        self._properties = cache
        product_id_at, properties_at = at["product_id"], at["properties"]

        def attrs(vals: tuple) -> dict[str, Any] | None:
            product_id, raw = vals[product_id_at], vals[properties_at]
            a: dict[str, Any] = {} if product_id is None else {"product_id": clean_id(product_id)}
            if raw is not None:
                text = bytes(raw)
                props = cache.get(text, _UNSEEN)
                if props is _UNSEEN:
                    if len(cache) >= _CACHE:
                        del cache[next(iter(cache))]
                    props = cache[text] = uncached(text)
                if props is False:
                    return None
                if props:
                    a["properties"] = props.copy()
            return a
        return attrs

    def _properties_uncached(self, text: bytes) -> dict[str, Any] | None | bool:
        """The cleaned web ``properties`` of their raw JSON (None or empty: none kept), False when they do not
        decode as web.avsc types them."""
        try:
            props = self._decode_properties(text)
        except (msgspec.DecodeError, UnicodeError):
            return False
        if not props:
            return None
        c = self._clean_value
        return {c(k): _fields.clean_scalar(c, k, v) for k, v in props.items()}  # keys: an address in one too

    def _attrs_orders(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any] | None]:
        c, ci = self._clean_value, self._clean_id
        fields = operator.itemgetter(at["order_id"], at["product_ids"], at["properties"], at["amount"], at["currency"])

        def attrs(vals: tuple) -> dict[str, Any] | None:
            order_id, product_ids, properties, amount, currency = fields(vals)
            a = {"order_id": ci(order_id), "product_ids": [ci(x) for x in product_ids] if product_ids else []}
            if not a["order_id"] or "" in a["product_ids"] or properties is not None and bytes(properties) != b"{}":
                return None  # an id empty in its one spelling, or the order's own properties (rare): the full path
            if amount is not None:
                a["amount"] = amount
            if currency is not None:
                a["currency"] = c(currency)
            return a
        return attrs

    def _attrs_support(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any] | None]:
        c, ci = self._clean_value, self._clean_id
        fields = operator.itemgetter(at["ticket_id"], at["severity"], at["csat"])

        def attrs(vals: tuple) -> dict[str, Any] | None:
            ticket_id, severity, csat = fields(vals)
            a = {"ticket_id": ci(ticket_id)}
            if not a["ticket_id"]:
                return None
            if severity is not None:
                a["severity"] = c(severity)
            if csat is not None:
                a["csat"] = csat
            return a
        return attrs

    def _attrs_crm(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any]]:
        c = self._clean_value
        named_at = tuple((name, at[name]) for name in ("lifecycle_stage", "timezone", "owner_id"))

        def attrs(vals: tuple) -> dict[str, Any]:
            a: dict[str, Any] = {}
            for name, i in named_at:
                v = vals[i]
                if v is not None:
                    a[name] = c(v)
            return a
        return attrs

    def _attrs_engagement(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any]]:
        c = self._clean_value
        channel_at, decision_id_at = at["channel"], at["decision_id"]
        type_at, bounce_type_at = at["type"], at["bounce_type"]

        def attrs(vals: tuple) -> dict[str, Any]:
            a = {"channel": c(vals[channel_at])}
            decision_id = vals[decision_id_at]
            if decision_id is not None:
                a["decision_id"] = c(decision_id)
            if vals[type_at] == "bounced" and vals[bounce_type_at] is not None:
                a["bounce_type"] = c(vals[bounce_type_at])
            return a
        return attrs

    def _attrs_consent(self, at: dict[str, int]) -> Callable[[tuple], dict[str, Any]]:
        c = self._clean_value
        fields = operator.itemgetter(at["channel"], at["status"])

        def attrs(vals: tuple) -> dict[str, Any]:
            channel, status = fields(vals)
            return {"channel": c(channel), "status": c(status)}
        return attrs
