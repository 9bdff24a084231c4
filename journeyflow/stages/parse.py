"""Parse and validate raw input records into ``Event``s, or ``DeadLetter``s with a precise reason.

Pure Python (no Beam).  Checks run in a fixed order and the first failure decides the reason: the parse
members of :class:`journeyflow.model.reasons.DeadLetterReason`, listed (with their meaning) in check order there.

Optional fields (:mod:`journeyflow.stages.fields` lists, per stream, which fields are required and which optional)
never dead-letter a record: a bad optional field or identifier is dropped (a Windows time zone name is replaced by
its IANA zone), the record is kept, and :meth:`Parser.parse_full` returns a
:class:`~journeyflow.model.field_warnings.FieldWarning` for it (stream, event id, field, reason, masked value), which
the pipelines write to the ``field-warnings`` topic and table.

Event times are parsed exactly (:mod:`journeyflow.stages.timeparse`: integer arithmetic, every ISO-8601 form).  The
accepted range is ``ParseConfig.min_ts .. max_ts`` (default 2000-01-01 .. 2100-01-01) and, when
``ParseConfig.max_ahead_ms`` is set and the caller passes the record's arrival time, at most that far ahead of it.

Records of the built-in streams first try :mod:`journeyflow.stages.parse_fast` (typed ``msgspec`` decoders from
``schemas/*.avsc``): it answers only for a record kept without a field warning, with the Event the checks below
would give; every other record (and every dead letter) comes from the checks below.

Declared types (an attributes file, ``ParseConfig.declared_types``) are enforced on the parsed event
(:mod:`journeyflow.stages.declared_types`); a property or trait declared ``timestamp`` given as an ISO-8601 string
(the Segment Spec's way of writing dates: ``createdAt``) is first read as its epoch ms (:func:`epoch_ms_values`).

The raw payload kept in a dead letter is truncated and has anything that looks like an email address or a phone
number masked, so dead letters can be stored in analyst tables without leaking PII.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

import fastavro

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import (BUILTIN_STREAMS, ENGAGEMENT_STATUS_TYPES, EVENT_TYPES, SEGMENT_STREAM, STREAMS,
                                      Event)
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.stages import fields as _fields
from journeyflow.stages.bounce_words import BOUNCE_KIND  # (a bounce hard/soft cannot say: the sender's fault)
from journeyflow.stages.crm_opt_outs import crm_opt_out, opt_out_event
from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, anon_key, bounded_event_id, crm_key, event_id_text
from journeyflow.stages.identity.plain_ids import plain_key
from journeyflow.stages.declared_times import _declared_times, _timestamp_names, epoch_ms_values  # noqa: F401
from journeyflow.stages.duplicate_keys import fail_safe_values, may_repeat
from journeyflow.stages.json_text import json_depth as _json_depth, loads_json
from journeyflow.stages.object_ids import object_ids
from journeyflow.stages.parse_fast import FastPath, cannot_hold_pii
from journeyflow.stages.pii import contains_pii, decode as pii_decode, mask_pii, mask_record, pseudonymize
from journeyflow.stages.spellings import BAD_FIELD, also_named, note_id_mailbox, several_addresses
from journeyflow.stages.timeparse import parse_event_ts, parse_ts

if TYPE_CHECKING:
    from journeyflow.stages.declared_types import DeclaredTypes

__all__ = ["DEFAULT_MAX_TS", "DEFAULT_MIN_TS", "MAX_JSON_DEPTH", "MAX_PAYLOAD_IN_DEAD_LETTER", "Invalid",
           "ParseConfig", "ParseResult", "Parser", "avro_schema", "epoch_ms_values", "loads_json", "mask_pii",
           "parse_ts"]

MAX_PAYLOAD_IN_DEAD_LETTER = 64 * 1024
MAX_JSON_DEPTH = 32

# Defaults for absurd-time detection: 2000-01-01 .. 2100-01-01 (UTC).
DEFAULT_MIN_TS, DEFAULT_MAX_TS = 946_684_800_000, 4_102_444_800_000
# Event times a dead letter can carry: the TIMESTAMP range of its table (BigQuery's, 0001-01-01 .. 9999-12-31 UTC,
# also the range of Python's datetime used for the date partition).  A record's absurd ``ts`` outside it stays in
# the payload and the detail; its ``event_time`` is left empty.
_MIN_TABLE_TS, _MAX_TABLE_TS = -62_135_596_800_000, 253_402_300_799_999
_MIN_LONG, _MAX_LONG = -(1 << 63), (1 << 63) - 1
_OPT_OUTS = frozenset({"consent_revoked"} | ENGAGEMENT_STATUS_TYPES)  # event types that block an address


@lru_cache(maxsize=None)
def avro_schema(name: str) -> dict:
    """Parsed Avro schema ``schemas/<name>.avsc`` (shipped as package data)."""
    text = resources.files("journeyflow.schemas").joinpath(f"{name}.avsc").read_text()
    return fastavro.parse_schema(json.loads(text))


class Invalid(Exception):
    """A record that fails a check: its :class:`DeadLetterReason`, a detail, and its event time if known (ms)."""

    def __init__(self, reason: DeadLetterReason, detail: str, event_time: int | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.event_time = reason, detail, event_time


@dataclass(frozen=True)
class ParseConfig:
    """Parser settings.

    ``default_region``: phone region (ISO 3166 code) for numbers written without ``+CC``.  ``min_ts`` / ``max_ts``:
    accepted event times, epoch ms (the pipelines lower ``max_ts`` with ``--max_event_time``).  ``max_bytes``: the
    largest raw record.  ``max_ahead_ms``: when set, an event time more than this far ahead of the record's arrival
    time (``received_at`` given to :meth:`Parser.parse_full`) is out of range too (streaming: relative to the
    Pub/Sub publish time).  ``merge_plus_addresses``: hash ``ann+tag@x.com`` as ``ann@x.com`` (off: plus-addresses
    stay distinct).  ``segment_mapping`` / ``segment_mapping_source``: the text (and file name) of the Segment
    event mapping of the ``track`` stream (None: the packaged default; :mod:`journeyflow.stages.segment.mapping`).
    ``declared_types``: the property and trait types an attributes file declares, enforced on the values
    (:mod:`journeyflow.stages.declared_types`; None: nothing declared)."""

    default_region: str = "US"
    min_ts: int = DEFAULT_MIN_TS
    max_ts: int = DEFAULT_MAX_TS
    max_bytes: int = 1 << 20
    max_ahead_ms: int | None = None
    merge_plus_addresses: bool = False
    segment_mapping: str | None = None
    segment_mapping_source: str = "<default segment_mapping.yaml>"
    declared_types: "DeclaredTypes | None" = None


class ParseResult(NamedTuple):
    """What :meth:`Parser.parse_full` returns: the Event (or DeadLetter) and the field warnings of a kept record
    (always empty for a dead letter: the whole record is in it)."""

    result: Event | DeadLetter
    warnings: tuple[FieldWarning, ...] = ()


_result = tuple.__new__  # ParseResult(ev) without the generated __new__'s defaults handling

#: (field, reason, action, detail, masked value) of one dropped or replaced field, before the record is known good.
_Problem = tuple[str, FieldWarningReason, str, str, "str | None"]


class Parser:
    """Turns raw records of a stream into Events.  One instance per worker (holds caches)."""

    def __init__(self, hasher: Hasher, config: ParseConfig = ParseConfig()):
        self.hasher = hasher
        self.config = config
        self._schemas = {s: avro_schema(s) for s in BUILTIN_STREAMS}
        self._containers = {s: _fields.container_fields(self._schemas[s]) for s in BUILTIN_STREAMS}
        self._enums = {s: _fields.enum_symbols(self._schemas[s]) for s in BUILTIN_STREAMS}
        self._buf = io.BytesIO()
        self._segment = None  # stages.segment.parse.SegmentParser, built on the first track record
        self._init_fast()

    def _init_fast(self) -> None:
        # typed decoders + caches for records kept without a warning; anything else takes the full path below
        self._fast = FastPath(self)
        self._fast_streams = self._fast.streams()
        # per stream whose fast-path Event is the whole result (no declared types to check on it), its fast parse
        self._fast_direct = dict(self._fast.parsers) if self.config.declared_types is None else {}

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (handed to Beam DoFns): the fast path's decoders and caches are rebuilt, empty, on load."""
        state = dict(self.__dict__)
        del state["_fast"], state["_fast_streams"], state["_fast_direct"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restores a pickled Parser (see ``__getstate__``)."""
        self.__dict__.update(state)
        self._init_fast()

    # ------------------------------------------------------------------ API
    def parse(self, stream: str, raw: bytes | str | Mapping[str, Any], source: str = "",
              received_at: int | None = None) -> Event | DeadLetter:
        """One raw record of ``stream`` → its Event, or a DeadLetter with its reason (field warnings discarded: use
        :meth:`parse_full` wherever they must be written).  Never raises for bad input."""
        fast = self._fast_direct.get(stream)
        if fast is not None and (raw.__class__ is bytes or raw.__class__ is str):
            try:
                ev = fast(raw, received_at)
            except Exception:  # noqa: BLE001 -- the guarded path runs it again and reports the fault
                return self._guarded(stream, raw, source, received_at, False)[0]
            return ev if ev is not None else self._guarded(stream, raw, source, received_at, True)[0]
        return self._guarded(stream, raw, source, received_at, False)[0]

    def parse_full(self, stream: str, raw: bytes | str | Mapping[str, Any], source: str = "",
                   received_at: int | None = None) -> ParseResult:
        """Parse one raw record of ``stream`` (bytes or text of a JSON object, or an Avro-decoded dict) read at
        ``source`` (``path:line``, ``pubsub:<id>``).

        ``received_at`` (epoch ms, optional): when the record arrived, for ``ParseConfig.max_ahead_ms``.
        Returns a :class:`ParseResult`; never raises for bad input.  Required fields and identifiers decide between
        Event and DeadLetter (the reason of the first failed check); bad optional fields become ``FieldWarning`` s
        of the Event.  Should a check itself fail on some record (a fault of journeyflow's, never expected), that
        record is a ``processing_error`` dead letter naming the exception's type: one poison record must not fail
        its whole bundle (streaming retries a failed bundle for ever)."""
        fast_tried = False
        fast = self._fast_direct.get(stream)
        if fast is not None and (raw.__class__ is bytes or raw.__class__ is str):
            # the common record: the fast path's Event is the whole result (no declared types to check, no warning)
            try:
                ev = fast(raw, received_at)
            except Exception:  # noqa: BLE001 -- the guarded path below runs it again and reports the fault
                ev = None
            else:
                if ev is not None:
                    return _result(ParseResult, (ev, ()))
                fast_tried = True
        return self._guarded(stream, raw, source, received_at, fast_tried)

    def _guarded(self, stream: str, raw: bytes | str | Mapping[str, Any], source: str, received_at: int | None,
                 fast_tried: bool) -> ParseResult:
        """The full checks (:meth:`_parse_full`); a fault of journeyflow's becomes a ``processing_error`` dead
        letter (see :meth:`parse_full`)."""
        try:
            return self._parse_full(stream, raw, source, received_at, fast_tried)
        except Exception as e:  # noqa: BLE001 -- the record, not the pipeline, fails (the detail names the fault)
            return ParseResult(self._dead(stream, raw, source, DeadLetterReason.PROCESSING_ERROR,
                                          f"parsing failed: {type(e).__name__} (a fault of journeyflow: report it)", None))

    def _parse_full(self, stream: str, raw: bytes | str | Mapping[str, Any], source: str,
                    received_at: int | None, fast_tried: bool = False) -> ParseResult:
        ev = None
        if not fast_tried and stream in self._fast_streams and isinstance(raw, (bytes, str)):
            ev = self._fast.parse(stream, raw, received_at)
        if ev is not None:
            problems: list[_Problem] = []
        else:
            try:  # (the JSON object _parse loads, which it never changes: the dead letter's payload needs no new one)
                ev, problems = self._parse(stream, raw, received_at, loaded := [])
            except Invalid as e:
                return ParseResult(self._dead(stream, raw, source, e.reason, e.detail, e.event_time, None, loaded))
        if self.config.declared_types is not None:
            ev = self.config.declared_types.check(_declared_times(self.config.declared_types, ev), problems)
        if not problems:
            return ParseResult(ev)
        event_id = ev.uid.split("/", 1)[1]
        return ParseResult(ev, tuple(
            FieldWarning(stream=stream, event_id=event_id, field=f, reason=reason, action=action,
                         detail=mask_pii(detail)[:500], value=value, source=source, event_time=ev.ts)
            for f, reason, action, detail, value in problems))

    def dead_letter(self, stream: str, raw: Any, source: str, reason: DeadLetterReason, detail: str,
                    event_time: int | None = None, attributes: Mapping[str, str] | None = None) -> DeadLetter:
        """The DeadLetter of a record that a check outside the parser refused (``journeyflow.stages.message_attributes``):
        the same payload handling as the parser's own (truncated to :data:`MAX_PAYLOAD_IN_DEAD_LETTER`, identifier
        fields and anything that looks like an email or phone masked), ``attributes`` kept as given."""
        return self._dead(stream, raw, source, reason, detail, event_time, attributes)

    # ------------------------------------------------------------ internals
    def _dead(self, stream: str, raw: Any, source: str, reason: str, detail: str, et: int | None,
              attributes: Mapping[str, str] | None = None, loaded: list | None = None) -> DeadLetter:
        text = (raw[: MAX_PAYLOAD_IN_DEAD_LETTER * 2].decode("utf-8", errors="replace") if isinstance(raw, bytes)
                else raw if isinstance(raw, str) else None)
        if text is None or (len(text) <= MAX_PAYLOAD_IN_DEAD_LETTER and text.lstrip().startswith("{")):
            try:
                obj = raw if text is None else loaded[0] if loaded else loads_json(text)  # (loaded: see _parse)
                text = json.dumps(mask_record(obj), default=str, sort_keys=True)
            except (TypeError, ValueError, RecursionError):
                text = text if text is not None else repr(raw)
        if et is not None and not _MIN_TABLE_TS <= et <= _MAX_TABLE_TS:
            et = None
        return DeadLetter(stream=str(stream)[:64], reason=reason, detail=mask_pii(detail)[:1000],
                          payload=mask_pii(text[:MAX_PAYLOAD_IN_DEAD_LETTER]), source=source, event_time=et,
                          attributes=attributes)

    def _parse(self, stream: str, raw: bytes | str | Mapping[str, Any], received_at: int | None = None,
               loaded: list | None = None) -> tuple[Event, list[_Problem]]:
        size = None
        if isinstance(raw, (bytes, str)):
            # bytes of the record (a text of at most 8 Ki characters is under the Segment 32 KB limit anyway)
            size = len(raw) if isinstance(raw, bytes) or len(raw) <= 8192 else len(raw.encode("utf-8", "surrogatepass"))
            if len(raw) > self.config.max_bytes:
                raise Invalid(DeadLetterReason.PAYLOAD_TOO_LARGE, f"record is {len(raw)} bytes, limit {self.config.max_bytes}")
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise Invalid(DeadLetterReason.INVALID_UTF8, f"not UTF-8 at byte {e.start}") from None
            if raw.startswith("\ufeff"):
                # a UTF-8 byte order mark (Windows tools start files with one): no part of the JSON (RFC 8259 §8.1)
                raw = raw[1:]
            if raw.count("{") + raw.count("[") > MAX_JSON_DEPTH and _json_depth(raw) > MAX_JSON_DEPTH:
                # explicit limit: the parser's own recursion guard depends on the caller's stack depth,
                # which would make the same record's fate vary
                raise Invalid(DeadLetterReason.INVALID_JSON, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            try:
                rec = loads_json(raw)
            except RecursionError:
                raise Invalid(DeadLetterReason.INVALID_JSON, "JSON nested too deeply") from None
            except json.JSONDecodeError as e:
                raise Invalid(DeadLetterReason.INVALID_JSON, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
            if loaded is not None and size <= MAX_PAYLOAD_IN_DEAD_LETTER * 2:  # _dead's loads_json(raw): the same
                loaded.append(rec)  # object (raw is text or all decoded there), which nothing below changes
        else:
            rec = raw
        if not isinstance(rec, dict):
            got = "an empty array (a batch of no messages)" if rec == [] else type(rec).__name__
            raise Invalid(DeadLetterReason.NOT_AN_OBJECT, f"expected a JSON object, got {got}")
        if stream == SEGMENT_STREAM and self._segment is None:  # Segment-Spec messages: stages.segment.parse
            from journeyflow.stages.segment.parse import SegmentParser
            self._segment = SegmentParser(self)
        if isinstance(raw, str) and may_repeat(stream, raw, rec):  # an opt-out's key twice: stages.duplicate_keys
            rec = {**rec, **fail_safe_values(stream, raw, self._segment and self._segment.opt_out_event)}
        if stream == SEGMENT_STREAM:
            return self._segment.parse(rec, size, received_at)
        if stream not in self._schemas:
            raise Invalid(DeadLetterReason.UNKNOWN_STREAM, f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
        et = None
        ts_raw = rec.get("ts")
        ts_problem = ""
        if ts_raw is not None:
            try:
                et = parse_event_ts(ts_raw)  # (epoch s, ms, µs or ns: timeparse.epoch_ms)
            except (ValueError, OverflowError) as e:
                et, ts_problem = None, str(e)
        rec = _fields.integer_ids(_fields.fold_enums(rec, self._enums[stream], _fields.ENUM_SYNONYMS.get(stream)))
        if stream == "consent":
            status = rec.get("status")
            if status not in ("granted", "revoked"):
                raise Invalid(DeadLetterReason.UNKNOWN_TYPE, f"consent status {str(status)[:40]!r} is not granted/revoked", et)
            etype = "consent_" + status
        else:
            etype = rec.get("type")
            if etype not in EVENT_TYPES[stream]:
                raise Invalid(DeadLetterReason.UNKNOWN_TYPE, f"{stream} type {str(etype)[:40]!r} is not one of "
                              f"{', '.join(EVENT_TYPES[stream])}", et)
        opted = crm_opt_out(rec) if stream == "crm" else None  # a contact flagged opted out (stages.crm_opt_outs)
        if etype in _OPT_OUTS or opted is not None:
            rec = several_addresses(_fields.phone_digits(rec), self.hasher, self.config.default_region)  # fail safe
        if (scope := _fields.opt_out_scope(stream, rec)) is None:  # every channel / a phone's two: opt-outs only
            raise Invalid(DeadLetterReason.SCHEMA_VIOLATION, f"{stream} {etype}: no channel named; only an "
                          "opt-out may name every channel (all, absent)", et)
        rec = {**rec, "channel": _fields.SCOPE_CHECKED_AS[scope]} if scope else rec  # checked as one, applies to each
        # optional fields: a bad one is dropped (or replaced) and reported, the record goes on
        cleaned, checked = _fields.check_optional(stream, rec)
        problems: list[_Problem] = [*rec.get(BAD_FIELD, ()), *(  # (listed items of an opt-out that are no address)
            (f, v.reason, v.action, v.detail, _fields.warning_value(f, original)) for f, v, original in checked)]
        if cleaned is not None:
            rec = cleaned
        # required fields (the optional ones left are valid); a ts that is no time (a float, a boolean, an object)
        # is a bad_timestamp below, an integer beyond 64 bits out of range: not the schema's type error on ts
        # (a float read as a time -- epoch seconds with a fraction -- is checked as the time it is)
        schema_ts = ts_raw is None or isinstance(ts_raw, str) or (ts_raw.__class__ is int and _MIN_LONG <= ts_raw <= _MAX_LONG)
        self._validate(stream, rec if schema_ts else {**rec, "ts": et if et is not None and _MIN_LONG <= et <= _MAX_LONG
                                                       else 0}, et)
        if not (eid := event_id_text(rec["event_id"])):  # the de-duplication key: one spelling (keys.event_id_text)
            raise Invalid(DeadLetterReason.SCHEMA_VIOLATION, f"{stream}: event_id is empty", et)
        rec = object_ids(stream, rec)  # order, ticket, product ids: one spelling too
        if (empty := next((f for f in ("order_id", "ticket_id") if rec.get(f) == ""), None)) is not None:
            raise Invalid(DeadLetterReason.SCHEMA_VIOLATION, f"{stream}: {empty} is empty", et)
        if et is None:
            raise Invalid(DeadLetterReason.BAD_TIMESTAMP, f"ts {str(ts_raw)[:40]!r} is not ISO-8601 with offset nor "
                          "epoch ms" + (f" ({ts_problem[:120]})" if ts_problem else ""))
        self._check_range(et, ts_raw, received_at)
        ids, contact = self._identifiers(stream, rec, et, problems)
        attrs = {**self._attrs(stream, rec), "channel": scope} if scope else self._attrs(stream, rec)
        uid = f"{stream}/{self._clean(bounded_event_id(eid, rec, self.hasher.digest))}"
        if opted is not None:  # the engagement stream's opt-out of that scope, in the crm namespace, with its profile
            stream, etype, attrs = opt_out_event(etype, attrs, opted)  # (a contact_created: itself, and the opt-out)
        return Event(uid, stream, etype, et, ids, attrs, also_named(ids, contact, etype, rec)), problems

    def _check_range(self, et: int, ts_raw: Any, received_at: int | None) -> None:
        cfg = self.config
        if et < cfg.min_ts:
            raise Invalid(DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, f"ts {str(ts_raw)[:40]!r} is before the accepted "
                          f"range (min {cfg.min_ts} ms)", et)
        # the detail does not name a bound derived from the wall clock: the same record gives the same dead letter
        if et > cfg.max_ts:
            raise Invalid(DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, f"ts {str(ts_raw)[:40]!r} is after the latest "
                          "accepted event time (--max_event_time)", et)
        if cfg.max_ahead_ms is not None and received_at is not None and et > received_at + cfg.max_ahead_ms:
            raise Invalid(DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, f"ts {str(ts_raw)[:40]!r} is more than "
                          f"{cfg.max_ahead_ms} ms ahead of the record's arrival (--max_event_time)", et)

    def _validate(self, stream: str, rec: dict, et: int | None) -> None:
        # fastavro's (Cython) writer checks every field ~5x faster than fastavro.validation, naming the field
        for name, kind in self._containers[stream]:
            v = rec.get(name)
            if v is not None and not isinstance(v, list if kind == "array" else dict):
                raise Invalid(DeadLetterReason.SCHEMA_VIOLATION, f"{stream}: field {name} must be an {kind}, "
                              f"got {type(v).__name__}", et)
        buf = self._buf
        buf.seek(0)
        buf.truncate()
        try:
            fastavro.schemaless_writer(buf, self._schemas[stream], rec)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as e:
            raise Invalid(DeadLetterReason.SCHEMA_VIOLATION, f"{stream}: {e}", et) from None

    def _id_key(self, field: str, key: str, contact: dict[str, str] | None = None) -> str:
        """An id (``crm:…``/``anon:…``) that is an email address or a phone number is normalized and hashed as one
        (``email:<hmac>``/``phone:<hmac>``: the same key as the address given in its own field, so it links), and
        one with an address *inside* a longer value is refused (InvalidIdentifier): a customer id, which reaches
        the audit topic and the tables, never holds PII (issue 23.5).  Spellings are those of
        :mod:`journeyflow.stages.pii` (URL-encoded, escaped ...).  A bare digit string stays an id: numeric CRM
        ids (HubSpot, Dynamics ...) cannot be told apart from a phone written without ``+`` or separators, and
        reading them as phones would merge a customer with whoever holds that number.  ``contact``: where an id that is
        a tagged address notes its mailbox (``spellings.note_id_mailbox``: an opt-out naming it blocks the mailbox)."""
        kind, _, raw = key.partition(":")
        if raw.isdigit() or cannot_hold_pii(raw, keep_uuids=True) or not contains_pii(raw, keep_uuids=True):
            return key
        value = pii_decode(raw).strip()
        value = value[7:] if value.lower().startswith("mailto:") else value
        masked = mask_pii(value)
        if masked == "<email>":
            k, normalized = self.hasher.email(value)
            note_id_mailbox(contact, self.hasher, normalized)
            return k
        if masked == "<phone>" or masked == "tel:<phone>":
            return self.hasher.phone(value, self.config.default_region)[0]
        raise InvalidIdentifier(kind, f"{field} contains an email address or a phone number (not kept in an id)")

    def _key(self, field: str, value: Any, contact: dict[str, str]) -> str:
        """Identifier key of one identifier field's value (raises InvalidIdentifier)."""
        if field == "anonymous_id" or field in ("crm_id", "user_id"):  # a plain id is its own key: identity.plain_ids
            kind, key_of = ("anon", anon_key) if field == "anonymous_id" else ("crm", crm_key)
            return plain_key(kind, value) or self._id_key(field, key_of(value), contact)
        if field == "email":
            k, norm = self.hasher.email(value)
            contact["email"] = norm
            contact["email_key"] = k  # the address's own key: per-address status (stages.deliverability)
            return k
        k, e164 = self.hasher.phone(value, self.config.default_region)
        contact["phone"] = e164
        contact["phone_key"] = k
        return k

    def _identifiers(self, stream: str, rec: dict, et: int,
                     problems: list[_Problem]) -> tuple[tuple[str, ...], dict[str, str]]:
        contact: dict[str, str] = {}
        if stream == "consent":  # the identifier is the consent's subject: exactly one, and it must be usable
            present = [f for f in _fields.IDENTIFIER_FIELDS[stream] if rec.get(f)]
            if len(present) > 1 and rec.get("status") == "revoked":
                return self._all_identifiers(stream, rec, et, problems, contact)  # fail safe: every subject
            if len(present) > 1:
                raise Invalid(DeadLetterReason.MULTIPLE_IDENTIFIERS, "a consent record must name exactly one "
                              "identifier", et)
            if not present:
                raise Invalid(DeadLetterReason.MISSING_IDENTIFIER, f"{stream} record has no usable identifier", et)
            try:
                return (self._key(present[0], rec[present[0]], contact),), contact
            except InvalidIdentifier as e:
                raise Invalid(DeadLetterReason.INVALID_IDENTIFIER, str(e), et) from None
        return self._all_identifiers(stream, rec, et, problems, contact)

    def _all_identifiers(self, stream: str, rec: dict, et: int, problems: list[_Problem],
                         contact: dict[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
        required = _fields.REQUIRED_FIELDS[stream]
        keys: list[str] = []
        dropped = 0
        for f in _fields.IDENTIFIER_FIELDS[stream]:
            v = rec.get(f)
            if f not in required and (v is None or v == ""):
                continue  # absent
            try:
                keys.append(self._key(f, v, contact))
            except InvalidIdentifier as e:
                if f in required:
                    raise Invalid(DeadLetterReason.INVALID_IDENTIFIER, str(e), et) from None
                problems.append((f, FieldWarningReason.INVALID_IDENTIFIER, "dropped", str(e),
                                 _fields.warning_value(f, v)))
                dropped += 1
        keys = [k for k in keys if k.split(":", 1)[1]]
        if not keys:
            # an identifier of the wrong type (a JSON number where the schema has a string) was dropped by the
            # optional-field check: present but unusable, as an address that does not normalize
            typed = [f"{p[0]} {p[3]}" for p in problems if p[0] in _fields.IDENTIFIER_FIELDS[stream]
                     and p[1] == FieldWarningReason.WRONG_TYPE]
            if typed:
                raise Invalid(DeadLetterReason.INVALID_IDENTIFIER, f"{stream} record: none of its identifiers is "
                              "usable (" + "; ".join(typed + [p[3] for p in problems
                                                              if p[1] == FieldWarningReason.INVALID_IDENTIFIER]) + ")", et)
            if dropped:
                raise Invalid(DeadLetterReason.INVALID_IDENTIFIER, f"{stream} record: none of its identifiers is "
                              "usable (" + "; ".join(p[3] for p in problems
                                                     if p[1] == FieldWarningReason.INVALID_IDENTIFIER) + ")", et)
            raise Invalid(DeadLetterReason.MISSING_IDENTIFIER, f"{stream} record has no usable identifier", et)
        return tuple(sorted(set(keys))), contact

    def _attrs(self, stream: str, rec: dict) -> dict[str, Any]:
        # properties (web, orders): seen by conditions as event.properties.* (issue 19); an empty map is left out
        # (their string values cleaned like every kept string: a URL holding an email gets a token)
        props = rec.get("properties") or None if stream in ("web", "orders") else None
        if props:
            props = {self._clean(k): _fields.clean_scalar(self._clean, k, v) for k, v in props.items()}
        if stream == "web":
            a = {"product_id": rec.get("product_id"), "properties": props}
        elif stream == "orders":
            a = {"order_id": rec["order_id"], "product_ids": list(rec.get("product_ids") or ()),
                 "amount": rec.get("amount"), "currency": rec.get("currency"), "properties": props}
        elif stream == "support":
            a = {"ticket_id": rec["ticket_id"], "severity": rec.get("severity"), "csat": rec.get("csat")}
        elif stream == "crm":
            a = {f: rec.get(f) for f in ("lifecycle_stage", "timezone", "owner_id")}
        elif stream == "engagement":
            a = {"channel": rec["channel"], "decision_id": rec.get("decision_id"),
                 "bounce_type": rec.get("bounce_type") or rec.get(BOUNCE_KIND) if rec.get("type") == "bounced" else None}
        else:  # consent
            a = {"channel": rec["channel"], "status": rec["status"]}
        return {k: (self._clean(v) if isinstance(v, str) else [self._clean(x) for x in v] if isinstance(v, list) else v)
                for k, v in a.items() if v is not None}

    def _clean(self, text: str) -> str:
        """``text`` (an event id or another kept string value) with any email address or phone number in it
        replaced by a keyed hash token (:func:`journeyflow.stages.pii.pseudonymize`): ids stay distinct and stable,
        and no raw address travels with the event into state, decisions, dead letters or tables (issue 23.5)."""
        return pseudonymize(text, self.hasher.digest)
