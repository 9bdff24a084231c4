"""Which input fields are required and which are optional, per stream, and the checks of the optional ones.

A record that cannot be understood is dead-lettered; a record with one bad *optional* field still carries facts the
decisions depend on (a contact's crm<->email link, a ticket that is open), so the bad field is dropped (or, for a
Windows time zone name, replaced by its IANA zone), the record is kept and a
:class:`~journeyflow.model.field_warnings.FieldWarning` says what happened.  Pure Python, no Beam.

Required and optional fields
----------------------------
==========  =====================================  ===============================  ==================================
stream      required (bad -> dead letter)          identifiers                      optional (bad -> dropped, warning)
==========  =====================================  ===============================  ==================================
web         event_id, ts, type, anonymous_id       anonymous_id (required),         user_id, email, product_id,
                                                   user_id, email                   properties (per entry)
orders      event_id, ts, type, order_id           crm_id, email: one valid needed  crm_id, email, product_ids (per
                                                                                    item), amount, currency,
                                                                                    properties (per entry)
support     event_id, ts, type, ticket_id          crm_id, email, phone: one valid  crm_id, email, phone, severity,
                                                   needed                           csat
crm         event_id, ts, type, crm_id             crm_id (required), email, phone  email, phone, lifecycle_stage,
                                                                                    timezone, owner_id
engagement  event_id, ts, type, channel            email, phone, crm_id,            email, phone, crm_id,
                                                   anonymous_id: one valid needed   anonymous_id, decision_id,
                                                                                    bounce_type
consent     event_id, ts, status, channel, the     exactly one of email, phone,     (none: the identifier is the
            one identifier                         crm_id, anonymous_id, required   consent's subject)
track       messageId, type, a time (Segment       userId, anonymousId, previousId, properties, traits, context,
            Spec: ``stages.segment.parse``)        traits.email/phone: one needed   context.traits (each: an object),
                                                                                    timezones, name, originalTimestamp,
                                                                                    sentAt, receivedAt, mapped
                                                                                    properties
==========  =====================================  ===============================  ==================================

``type`` / ``status`` and ``channel`` decide what the record means, ``ts`` when, the ids which customer, and
``order_id`` / ``ticket_id`` which order or ticket: without them there is no fact to keep.  When every identifier a
record offers is unusable the record is dead-lettered (``invalid_identifier``): it cannot be given to a customer.

Field-warning reasons: :class:`journeyflow.model.reasons.FieldWarningReason` (meanings there).  Numbers written as
strings (``"99.50"``, a csat ``"4"``) are numbers (:func:`~journeyflow.stages.json_text.as_number`)."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Callable, Mapping, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeyflow.model.reasons import FieldWarningReason as R
from journeyflow.stages.json_text import as_number
from journeyflow.stages.spellings import (  # noqa: F401 -- re-exported (they lived here)
    ENUM_SYNONYMS, EVERY_CHANNEL, INTEGER_ID_FIELDS, container_fields, enum_symbols, fold_enums, fold_symbol,
    integer_ids, names_every_channel, opt_out_scope, phone_digits, PHONE_CHANNELS, SCOPE_CHECKED_AS, clean_scalar)

__all__ = ["clean_scalar", "REQUIRED_FIELDS", "OPTIONAL_FIELDS", "CONFIGURED_FIELD_PREFIXES",
           "REVOKE_IDENTIFIER_FIELDS",
           "is_warning_field", "warning_field_families", "warning_field_family", "IDENTIFIER_FIELDS", "PII_FIELDS",
           "DROP", "Verdict", "check_optional", "normalize_timezone", "windows_zone_to_iana", "warning_value",
           "fold_symbol", "integer_ids", "enum_symbols", "fold_enums", "ENUM_SYNONYMS", "EVERY_CHANNEL",
           "names_every_channel", "container_fields", "phone_digits", "INTEGER_ID_FIELDS", "opt_out_scope",
           "PHONE_CHANNELS", "SCOPE_CHECKED_AS"]

REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "web": ("event_id", "ts", "type", "anonymous_id"),
    "orders": ("event_id", "ts", "type", "order_id"),
    "support": ("event_id", "ts", "type", "ticket_id"),
    "crm": ("event_id", "ts", "type", "crm_id"),
    "engagement": ("event_id", "ts", "type", "channel"),
    "consent": ("event_id", "ts", "status", "channel"),
    # Segment-Spec messages (stages.segment.parse; one of the time fields is needed, see stages.segment.times:
    # each of them, timestamp too, is optional on its own -- a bad one is dropped with a field warning; a message
    # without messageId or type gets them from its own fields: stages.segment.calls)
    "track": ("messageId", "type"),
}
#: Identifier fields per stream, in the order they are read.  Consent's are required (exactly one).
IDENTIFIER_FIELDS: Mapping[str, tuple[str, ...]] = {
    "web": ("anonymous_id", "user_id", "email"),
    "orders": ("crm_id", "email"),
    "support": ("crm_id", "email", "phone"),
    "crm": ("crm_id", "email", "phone"),
    # an anonymous id on a status record: a cookie-banner / preference-centre opt-out before login (qa13c)
    "engagement": ("crm_id", "email", "phone", "anonymous_id"),
    "consent": ("crm_id", "email", "phone", "anonymous_id"),
    "track": ("userId", "anonymousId", "previousId", "traits.email", "traits.phone"),
}
#: Fields whose values are PII: a warning never carries their value.
PII_FIELDS = frozenset({"email", "phone", "traits.email", "traits.phone"})
_MAX_LONG = (1 << 63) - 1
_MIN_LONG = -(1 << 63)
_VALUE_CHARS = 120


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


#: Marker: the field is removed from the record.
DROP: Any = _Drop()


class Verdict(NamedTuple):
    """What to do with one optional field's value: keep ``value`` (possibly replaced or cleaned) or ``DROP`` it.

    ``reason`` is None when the value is fine as it is; otherwise a :class:`FieldWarningReason` with ``detail``.
    ``action`` (the warning's): ``dropped`` (the field, or some items / entries of it) or ``replaced``."""

    value: Any
    reason: R | None = None
    detail: str = ""
    action: str = "dropped"


_OK = None  # sentinel for "unchanged" returned by the checkers below


def _type_name(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def _is_text(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates ("\ud800" in JSON): not text Avro can carry
        return False
    return True


def _string(v: Any) -> Verdict | None:
    if _is_text(v):
        return _OK
    if isinstance(v, str):
        return Verdict(DROP, R.WRONG_TYPE, "not valid Unicode text")
    return Verdict(DROP, R.WRONG_TYPE, f"expected a string, got {_type_name(v)}")


def _enum(symbols: tuple[str, ...]) -> Callable[[Any], Verdict | None]:
    def check(v: Any) -> Verdict | None:
        if isinstance(v, str):
            if v in symbols:
                return _OK
            folded = fold_symbol(v)
            if folded in symbols:  # ("High" is high: fold_enums does it for the required ones)
                return Verdict(folded)
            return Verdict(DROP, R.UNKNOWN_VALUE, f"not one of {', '.join(symbols)}")
        return Verdict(DROP, R.WRONG_TYPE, f"expected one of {', '.join(symbols)}, got {_type_name(v)}")
    return check


def _csat(v: Any) -> Verdict | None:
    if isinstance(n := as_number(v, whole=True), bool) or not isinstance(n, int):  # "4", 4.0 (CSV, JavaScript): 4
        return Verdict(DROP, R.WRONG_TYPE, f"expected an integer 1-5, got {_type_name(v)}")
    if not 1 <= n <= 5:
        return Verdict(DROP, R.OUT_OF_RANGE, "csat must be 1-5")
    return _OK if n is v else Verdict(n)


def _amount(v: Any) -> Verdict | None:
    n = as_number(v)  # "99.50" (a number as a string) is 99.5
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        return Verdict(DROP, R.WRONG_TYPE, f"expected a number, got {_type_name(v)}")
    if isinstance(n, float) and not math.isfinite(n):
        return Verdict(DROP, R.OUT_OF_RANGE, "amount must be a finite number")
    if isinstance(n, int) and not _MIN_LONG <= n <= _MAX_LONG:
        return Verdict(DROP, R.OUT_OF_RANGE, "amount does not fit a 64-bit integer")
    if n < 0:
        return Verdict(DROP, R.OUT_OF_RANGE, "amount must not be negative")
    return _OK if n is v else Verdict(n)


def _string_list(v: Any) -> Verdict | None:
    if not isinstance(v, list):
        return Verdict(DROP, R.WRONG_TYPE, f"expected an array of strings, got {_type_name(v)}")
    kept = [x for x in v if _is_text(x)]
    if len(kept) == len(v):
        return _OK
    return Verdict(kept, R.WRONG_TYPE, f"{len(v) - len(kept)} of {len(v)} items are not strings (dropped)")


def _scalar(x: Any) -> bool:
    if x is None or isinstance(x, (bool, float)):
        return True
    if isinstance(x, int):
        return _MIN_LONG <= x <= _MAX_LONG
    return _is_text(x)


def _scalar_map(v: Any) -> Verdict | None:
    """``properties``: a map of null/string/long/double/boolean (web.avsc); entries of another type are dropped."""
    if not isinstance(v, dict):
        return Verdict(DROP, R.WRONG_TYPE, f"expected an object, got {_type_name(v)}")
    kept = {k: x for k, x in v.items() if _is_text(k) and _scalar(x)}
    if len(kept) == len(v):
        return _OK
    # the entries' keys are not named: they are free text (and may hold PII).  An integer beyond 64 bits is a scalar
    # of the wrong size, not a non-scalar: said so (it read "not scalar values", which sent users looking for nesting)
    big = sum(1 for k, x in v.items() if _is_text(k) and x.__class__ is int and not _scalar(x))
    if big == len(v) - len(kept):
        return Verdict(kept, R.OUT_OF_RANGE, f"{big} of {len(v)} entries are integers beyond 64 bits, outside the "
                       "schema's long (dropped; send such an id as a string)")
    return Verdict(kept, R.WRONG_TYPE, f"{len(v) - len(kept)} of {len(v)} entries are not scalar values"
                   + (f", {big} of them integers beyond 64 bits" if big else "") + " (dropped)")


#: Names ZoneInfo may load from a machine's zoneinfo directory that are no customer's zone: the machine's own
#: zone (``localtime``), build artefacts (``posixrules``, ``Factory``: "zone unknown") and the ``posix/`` and
#: ``right/`` (leap-second clock) copies, present on some machines only -- accepting them would make the same record
#: keep its zone on one machine (a laptop) and lose it on another (a slim worker image without system tzdata).
_NOT_CUSTOMER_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_MACHINE_PREFIXES = ("posix/", "right/")


@lru_cache(maxsize=4096)
def _iana_zone(name: str) -> bool:
    if not _named_customer_zone(name):
        return False
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False


def _named_customer_zone(name: str) -> bool:
    return not (name in _NOT_CUSTOMER_ZONES or name.startswith(_MACHINE_PREFIXES))


@lru_cache(maxsize=None)
def _zones_by_folded_name() -> Mapping[str, str]:
    """IANA zone names by their case-folded spelling (``america/new_york`` -> ``America/New_York``): of the zones
    :func:`_iana_zone` takes, the last in sorted order for each spelling.  A spelling named by one zone file only
    maps to it unloaded (loading all ~600 zones cost ~0.1 s per process); :func:`_iana_spelling` checks the one it
    returns (the same answer: a zone it refuses is no answer either way)."""
    import zoneinfo

    by_folded: dict[str, list[str]] = {}
    for z in sorted(zoneinfo.available_timezones()):
        if _named_customer_zone(z):
            by_folded.setdefault(z.casefold(), []).append(z)
    out = {}
    for folded, names in by_folded.items():
        kept = names if len(names) == 1 else [z for z in names if _iana_zone(z)]
        if kept:
            out[folded] = kept[-1]
    return out


def _iana_spelling(name: str) -> str | None:
    """The IANA zone ``name`` names in another letter case (``utc``, ``europe/berlin``), else None: zone names are
    case-sensitive files, but no two zones differ in case only, so the spelling is unambiguous."""
    zone = _zones_by_folded_name().get(name.casefold())
    return zone if zone is not None and _iana_zone(zone) else None


@lru_cache(maxsize=None)
def _windows_zones() -> Mapping[str, str]:
    from tzlocal.windows_tz import win_tz  # CLDR windowsZones.xml, "001" territory: the zone for each Windows name

    return dict(win_tz)


def windows_zone_to_iana(name: str) -> str | None:
    """IANA zone of a Windows time zone name (``"Eastern Standard Time"`` -> ``"America/New_York"``), else None.

    The mapping is CLDR's windowsZones (territory ``001``), as shipped by ``tzlocal.windows_tz.win_tz``; names are
    matched exactly (Windows names are fixed strings), after trimming whitespace."""
    zone = _windows_zones().get(name.strip())
    return zone if zone and _iana_zone(zone) else None


def normalize_timezone(v: Any) -> Verdict | None:
    """Check a ``timezone`` value: an IANA name is kept (in its IANA spelling when written in another letter case:
    ``america/new_york``), a Windows name replaced, anything else dropped (also names of a machine's own zone files
    that are no customer's zone: ``localtime``, ``posix/...``, ``right/...``, ``Factory``)."""
    if not _is_text(v):
        return _string(v)
    name = v.strip()
    if name and _iana_zone(name):
        return _OK if name == v else Verdict(name)
    spelled = _iana_spelling(name) if name else None
    if spelled is not None:  # the zone in another letter case: the same zone, kept in its IANA spelling
        return Verdict(spelled)
    zone = windows_zone_to_iana(name) if name else None
    if zone is not None:
        return Verdict(zone, R.WINDOWS_TIMEZONE, f"Windows time zone name mapped to {zone} (CLDR windowsZones)",
                       "replaced")
    from journeyflow.stages.zone_names import display_zone, iana_spelling  # (HubSpot, Zendesk, Shopify: qa17b)
    if name and (spelled := iana_spelling(name, _iana_spelling)) is not None:
        return Verdict(spelled)  # (america_slash_new_york, "(GMT-05:00) America/New_York": that zone)
    if name and (zone := display_zone(name, _zones_by_folded_name)) is not None and _iana_zone(zone):
        return Verdict(zone, R.WINDOWS_TIMEZONE, f"time zone display name mapped to {zone} (Windows / Rails "
                       "display names, the tz database's cities)", "replaced")
    return Verdict(DROP, R.UNKNOWN_TIMEZONE, "not an IANA time zone nor a known Windows zone name; "
                                             "the customer's previous zone or the policy's default_timezone applies")


_SEVERITIES = ("low", "medium", "high", "critical")
#: Optional fields whose Avro type has a default but no null: a JSON null there means "absent".
_NOT_NULLABLE = frozenset({"product_ids", "properties"})

#: Optional, non-identifier checks per stream.  Identifier fields are type-checked here (``_string``) and normalized
#: by the parser (``stages.identity.keys``), which drops the ones that do not normalize.
OPTIONAL_FIELDS: Mapping[str, Mapping[str, Callable[[Any], Verdict | None]]] = {
    "web": {"user_id": _string, "email": _string, "product_id": _string, "properties": _scalar_map},
    "orders": {"crm_id": _string, "email": _string, "product_ids": _string_list, "amount": _amount,
               "currency": _string, "properties": _scalar_map},
    "support": {"crm_id": _string, "email": _string, "phone": _string, "severity": _enum(_SEVERITIES),
                "csat": _csat},
    "crm": {"email": _string, "phone": _string, "lifecycle_stage": _string, "timezone": normalize_timezone,
            "owner_id": _string},
    "engagement": {"crm_id": _string, "email": _string, "phone": _string, "anonymous_id": _string,
                   "decision_id": _string,
                   "bounce_type": _enum(("hard", "soft"))},
    "consent": {},
    # Segment-Spec messages: checked by stages.segment.parse (these names are the fields of its warnings; a
    # mapped attribute that does not convert is named by its path: CONFIGURED_FIELD_PREFIXES)
    "track": {"userId": _string, "anonymousId": _string, "previousId": _string, "traits.email": _string,
              "traits.phone": _string, "context": _string, "context.traits": _string,
              "context.timezone": normalize_timezone, "traits.timezone": normalize_timezone, "name": _string,
              "category": _string,
              "timestamp": _string, "originalTimestamp": _string, "sentAt": _string, "receivedAt": _string,
              "properties": _string,
              "traits": _string},
}


#: Field warnings whose field is a path taken from configuration, not a fixed name (per stream, the path prefixes):
#: a Segment-mapped attribute whose value does not convert names the mapping's path it was read from
#: (``properties.product_id``, ``properties.products[].sku``); a property or trait whose value does not have the
#: type the attributes file declares is ``properties.<name>`` / ``traits.<name>``
#: (:mod:`journeyflow.stages.declared_types`).  Never the message's own free-text keys.
CONFIGURED_FIELD_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "web": ("properties.",), "track": ("properties.", "traits.", "context.")}


#: Fields a warning may name besides the optional ones: the identifiers of a consent *revoke* naming several (it
#: applies to each usable one, fail safe; an unusable one is dropped with a warning: ``stages.parse``).
REVOKE_IDENTIFIER_FIELDS: Mapping[str, tuple[str, ...]] = {"consent": ("crm_id", "email", "phone", "anonymous_id")}


def warning_field_family(stream: str, field: str) -> str:
    """The name a field warning's ``field`` is checked against: itself when it is one of
    :data:`OPTIONAL_FIELDS` ``[stream]``, else ``<prefix>*`` for a path of :data:`CONFIGURED_FIELD_PREFIXES`
    (``properties.days_left`` -> ``properties.*``), else itself (an unknown field)."""
    if field in OPTIONAL_FIELDS.get(stream, ()):
        return field
    for prefix in CONFIGURED_FIELD_PREFIXES.get(stream, ()):
        if field.startswith(prefix) and len(field) > len(prefix):
            return prefix + "*"
    return field


def warning_field_families() -> tuple[str, ...]:
    """``<stream>.<field>`` of every optional field and ``<stream>.<prefix>*`` of every configured path: what
    ``<stream>.<warning_field_family(stream, field)>`` of a valid field warning is one of."""
    return tuple(f"{s}.{f}" for s, fs in OPTIONAL_FIELDS.items() for f in fs) + tuple(
        f"{s}.{f}" for s, fs in REVOKE_IDENTIFIER_FIELDS.items() for f in fs) + tuple(
        f"{s}.{p}*" for s, ps in CONFIGURED_FIELD_PREFIXES.items() for p in ps)


def is_warning_field(stream: str, field: str) -> bool:
    """True when a field warning of ``stream`` may name ``field`` (an optional field, or a configured path)."""
    fam = warning_field_family(stream, field)
    return fam in OPTIONAL_FIELDS.get(stream, ()) or fam in REVOKE_IDENTIFIER_FIELDS.get(stream, ()) or \
        fam.endswith(".*")


def warning_value(field: str, value: Any) -> str | None:
    """The bad value as it may be stored with a warning: short JSON, emails/phones masked; None for PII fields."""
    from journeyflow.stages.parse import mask_pii  # parse imports this module

    if field in PII_FIELDS:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > _VALUE_CHARS:
        text = text[: _VALUE_CHARS - 1] + "…"
    return mask_pii(text)


def check_optional(stream: str, rec: Mapping[str, Any]) -> tuple[dict[str, Any] | None,
                                                                   list[tuple[str, Verdict, Any]]]:
    """Check every optional field of ``rec`` (a decoded record of ``stream``).

    Returns ``(cleaned, problems)``: ``cleaned`` is None when nothing changed, else a copy with bad fields removed
    and replaced values set; ``problems`` lists ``(field, verdict, original value)`` for each field that was
    dropped or replaced.  A null optional field is an absent one (removed without a warning: ``product_ids`` and
    ``properties`` have no null in their Avro types, only a default); so is an empty or blank string, how CSV
    exports, spreadsheets and warehouse unloads write a null (``"currency": ""``, ``"csat": ""``: it was kept as
    the value ``""``, or dropped with a ``wrong_type`` / ``unknown_value`` warning about a field that had no value;
    identifier fields are left to the parser, which reads an empty one as absent too)."""
    checks = OPTIONAL_FIELDS.get(stream, {})
    ids = IDENTIFIER_FIELDS.get(stream, ())
    cleaned: dict[str, Any] | None = None
    problems: list[tuple[str, Verdict, Any]] = []
    for name, check in checks.items():
        v = rec.get(name)
        if v is None or (v.__class__ is str and not v.strip() and name not in ids):
            if name in rec and (v is not None or name in _NOT_NULLABLE):
                if cleaned is None:
                    cleaned = dict(rec)
                del cleaned[name]
            continue
        verdict = check(v)
        if verdict is None:
            continue
        if cleaned is None:
            cleaned = dict(rec)
        if verdict.value is DROP:
            del cleaned[name]
        else:
            cleaned[name] = verdict.value
        if verdict.reason is not None:
            problems.append((name, verdict, v))
    return cleaned, problems
