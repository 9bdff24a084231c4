"""Dead-letter reasons: the one list of why a record or a timer was not used (``DeadLetter.reason``).

A ``StrEnum``: a member *is* its value (``DeadLetterReason.LATE_EVENT == "late_event"``, ``str()``, ``format()``
and ``json.dumps`` give the value), so topics and tables carry the same strings as before the enum existed.

The parse reasons are listed in the order :class:`journeyflow.stages.parse.Parser` checks a record: the first
failed check decides the reason.

=======================  ==============================================================================
reason                   meaning
=======================  ==============================================================================
payload_too_large        the raw record is larger than ``ParseConfig.max_bytes`` (default 1 MiB)
invalid_utf8             bytes that are not UTF-8
invalid_json             not parseable JSON (includes nesting deeper than the parser allows)
not_an_object            JSON that is not an object (array, string, number ...)
unknown_stream           the stream name is not one of journeyflow's input streams
unknown_type             the record's ``type`` (``status`` for consent) is not an allowed value
schema_violation         the record does not match the stream's Avro schema (missing field, wrong type)
bad_timestamp            ``ts`` is neither ISO-8601 with a UTC offset nor epoch milliseconds
timestamp_out_of_range   ``ts`` is before ``min_ts`` or after ``max_ts`` (absurd times)
invalid_identifier       an email or phone number that does not normalize
missing_identifier       no identifier at all (or none of the ones the stream needs)
multiple_identifiers     a consent record naming more than one identifier
invalid_field            a field that is well-typed but invalid (unknown time zone, csat outside 1-5 ...)
duplicate_event          an event id the customer already processed (``CustomerState.is_duplicate``)
late_event               streaming: an event at or before the customer's processed horizon (allowed lateness)
processing_error         an event or due timer whose handling raised (``stages.processor``, "Poison inputs")
=======================  ==============================================================================
"""
from __future__ import annotations

from enum import StrEnum


class DeadLetterReason(StrEnum):
    """Why a record or a timer went to dead letter (see the module docstring for each meaning)."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_STREAM = "unknown_stream"
    UNKNOWN_TYPE = "unknown_type"
    SCHEMA_VIOLATION = "schema_violation"
    BAD_TIMESTAMP = "bad_timestamp"
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"
    INVALID_IDENTIFIER = "invalid_identifier"
    MISSING_IDENTIFIER = "missing_identifier"
    MULTIPLE_IDENTIFIERS = "multiple_identifiers"
    INVALID_FIELD = "invalid_field"
    DUPLICATE_EVENT = "duplicate_event"
    LATE_EVENT = "late_event"
    PROCESSING_ERROR = "processing_error"

