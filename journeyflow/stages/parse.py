"""Parse and validate raw input records into ``Event``s, or ``DeadLetter``s with a precise reason.

Pure Python (no Beam).  Checks run in a fixed order and the first failure decides the reason: the parse
members of :class:`journeyflow.model.reasons.DeadLetterReason`, listed (with their meaning) in check order there.

The raw payload kept in a dead letter is truncated and has anything that looks like an email address or a phone
number masked, so dead letters can be stored in analyst tables without leaking PII.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import fastavro

from journeyflow.stages.identity.keys import Hasher, InvalidIdentifier, anon_key, crm_key
from journeyflow.model.events import EVENT_TYPES, STREAMS, Event
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.reasons import DeadLetterReason

MAX_PAYLOAD_IN_DEAD_LETTER = 64 * 1024
MAX_JSON_DEPTH = 32
# The lookbehind lets a match start only where a token starts: the same matches, in linear time (without it a long
# token with no "@" -- a base64 blob in a 64 KiB dead-letter payload -- costs quadratic time, about a minute).
_EMAIL_RE = re.compile(r"(?<![^\s\"'<>,;:@])[^\s\"'<>,;:@]+@[^\s\"'<>,;:@]+")
# International numbers (+CC ...) and formatted national ones ((415) 555-0134, 415-555-0134, 020 7946 0958).
# Bare digit runs are left alone: they are far more often epoch times and amounts than phone numbers.
_PHONE_RE = re.compile(r"\+\d[\d\s().-]{6,}\d|\(?\b\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{4}\b")
_PII_FIELDS = {"email": "<email>", "phone": "<phone>"}

# Defaults for absurd-time detection: 2000-01-01 .. 2100-01-01 (UTC).
DEFAULT_MIN_TS = 946_684_800_000
DEFAULT_MAX_TS = 4_102_444_800_000
# Event times a dead letter can carry: the TIMESTAMP range of its table (BigQuery's, 0001-01-01 .. 9999-12-31 UTC,
# also the range of Python's datetime used for the date partition).  A record's absurd ``ts`` outside it stays in
# the payload and the detail; its ``event_time`` is left empty.
_MIN_TABLE_TS = -62_135_596_800_000
_MAX_TABLE_TS = 253_402_300_799_999


@lru_cache(maxsize=None)
def avro_schema(name: str) -> dict:
    """Parsed Avro schema ``schemas/<name>.avsc`` (shipped as package data)."""
    text = resources.files("journeyflow.schemas").joinpath(f"{name}.avsc").read_text()
    return fastavro.parse_schema(json.loads(text))


@lru_cache(maxsize=4096)
def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def mask_pii(text: str) -> str:
    """``text`` with anything that looks like an email address or a (formatted) phone number replaced by
    ``<email>`` / ``<phone>``."""
    return _PHONE_RE.sub("<phone>", _EMAIL_RE.sub("<email>", text))


def _mask_record(rec: Any) -> Any:
    """A copy of a decoded record with the values of identifier fields masked, whatever their format."""
    if isinstance(rec, dict):
        return {k: (_PII_FIELDS[k] if k in _PII_FIELDS and v not in (None, "") else v) for k, v in rec.items()}
    return rec


def parse_ts(value: Any) -> int:
    """Event time in epoch ms from ISO-8601 with offset or epoch milliseconds.  Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("ts must be a string or an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.isdigit():
            return int(s)
        dt = datetime.fromisoformat(s)
        if dt.tzinfo is None:
            raise ValueError(f"ts {value!r} has no UTC offset")
        return int(dt.timestamp() * 1000)
    raise ValueError("ts must be a string or an integer")


def _json_depth(text: str) -> int:
    """Maximum nesting depth of brackets outside strings (only called for records with many brackets)."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "}]":
            depth -= 1
    return best


def _container_fields(schema: dict) -> tuple[tuple[str, str], ...]:
    out = []
    for f in schema["fields"]:
        types = f["type"] if isinstance(f["type"], list) else [f["type"]]
        for t in types:
            if isinstance(t, dict) and t.get("type") in ("array", "map"):
                out.append((f["name"], t["type"]))
    return tuple(out)


class Invalid(Exception):
    """A record that fails a check: its :class:`DeadLetterReason`, a detail, and its event time if known (ms)."""

    def __init__(self, reason: DeadLetterReason, detail: str, event_time: int | None = None):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.event_time = event_time


@dataclass(frozen=True)
class ParseConfig:
    """Parser settings: the region for phone numbers without ``+country`` (ISO 3166 code), the accepted event
    time range (epoch ms) and the largest raw record (bytes)."""

    default_region: str = "US"
    min_ts: int = DEFAULT_MIN_TS
    max_ts: int = DEFAULT_MAX_TS
    max_bytes: int = 1 << 20


class Parser:
    """Turns raw records of a stream into Events.  One instance per worker (holds caches)."""

    def __init__(self, hasher: Hasher, config: ParseConfig = ParseConfig()):
        self.hasher = hasher
        self.config = config
        self._schemas = {s: avro_schema(s) for s in STREAMS}
        self._containers = {s: _container_fields(self._schemas[s]) for s in STREAMS}
        self._buf = io.BytesIO()

    # ------------------------------------------------------------------ API
    def parse(self, stream: str, raw: bytes | str | Mapping[str, Any], source: str = "") -> Event | DeadLetter:
        """One raw record of ``stream`` (bytes or text of a JSON object, or an Avro-decoded dict) → an Event, or
        a DeadLetter with the reason of the first failed check (never raises for bad input).  ``source``: where
        the record came from (``path:line``, ``pubsub:<id>``)."""
        try:
            return self._parse(stream, raw)
        except Invalid as e:
            return self._dead(stream, raw, source, e.reason, e.detail, e.event_time)

    # ------------------------------------------------------------ internals
    def _dead(self, stream: str, raw: Any, source: str, reason: str, detail: str, et: int | None) -> DeadLetter:
        if isinstance(raw, bytes):
            text = raw[: MAX_PAYLOAD_IN_DEAD_LETTER * 2].decode("utf-8", errors="replace")
        elif isinstance(raw, str):
            text = raw
        else:
            text = None
        if text is None or (len(text) <= MAX_PAYLOAD_IN_DEAD_LETTER and text.lstrip().startswith("{")):
            try:
                obj = raw if text is None else json.loads(text)
                text = json.dumps(_mask_record(obj), default=str, sort_keys=True)
            except (TypeError, ValueError, RecursionError):
                text = text if text is not None else repr(raw)
        if et is not None and not _MIN_TABLE_TS <= et <= _MAX_TABLE_TS:
            et = None
        return DeadLetter(stream=str(stream)[:64], reason=reason, detail=mask_pii(detail)[:1000],
                          payload=mask_pii(text[:MAX_PAYLOAD_IN_DEAD_LETTER]), source=source, event_time=et)

    def _parse(self, stream: str, raw: bytes | str | Mapping[str, Any]) -> Event:
        if isinstance(raw, (bytes, str)):
            if len(raw) > self.config.max_bytes:
                raise Invalid(DeadLetterReason.PAYLOAD_TOO_LARGE, f"record is {len(raw)} bytes, limit {self.config.max_bytes}")
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise Invalid(DeadLetterReason.INVALID_UTF8, f"not UTF-8 at byte {e.start}") from None
            if raw.count("{") + raw.count("[") > MAX_JSON_DEPTH and _json_depth(raw) > MAX_JSON_DEPTH:
                # explicit limit: the parser's own recursion guard depends on the caller's stack depth,
                # which would make the same record's fate vary
                raise Invalid(DeadLetterReason.INVALID_JSON, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            try:
                rec = json.loads(raw)
            except RecursionError:
                raise Invalid(DeadLetterReason.INVALID_JSON, "JSON nested too deeply") from None
            except ValueError as e:
                raise Invalid(DeadLetterReason.INVALID_JSON, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        else:
            rec = raw
        if not isinstance(rec, dict):
            raise Invalid(DeadLetterReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(rec).__name__}")
        if stream not in self._schemas:
            raise Invalid(DeadLetterReason.UNKNOWN_STREAM, f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
        et = None
        ts_raw = rec.get("ts")
        if ts_raw is not None:
            try:
                et = parse_ts(ts_raw)
            except (ValueError, OverflowError):
                et = None
        # type check first, for a precise reason
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
        self._validate(stream, rec, et)
        if et is None:
            raise Invalid(DeadLetterReason.BAD_TIMESTAMP, f"ts {str(ts_raw)[:40]!r} is not ISO-8601 with offset nor epoch ms")
        if not (self.config.min_ts <= et <= self.config.max_ts):
            raise Invalid(DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, f"ts {str(ts_raw)[:40]!r} is outside the accepted range", et)
        ids, contact = self._identifiers(stream, rec, et)
        attrs = self._attrs(stream, rec, et)
        return Event(uid=f"{stream}/{rec['event_id']}", stream=stream, type=etype, ts=et,
                     ids=ids, attrs=attrs, contact=contact)

    def _validate(self, stream: str, rec: dict, et: int | None) -> None:
        # fastavro's (Cython) writer checks every field against the schema ~5x faster than
        # fastavro.validation.validate, and its error names the field.
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

    def _identifiers(self, stream: str, rec: dict, et: int) -> tuple[tuple[str, ...], dict[str, str]]:
        keys: list[str] = []
        contact: dict[str, str] = {}
        try:
            if stream == "web":
                keys.append(anon_key(rec["anonymous_id"]))
                if rec.get("user_id"):
                    keys.append(crm_key(rec["user_id"]))
            elif rec.get("crm_id"):
                keys.append(crm_key(rec["crm_id"]))
            if rec.get("email"):
                k, norm = self.hasher.email(rec["email"])
                keys.append(k)
                contact["email"] = norm
                contact["email_key"] = k
            if rec.get("phone"):
                k, e164 = self.hasher.phone(rec["phone"], self.config.default_region)
                keys.append(k)
                contact["phone"] = e164
                contact["phone_key"] = k
        except InvalidIdentifier as e:
            raise Invalid(DeadLetterReason.INVALID_IDENTIFIER, str(e), et) from None
        keys = [k for k in keys if k.split(":", 1)[1]]
        if not keys:
            raise Invalid(DeadLetterReason.MISSING_IDENTIFIER, f"{stream} record has no usable identifier", et)
        if stream == "consent" and len(keys) > 1:
            raise Invalid(DeadLetterReason.MULTIPLE_IDENTIFIERS, "a consent record must name exactly one identifier", et)
        return tuple(sorted(set(keys))), contact

    def _attrs(self, stream: str, rec: dict, et: int) -> dict[str, Any]:
        if stream == "web":
            a = {"product_id": rec.get("product_id")}
        elif stream == "orders":
            a = {"order_id": rec["order_id"], "product_ids": list(rec.get("product_ids") or ()),
                 "amount": rec.get("amount"), "currency": rec.get("currency")}
            if a["amount"] is not None and a["amount"] < 0:
                raise Invalid(DeadLetterReason.INVALID_FIELD, "orders: amount must not be negative", et)
        elif stream == "support":
            csat = rec.get("csat")
            if csat is not None and not 1 <= csat <= 5:
                raise Invalid(DeadLetterReason.INVALID_FIELD, f"support: csat {csat} outside 1-5", et)
            a = {"ticket_id": rec["ticket_id"], "severity": rec.get("severity"), "csat": csat}
        elif stream == "crm":
            tz = rec.get("timezone")
            if tz and not _valid_zone(tz):
                raise Invalid(DeadLetterReason.INVALID_FIELD, f"crm: timezone {tz[:60]!r} is not an IANA time zone", et)
            a = {"lifecycle_stage": rec.get("lifecycle_stage"), "timezone": tz, "owner_id": rec.get("owner_id")}
        elif stream == "engagement":
            a = {"channel": rec["channel"], "decision_id": rec.get("decision_id"),
                 "bounce_type": rec.get("bounce_type") if rec.get("type") == "bounced" else None}
        else:  # consent
            a = {"channel": rec["channel"], "status": rec["status"]}
        return {k: v for k, v in a.items() if v is not None}
