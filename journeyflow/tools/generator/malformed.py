"""Malformed input lines: the kinds generated per stream, what the parser is expected to do with each (a dead letter
with its reason, or -- a bad optional field -- a kept record with a field warning: :func:`expected_outcome`), and
how a malformed variant of a good line is made."""

from __future__ import annotations

import ast
import json
import random
from datetime import datetime, timezone

from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.stages.fields import OPTIONAL_FIELDS, windows_zone_to_iana
from journeyflow.tools.generator.events import _dumps

MALFORMED_KINDS: dict[str, tuple[str, ...]] = {
    "web": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
            "bad_timestamp", "absurd_timestamp"),
    "orders": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
               "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "support": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "crm": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
            "bad_timestamp", "absurd_timestamp", "invalid_email", "invalid_timezone"),
    "engagement": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                   "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
    "consent": ("invalid_json", "not_an_object", "missing_field", "wrong_type", "unknown_type",
                "bad_timestamp", "absurd_timestamp", "no_identifier", "invalid_email"),
}

# Dead-letter reason that journeyflow.stages.parse is expected to give for each malformed kind, when the line is a
# dead letter: ``wrong_type`` only when the field is required, ``invalid_email`` only when the email is the record's
# only identifier; ``invalid_timezone`` lines are always kept.  expected_outcome() decides per line.
PARSER_REASON: dict[str, DeadLetterReason] = {
    "invalid_json": DeadLetterReason.INVALID_JSON,
    "not_an_object": DeadLetterReason.NOT_AN_OBJECT,
    "missing_field": DeadLetterReason.SCHEMA_VIOLATION,
    "wrong_type": DeadLetterReason.SCHEMA_VIOLATION,
    "unknown_type": DeadLetterReason.UNKNOWN_TYPE,
    "bad_timestamp": DeadLetterReason.BAD_TIMESTAMP,
    "absurd_timestamp": DeadLetterReason.TIMESTAMP_OUT_OF_RANGE,
    "no_identifier": DeadLetterReason.MISSING_IDENTIFIER,
    "invalid_email": DeadLetterReason.INVALID_IDENTIFIER,
}


def expected_outcome(stream: str, kind: str, detail: str) -> tuple[str, str]:
    """What journeyflow.stages.parse does with a malformed line of ``malformed_expected.jsonl`` (its stream, kind
    and detail): ``("dead_letter", DeadLetterReason)``, or ``("field_warning", FieldWarningReason)`` when only an
    optional field (``journeyflow.stages.fields.OPTIONAL_FIELDS``) is bad and the record is kept.  Raises
    ``KeyError`` for an unknown kind."""
    if kind == "wrong_type":
        name = detail.split("=", 1)[0]  # detail is "<field>=<value repr>"
        if name in OPTIONAL_FIELDS[stream]:
            return "field_warning", FieldWarningReason.WRONG_TYPE
    elif kind == "invalid_email" and stream == "crm":  # crm_id is required and good: only the email is dropped
        return "field_warning", FieldWarningReason.INVALID_IDENTIFIER
    elif kind == "invalid_timezone":
        zone = ast.literal_eval(detail.split("=", 1)[1])  # detail is "timezone=<repr of the name>"
        return "field_warning", (FieldWarningReason.WINDOWS_TIMEZONE if windows_zone_to_iana(zone)
                                 else FieldWarningReason.UNKNOWN_TIMEZONE)
    return "dead_letter", PARSER_REASON[kind]


# --------------------------------------------------------------------------- malformed lines

# Required fields that missing_field may drop.  The type / status field is never dropped (a
# record without it is reported as unknown_type by the parser, which checks the type first).
_REQUIRED = {
    "web": ("ts", "anonymous_id"),
    "orders": ("ts", "order_id"),
    "support": ("ts", "ticket_id"),
    "crm": ("ts", "crm_id"),
    "engagement": ("ts", "channel"),
    "consent": ("ts", "channel"),
}
# (an id written as a JSON integer is understood: its digits, ``fields.integer_ids``; ids of the wrong type here are
# objects and lists)
_WRONG_TYPE = {
    "web": (("product_id", ["SKU-001"]), ("properties", "utm_source=newsletter"), ("anonymous_id", {"id": 987654321})),
    "orders": (("amount", "abc"), ("amount", "12,50"), ("product_ids", "SKU-001,SKU-002")),
    "support": (("csat", "five"), ("severity", 3), ("ticket_id", [4711])),
    "crm": (("crm_id", {"id": 12345678}), ("lifecycle_stage", 3), ("owner_id", ["7"])),
    "engagement": (("decision_id", 42), ("channel", 1)),
    "consent": (("channel", 2), ("crm_id", [1234567])),
}
_UNKNOWN_TYPE = {
    "web": ("type", ("page_scrolled", "purchase", "wishlist_add")),  # (page_viewed is a page_view since qa16a)
    "orders": ("type", ("order_refunded", "order_shipped")),
    "support": ("type", ("ticket_merged", "ticket_tagged")),  # (ticket_reopened is a helpdesk spelling since qa15)
    "crm": ("type", ("contact_exported", "contact_merged")),  # (contact_deleted is a type since qa15a)
    "engagement": ("type", ("forwarded", "printed")),  # (soft_bounce is an ESP's soft bounce since qa15b)
    "consent": ("status", ("pending", "unknown")),
}
_IDENTIFIERS = {
    "orders": ("crm_id", "email"),
    "support": ("crm_id", "email", "phone"),
    "engagement": ("email", "phone", "crm_id"),
    "consent": ("email", "phone", "crm_id"),
}
_BAD_TS = ("not-a-date", "2026-13-45T25:61:00+00:00", "31/10/2026 14:05", "", "yesterday",
           "2026-10-05T10:00:00+25:00", "NaN", "Oct 5 2026 10:00AM")
