"""Reasons: the one list of why a record or a timer was not used (``DeadLetter.reason``,
:class:`DeadLetterReason`) and of why an optional field of a kept record was dropped or replaced
(``FieldWarning.reason``, :class:`FieldWarningReason`).

A ``StrEnum``: a member *is* its value (``DeadLetterReason.LATE_EVENT == "late_event"``, ``str()``, ``format()``
and ``json.dumps`` give the value), so topics and tables carry the same strings as before the enum existed.

The parse reasons are listed in the order :class:`journeyflow.stages.parse.Parser` checks a record: the first
failed check decides the reason.  A Pub/Sub message's ``ts`` attribute is checked after its payload parsed
(``journeyflow.stages.message_attributes``): a broken payload is reported by the payload's reason.

=========================  ==============================================================================
reason                     meaning
=========================  ==============================================================================
payload_too_large          the raw record is larger than ``ParseConfig.max_bytes`` (default 1 MiB; a Pub/Sub
                           message can be up to 10 MB and is read whole, then dead-lettered truncated)
invalid_utf8               bytes that are not UTF-8
invalid_json               not parseable JSON (includes nesting deeper than the parser allows)
not_an_object              JSON that is not an object (array, string, number ...)
unknown_stream             the stream name is not one of journeyflow's input streams
unknown_type               the record's ``type`` (``status`` for consent) is not an allowed value
schema_violation           a *required* field is missing or does not match the stream's Avro schema
bad_timestamp              ``ts`` is neither ISO-8601 with a UTC offset nor epoch milliseconds
timestamp_out_of_range     ``ts`` is before ``min_ts`` or after ``max_ts`` (absurd times, or beyond the
                           configured ``--max_event_time``)
invalid_identifier         a required identifier does not normalize, or every identifier offered is unusable
missing_identifier         no identifier at all (or none of the ones the stream needs)
multiple_identifiers       a consent record naming more than one identifier
invalid_field              a required field that is well-typed but invalid (no shipped stream has such a rule
                           any more: the fields it covered are optional; kept for tables of earlier versions)
missing_ts_attribute       streaming: a Pub/Sub message without the ``ts`` attribute (its event time for the
                           source; ``journeyflow.stages.message_attributes``)
bad_ts_attribute           streaming: a ``ts`` attribute that is not an integer epoch-ms string (``"abc"``, ``""``,
                           ``"1e12"``, RFC 3339)
ts_attribute_out_of_range  streaming: a ``ts`` attribute outside the accepted event times (the same bounds as
                           the payload's ``ts``: ``min_ts .. max_ts`` and ``--max_event_time`` after publish time)
ts_mismatch                streaming: the ``ts`` attribute is not the payload's ``ts`` (exactly, in epoch ms)
duplicate_event            an event id the customer already processed (``CustomerState.is_duplicate``)
late_event                 streaming: an event at or before the customer's processed horizon (allowed lateness)
processing_error           an event or due timer whose handling raised (``stages.processor``, "Poison inputs")
transfer_unknown_version   streaming, state-transfer topic (``transforms.state_transfer``): a message without the
                           version attribute ``v`` or with a version this job does not read
transfer_missing_target    state-transfer: no ``target`` attribute, or an empty one
transfer_undecodable       state-transfer: data that does not open (AES-GCM) with this job's key and the message's
                           attributes: garbage, sealed with another key, or altered
transfer_invalid           state-transfer: an opened payload that is not a valid ``absorb`` event for its target
                           (another type, other identifiers, a different time, a state that does not decode)
=========================  ==============================================================================

Field-warning reasons
---------------------
A bad *optional* field never dead-letters a record (``journeyflow.stages.fields`` lists, per stream, which fields
are required and which optional): it is dropped (a Windows time zone name is replaced), the record is kept, and a
``FieldWarning`` with one of these reasons goes to the ``field-warnings`` topic and the ``field_warnings`` table.

===================  ==========================================================================================
reason               meaning
===================  ==========================================================================================
wrong_type           the value does not have the field's Avro type (``csat: "five"``, ``amount: "12,50"``,
                     a string that is not valid Unicode)
unknown_value        a string outside the field's enum (``severity: "someday"``)
out_of_range         a number outside the field's range (``csat`` 1-5; ``amount`` finite, >= 0, 64-bit)
invalid_identifier   an email or phone number that does not normalize, an empty CRM id
                     (``journeyflow.stages.identity.keys``)
unknown_timezone     neither an IANA time zone nor a Windows zone name with a CLDR mapping: dropped, the
                     customer keeps the zone they had (else the policy's ``default_timezone`` applies)
windows_timezone     a Windows zone name (``Eastern Standard Time``) or a display name (``Eastern Time (US & Canada)``,
                     ``London``: ``stages.zone_names``) replaced by its IANA zone
                     (``America/New_York``), from CLDR's windowsZones as ``tzlocal`` ships it (action
                     ``replaced``)
===================  ==========================================================================================
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
    MISSING_TS_ATTRIBUTE = "missing_ts_attribute"
    BAD_TS_ATTRIBUTE = "bad_ts_attribute"
    TS_ATTRIBUTE_OUT_OF_RANGE = "ts_attribute_out_of_range"
    TS_MISMATCH = "ts_mismatch"
    DUPLICATE_EVENT = "duplicate_event"
    LATE_EVENT = "late_event"
    PROCESSING_ERROR = "processing_error"
    TRANSFER_UNKNOWN_VERSION = "transfer_unknown_version"
    TRANSFER_MISSING_TARGET = "transfer_missing_target"
    TRANSFER_UNDECODABLE = "transfer_undecodable"
    TRANSFER_INVALID = "transfer_invalid"


class FieldWarningReason(StrEnum):
    """Why an optional field of a kept record was dropped or replaced (see the module docstring for each meaning)."""

    WRONG_TYPE = "wrong_type"
    UNKNOWN_VALUE = "unknown_value"
    OUT_OF_RANGE = "out_of_range"
    INVALID_IDENTIFIER = "invalid_identifier"
    UNKNOWN_TIMEZONE = "unknown_timezone"
    WINDOWS_TIMEZONE = "windows_timezone"


#: Every field-warning reason as a plain string, in declaration order.
WARNING_REASONS: tuple[str, ...] = tuple(r.value for r in FieldWarningReason)

#: Dead letters of events that were parsed (their field warnings already written) and then not decided: dated after
#: the replay horizon (``--until``), late in streaming, failed in processing.  Their ``source`` is the event uid
#: ``<stream>/<event_id>``; a field warning of such a record is not one of a kept record (the report and the replay
#: summary count those apart).  (A ``duplicate_event`` is a second copy of a record whose first copy was kept.)
DEAD_AFTER_READ: tuple[str, ...] = (DeadLetterReason.TIMESTAMP_OUT_OF_RANGE.value, DeadLetterReason.LATE_EVENT.value,
                                    DeadLetterReason.PROCESSING_ERROR.value)