_BAD_EMAILS = ("not-an-email", "jane.doe@", "@example.com", "john doe@example", "n/a")
_BAD_TZ = ("Mars/Olympus_Mons", "Europe/Parris", "GMT+25", "Eastern Standard Time",
           "America/Springfield")


def _malformed_line(stream: str, kind: str, good: str, rng: random.Random) -> tuple[str, str]:
    """A malformed variant of the good line ``good`` (which ends with a newline)."""
    if kind == "invalid_json":
        body = good.rstrip("\n")
        cut = rng.randrange(len(body) // 3, (2 * len(body)) // 3)
        return body[:cut] + "\n", f"line truncated after {cut} characters"
    d = json.loads(good)
    if kind == "not_an_object":
        if rng.random() < 0.5:
            return _dumps([d]) + "\n", "record wrapped in a JSON array"
        return _dumps(list(d.values())) + "\n", "JSON array of values instead of an object"
    if kind == "missing_field":
        f = rng.choice(_REQUIRED[stream])
        del d[f]
        detail = f"required field {f} missing"
    elif kind == "wrong_type":
        f, v = rng.choice(_WRONG_TYPE[stream])
        d[f] = v
        detail = f"{f}={v!r}"
    elif kind == "unknown_type":
        f, values = _UNKNOWN_TYPE[stream]
        d[f] = rng.choice(values)
        detail = f"{f}={d[f]!r}"
    elif kind == "bad_timestamp":
        d["ts"] = rng.choice(_BAD_TS)
        detail = f"ts={d['ts']!r}"
    elif kind == "absurd_timestamp":
        ts = d["ts"]
        ms = ts if isinstance(ts, int) else _iso_ms(ts)
        r = rng.randrange(4)
        if r == 0:
            # an Avro/Excel date (days since the epoch) written as milliseconds -> January 1970 in every unit
            # (epoch seconds are read as the time they are since qa11c: timeparse.epoch_ms)
            d["ts"] = ms // 86_400_000
        elif r == 1:
            d["ts"] = rng.choice((0, "1970-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z"))
        else:
            dt = datetime.fromtimestamp(ms // 1000, timezone.utc)
            dt = dt.replace(year=2200, day=min(dt.day, 28))
            d["ts"] = int(dt.timestamp()) * 1000 if r == 2 else dt.isoformat()
        detail = f"ts={d['ts']!r}"
    elif kind == "no_identifier":
        for f in _IDENTIFIERS[stream]:
            d[f] = None
        detail = "no identifier (" + ", ".join(_IDENTIFIERS[stream]) + " all null)"
    elif kind == "invalid_email":
        if stream in _IDENTIFIERS:
            for f in _IDENTIFIERS[stream]:
                d[f] = None
        if stream == "engagement":
            d["channel"] = "email"
        d["email"] = rng.choice(_BAD_EMAILS)
        detail = f"email={d['email']!r}"
    elif kind == "invalid_timezone":
        d["timezone"] = rng.choice(_BAD_TZ)
        detail = f"timezone={d['timezone']!r}"
    else:  # pragma: no cover
        raise ValueError(kind)
    return _dumps(d) + "\n", detail


class _MalformedLines:
    """The malformed lines of one stream, in file order: each kind of ``MALFORMED_KINDS[stream]`` once per round,
    rounds shuffled with ``rng``; every line drawn is also appended to ``expected`` (``malformed_expected.jsonl``)."""

    def __init__(self, stream: str, rng: random.Random, expected: list[dict]) -> None:
        self.stream = stream
        self.rng = rng
        self.expected = expected
        self.kinds: list[str] = []

    def line(self, line_no: int, payload: str) -> str:
        """The malformed line at 1-based ``line_no``, derived from a good record's ``payload`` (its JSON without
        ``event_id``, ending with a newline); it gets event id ``<stream>-<line_no>`` like a good line would."""
        good = '{"event_id":"%s-%06d",%s' % (self.stream, line_no, payload)
        if not self.kinds:
            self.kinds = list(MALFORMED_KINDS[self.stream])
            self.rng.shuffle(self.kinds)
        kind = self.kinds.pop()
        line, detail = _malformed_line(self.stream, kind, good, self.rng)
        self.expected.append({"stream": self.stream, "line": line_no, "kind": kind, "detail": detail})
        return line


def _iso_ms(s: str) -> int:
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return int(round(datetime.fromisoformat(s).timestamp() * 1000))

