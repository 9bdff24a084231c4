"""Data quality of a replay's analyst tables: one GX Core (great_expectations 1.x) suite per table.

``validate_output(OUT)`` reads ``OUT/tables/*`` (:mod:`journeyflow.analytics.tables`), validates every table against
its suite in one ephemeral GX context, adds a few cross-table checks written in plain pandas, and returns a
:class:`QualityReport` (``.ok``, ``.render()``, ``.to_dict()``).

What the suites check
---------------------
=====================  ================================================================================
table                  checks (besides the PII scan below)
=====================  ================================================================================
decisions              decision_id not null and unique; customer_id not null; action in ``ACTIONS``;
                       channel in ``CHANNELS + TASK_TARGETS`` (or null); category in ``CATEGORIES`` (or
                       null); decided_at inside the input range; a ``send`` goes to a message channel and
                       never carries the reason code ``consent``; a ``send`` on email, sms, call or push has
                       an ``address_key`` (``send_has_address``; a push's: the CRM id, ``crm:<id>``) of the
                       channel's kind (``send_address_fits_channel``: ``email:``, ``phone:``, ``crm:``, qa15d)
                       not blocked at the send (``send_not_to_blocked_address``, below); a ``wait`` has ``due_at``
                       after ``decided_at``, no other action has one (``due_at_*``: qa15b)
suppressed_candidates  decision_id / customer_id not null; reason is a known arbitration reason code
                       (:data:`SUPPRESSION_REASONS`) or ``rule:<name>``; action, channel and category known;
                       decided_at inside the input range
journey_steps          customer_id / journey_id not null; kind in :data:`STEP_KINDS`; ``at`` in range
customer_snapshots     customer_id not null and unique; consent_<channel> in :data:`CONSENT_STATUSES`
identity_links         status accepted|refused; reason null iff accepted (refused links need a reason);
                       reason is ``kind_cap:<kind>``, ``cluster_size_cap`` or ``shared_identifier``
dead_letter            reason not null and one of :data:`DEAD_LETTER_REASONS` (``parse.py``'s documented
                       reasons, the ``ts``-attribute ones of ``stages/attributes.py`` and ``duplicate_event``,
                       ``late_event``, ``processing_error``: every ``DeadLetterReason``)
field_warnings         stream in ``STREAMS``; field is an optional field of its stream
                       (``stages.fields.OPTIONAL_FIELDS``); reason in ``model.reasons.WARNING_REASONS``; action
                       dropped|replaced (replaced only for ``windows_timezone``); value null for the email and
                       phone fields (PII); event_time not null and inside the input range
=====================  ================================================================================

Every table, besides: every column its schema declares ``REQUIRED`` is not null (``<col>_not_null``: GX's set,
regex and range checks skip nulls, so a null ``action``, ``kind``, ``reason`` or time passed them); decisions: a
``send`` / ``create_task`` / ``route_case`` / ``wait`` names its journey, step and channel
(``<col>_set_when_acted``).

Every table: no raw email address or phone number in any string column
(``ExpectColumnValuesToNotMatchRegex`` with :data:`EMAIL_REGEX`, check ``no_raw_email``, and :data:`PHONE_REGEX`,
check ``no_raw_phone``).  Every string of the table goes into one long frame (``column``, ``value``, key column):
the scalar string columns, the ``list<string>`` columns exploded (``reason_codes[]``, ``identifiers[]``) and the
string fields of ``list<struct>`` columns (``candidates[].content_id`` ...).  Two expectations per table then cover
every column (GX's cost is per expectation, not per row); a failure names the columns and the rows (key column)
where the values were found.

Cross-table checks (plain pandas, reported alongside, expectation ``pandas:<name>``):

* every ``suppressed_candidates`` row belongs to a decision, and each decision lists exactly as many candidates as
  ``suppressed_candidates`` has rows for it (the table is an explosion of ``decisions.candidates``);
* blocked address (derived column ``_address_blocked`` of ``decisions``, checked by GX as
  ``send_not_to_blocked_address``): a send whose ``address_key`` has, for that channel, in *any* customer's
  snapshot (``customer_snapshots.address_status``: address statuses reach every customer holding the address) a
  final blocking status (revoked, unsubscribed, complained, bounced) that started at or before the send.  The
  final status held since ``since``, so it held at the send: sound, though a block that was lifted before the end
  of the run (an opt-out followed by a new grant) is not seen.  A push (``address_key`` the user's ``crm:<id>``):
  every push status of the customer's snapshot -- its devices' and that user's -- blocks (an opt-out or
  ``unregistered``) since the send or earlier, and the snapshot has no push consent (whose time it does not keep:
  a later re-registration grant would lift the blocks);
* deleted accounts (:mod:`~journeyflow.analytics.quality_deleted`, qa15d): no send, task, case or wait decided,
  and no journey entered or advanced, at or after a ``customer_snapshots.deleted_at`` (from a later merge's link
  when one brought the deletion; a deletion that came late is not checked);
* holdout (:mod:`~journeyflow.analytics.quality_holdout`): no send/task/case/wait of a journey for its control arm;
* consent at decision time: no ``send`` on a channel at a moment (customer, decided_at, trigger) where a candidate of
  the same channel and category was suppressed with reason ``consent`` (the consent rule only depends on
  channel, category and the customer's state at that moment, so both cannot be right).
  A check against ``customer_snapshots`` consent is deliberately not made: a snapshot has the end-of-run status
  only, not when it changed, so a send before a later revocation is indistinguishable from a violation.

Input range: ``validate_output(out, input_range=(min_ts, max_ts))`` (epoch ms, ``datetime`` or ISO-8601 strings).
Without it the range is derived from the data: the earliest/latest of ``journey_steps.at``,
``customer_snapshots.first_seen``/``last_event`` and ``dead_letter.event_time`` (except dead letters whose time is
the problem: ``bad_timestamp``, ``timestamp_out_of_range``), widened by
:data:`~journeyflow.analytics.quality_range.DERIVED_RANGE_SLACK_MS` on both sides
(a quiet-hours deferral fires after the last recorded step).  With no usable time at all it falls back to
``parse.DEFAULT_MIN_TS .. DEFAULT_MAX_TS``.

great_expectations is imported lazily (it takes seconds); ``GX_ANALYTICS_ENABLED=False`` is put into the
environment when this module is imported, unless it is already set, so GX never sends usage statistics.
"""
from __future__ import annotations

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # before great_expectations is ever imported

import re  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import lru_cache  # noqa: E402
from typing import Any, Iterable, Sequence  # noqa: E402

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from journeyflow.analytics.quality_address import final_address_blocks, push_blocked, push_rows  # noqa: E402
from journeyflow.analytics.quality_cross import cross_checks  # noqa: E402
from journeyflow.analytics.quality_deleted import deletion_checks  # noqa: E402
from journeyflow.analytics.quality_holdout import holdout_checks  # noqa: E402
from journeyflow.analytics.quality_range import _to_ms, derive_input_range, due_columns  # noqa: E402
from journeyflow.analytics.quality_report import CheckResult, QualityReport  # noqa: E402
from journeyflow.analytics.tables import TABLES, read_table, table_exists  # noqa: E402
from journeyflow.model.decisions import (  # noqa: E402
    ACTIONS, ADDRESS_FOR_CHANNEL, ADDRESSED_CHANNELS, CATEGORIES, CHANNELS, TASK_TARGETS)
from journeyflow.model.events import STREAMS  # noqa: E402
from journeyflow.model.tables import table_spec  # noqa: E402
from journeyflow.model.reasons import WARNING_REASONS, DeadLetterReason, FieldWarningReason  # noqa: E402
from journeyflow.stages.fields import PII_FIELDS, warning_field_families, warning_field_family  # noqa: E402
from journeyflow.stages.arbitration import REASON_CODES  # noqa: E402
from journeyflow.stages.state import BLOCKING  # noqa: E402

__all__ = [
    "CheckResult", "QualityReport", "validate_output", "validate_tables", "derive_input_range", "redact",
    "EMAIL_REGEX", "PHONE_REGEX", "SUPPRESSION_REASONS", "DEAD_LETTER_REASONS", "STEP_KINDS", "CONSENT_STATUSES",
]

# ------------------------------------------------------------------------------------------------ vocabularies
#: Raw email addresses.  ``<email>`` (the dead-letter mask) and identifier keys (``email:<hex>``) do not match.
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
#: Raw phone numbers a regex can tell (``journeyflow.stages.pii`` also masks bare digit runs that ``phonenumbers``
#: finds valid, which a GX regex expectation cannot check): international numbers (``+`` then 8+ digits and
#: separators: ``+1 (415) 555-0134``, ``+14155550134``, also after a colon as in ``phone:+1415…``) and formatted
#: national ones (``(415) 555-0134``, ``415.555.0134``, ``020 7946 0958``).  Bare digit runs are not phones: in these
#: tables they are epoch times (``"ts": 1790820058024`` in dead-letter payloads, timer-id suffixes) or numeric ids.
#: Guards against ids: a match may not continue a word or an id (hashed hex keys, ``d_…`` ids, ``ORD-000123456``,
#: digit-only groups inside UUIDs) and may not run into letters.
PHONE_REGEX = (r"(?<![\w/=.])\+\d[\d\s().-]{6,}\d(?!\w)"
               r"|(?<![\w:/=.+-])\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{4}(?!\w)")

#: Reasons a candidate is not chosen (``suppressed_candidates.reason``); ``rule:<name>`` is also accepted.
SUPPRESSION_REASONS: tuple[str, ...] = tuple(dict.fromkeys((
    "consent", "open_ticket", "recent_purchase", "frequency_cap", "quiet_hours_deferred", "duplicate_content",
    "lower_priority", "exclusion_group", "control_group", *REASON_CODES)))
SUPPRESSION_REASON_REGEX = r"^(?:" + "|".join(map(re.escape, SUPPRESSION_REASONS)) + r")$|^rule:\S+$"

STEP_KINDS: tuple[str, ...] = ("entered", "step", "waiting", "exited", "goal", "entry_refused", "cancelled")
LINK_STATUSES: tuple[str, ...] = ("accepted", "refused")
LINK_REASON_REGEX = r"^(?:kind_cap:[a-z_]+|cluster_size_cap|shared_identifier)$"
CONSENT_STATUSES: tuple[str, ...] = ("granted", *sorted(BLOCKING))


_EMAIL_RX = re.compile(EMAIL_REGEX)
_PHONE_RX = re.compile(PHONE_REGEX)


def redact(text: str) -> str:
    """``text`` with raw emails/phones replaced by a hint (``<email j…>``, ``<phone …00>``) for reports."""
    text = _EMAIL_RX.sub(lambda m: f"<email {m.group(0)[0]}…>", text)
    return _PHONE_RX.sub(lambda m: f"<phone …{m.group(0)[-2:]}>", text)


#: The key prefix of a send's ``address_key`` per channel: a contact entry's kind (``ADDRESS_FOR_CHANNEL``), and a
#: push's the customer's CRM id (``stages.push_devices.push_address``).
ADDRESS_KEY_PREFIX: dict[str, str] = {**{ch: f"{kind}:" for ch, kind in ADDRESS_FOR_CHANNEL.items()}, "push": "crm:"}

#: Every dead-letter reason (``dead_letter.reason``), as plain strings.
DEAD_LETTER_REASONS: tuple[str, ...] = tuple(r.value for r in DeadLetterReason)
MAX_EXAMPLES = 5
#: Unexpected values GX returns per check (their columns and keys are named in the report).
PARTIAL_UNEXPECTED = 20

#: Column identifying a row in each table: shown next to unexpected values.
KEY_COLUMN: dict[str, str] = {
    "decisions": "decision_id",
    "suppressed_candidates": "decision_id",
    "journey_steps": "customer_id",
    "customer_snapshots": "customer_id",
    "identity_links": "event_id",
    "dead_letter": "source",
    "field_warnings": "source",
}
#: Time column checked against the input range.
RANGE_COLUMN: dict[str, str] = {"decisions": "decided_at", "suppressed_candidates": "decided_at",
                                "journey_steps": "at", "field_warnings": "event_time"}
#: ``<stream>.<field>`` of every optional field, ``<stream>.<prefix>*`` of a configured path (``stages.fields``).
OPTIONAL_STREAM_FIELDS: tuple[str, ...] = warning_field_families()
#: What a field warning did with the field.
WARNING_ACTIONS: tuple[str, ...] = ("dropped", "replaced")
#: Decision actions that name a journey step and a channel (executed, or deferred by quiet hours).
ACTED: tuple[str, ...] = ("send", "create_task", "route_case", "wait")


def required_columns(name: str) -> list[str]:
    """The scalar columns ``schemas/bigquery/<name>.json`` declares ``REQUIRED`` (each gets ``<col>_not_null``)."""
    return [f["name"] for f in table_spec(name)["fields"] if f.get("mode") == "REQUIRED" and f["type"] != "RECORD"]


# ------------------------------------------------------------------------------------------------ frames
def _string_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def _list_string_leaves(schema: pa.Schema) -> list[tuple[str, str, str | None]]:
    """``(label, list column, struct field or None)`` for list<string> and list<struct<…string…>> columns."""
    out = []
    for f in schema:
        if not pa.types.is_list(f.type):
            continue
        vt = f.type.value_type
        if pa.types.is_string(vt):
            out.append((f"{f.name}[]", f.name, None))
        elif pa.types.is_struct(vt):
            for sub in vt:
                if pa.types.is_string(sub.type):
                    out.append((f"{f.name}[].{sub.name}", f.name, sub.name))
    return out


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _main_frame(name: str, table: pa.Table, tables: dict[str, pa.Table] | None = None) -> pd.DataFrame:
    """Scalar columns of the table (list columns dropped) plus derived helper columns (prefixed ``_``)."""
    scalar = [f.name for f in table.schema if not pa.types.is_list(f.type)]
    df = _to_pandas(table.select(scalar))
    if name == "decisions":
        flat = pc.list_flatten(table.column("reason_codes"))
        parents = pc.list_parent_indices(table.column("reason_codes"))
        mask = pc.equal(flat, "consent")
        flagged = set(pc.filter(parents, pc.fill_null(mask, False)).to_pylist())
        df["_reason_codes_has_consent"] = [i in flagged for i in range(table.num_rows)]
        if "address_key" not in df.columns:
            df["address_key"] = pd.Series([None] * len(df), dtype=object)
        sends = df["action"] == "send"
        df["_acted"] = df["action"].isin(ACTED).map({True: "yes", False: "no"})
        df["_needs_address"] = (sends & df["channel"].isin(ADDRESSED_CHANNELS)).map({True: "yes", False: "no"})
        df["_address_misfit"] = [bool(send) and isinstance(key, str) and not key.startswith(
            ADDRESS_KEY_PREFIX.get(ch, "\x00")) for send, key, ch in zip(sends, df["address_key"], df["channel"])]
        blocks = final_address_blocks((tables or {}).get("customer_snapshots"))
        push = push_rows((tables or {}).get("customer_snapshots"))  # (a push: every device blocked, no grant)
        at = table.column("decided_at").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
        df["_address_blocked"] = [
            bool(send) and (((key, ch) in blocks and blocks[(key, ch)] <= t)
                            or (ch == "push" and push_blocked(push.get(cid), key, t)))
            for send, key, ch, t, cid in zip(sends, df["address_key"], df["channel"], at, df["customer_id"])]
        due_columns(df, table, at)
    elif name == "field_warnings":
        df["_stream_field"] = pd.Series([f"{s}.{warning_field_family(str(s), str(f))}" for s, f in zip(
            df["stream"], df["field"])], index=df.index, dtype=object)
    return df


def _strings_frame(name: str, table: pa.Table) -> pd.DataFrame:
    """Every string of the table, long: (``column``, ``value``, key column).

    Scalar string columns keep their name; list<string> columns are exploded as ``<col>[]`` and the string fields
    of list<struct> columns as ``<col>[].<field>``.  Nulls are left out.
    """
    key = KEY_COLUMN[name]
    keycol = table.column(key).combine_chunks()
    labels, values, keys = [], [], []

    def add(label: str, arr: pa.Array, key_values: pa.Array) -> None:
        valid = pc.is_valid(arr)
        arr, key_values = pc.filter(arr, valid), pc.filter(key_values, valid)
        labels.append(pa.array([label] * len(arr), pa.string()))
        values.append(arr.cast(pa.string()))
        keys.append(key_values.cast(pa.string()))

    for col in _string_columns(table.schema):
        add(col, table.column(col).combine_chunks(), keycol)
    for label, col, sub in _list_string_leaves(table.schema):
        lst = table.column(col).combine_chunks()
        flat = pc.list_flatten(lst)
        if sub is not None:
            flat = pc.struct_field(flat, sub)
        add(label, flat, pc.take(keycol, pc.list_parent_indices(lst)))
    if not labels:
        return pd.DataFrame({"column": pd.Series([], dtype=object), "value": pd.Series([], dtype=object),
                             key: pd.Series([], dtype=object)})
    return _to_pandas(pa.table({"column": pa.concat_arrays(labels), "value": pa.concat_arrays(values),
                                key: pa.concat_arrays(keys)}))


# ------------------------------------------------------------------------------------------------ GX
@lru_cache(maxsize=1)
def _gx() -> tuple[Any, Any, Any]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column
    return gx, gxe, Column


@dataclass
class _Frame:
    table: str
    asset: str
    frame: pd.DataFrame
    expectations: list[Any]  # GX Expectations, each with meta={"check": name}
    key: str
    strings: bool = False  # the long (column, value, key) frame of the PII scan


def _suite(name: str, rng: tuple[int, int]) -> list[Any]:
    """The expectations of one table's main frame (each named by ``meta["check"]``)."""
    _, gxe, Column = _gx()
    lo, hi = (pd.Timestamp(t, unit="ms", tz="UTC") for t in rng)
    out: list[Any] = []

    def add(check: str, cls: Any, **kw: Any) -> None:
        out.append(cls(meta={"check": check}, **kw))

    def not_null(col: str) -> None:
        add(f"{col}_not_null", gxe.ExpectColumnValuesToNotBeNull, column=col)

    def in_set(col: str, values: Iterable[str], check: str | None = None, **kw: Any) -> None:
        add(check or f"{col}_known", gxe.ExpectColumnValuesToBeInSet, column=col, value_set=list(values), **kw)

    if name == "decisions":
        not_null("decision_id")
        add("decision_id_unique", gxe.ExpectColumnValuesToBeUnique, column="decision_id")
        not_null("customer_id")
        in_set("action", ACTIONS)
        in_set("channel", (*CHANNELS, *TASK_TARGETS))
        in_set("category", CATEGORIES)
        in_set("channel", CHANNELS, check="send_to_message_channel", row_condition=Column("action") == "send")
        in_set("_reason_codes_has_consent", [False], check="send_not_blocked_by_consent",
               row_condition=Column("action") == "send")
        add("send_has_address", gxe.ExpectColumnValuesToNotBeNull, column="address_key",
            row_condition=Column("_needs_address") == "yes")
        in_set("_address_misfit", [False], check="send_address_fits_channel",
               row_condition=Column("_needs_address") == "yes")
        in_set("_address_blocked", [False], check="send_not_to_blocked_address",
               row_condition=Column("action") == "send")
        in_set("_due_missing", [False], check="due_at_set_on_wait", row_condition=Column("_wait") == "yes")
        add("due_at_only_on_wait", gxe.ExpectColumnValuesToBeNull, column="due_at", row_condition=Column("_wait") == "no")
        in_set("_due_not_after", [False], check="due_at_after_decided_at", row_condition=Column("_wait") == "yes")
        for col in ("journey_id", "step_id", "channel"):  # an action (or its deferral) is a journey step's
            add(f"{col}_set_when_acted", gxe.ExpectColumnValuesToNotBeNull, column=col,
                row_condition=Column("_acted") == "yes")
    elif name == "suppressed_candidates":
        not_null("decision_id")
        not_null("customer_id")
        add("reason_known", gxe.ExpectColumnValuesToMatchRegex, column="reason", regex=SUPPRESSION_REASON_REGEX)
        in_set("action", ACTIONS)
        in_set("channel", (*CHANNELS, *TASK_TARGETS))
        in_set("category", CATEGORIES)
    elif name == "journey_steps":
        not_null("customer_id")
        not_null("journey_id")
        in_set("kind", STEP_KINDS)
    elif name == "customer_snapshots":
        not_null("customer_id")
        add("customer_id_unique", gxe.ExpectColumnValuesToBeUnique, column="customer_id")
        for ch in CHANNELS:
            in_set(f"consent_{ch}", CONSENT_STATUSES)
    elif name == "identity_links":
        in_set("status", LINK_STATUSES)
        add("refused_link_has_reason", gxe.ExpectColumnValuesToNotBeNull, column="reason",
            row_condition=Column("status") == "refused")
        add("accepted_link_has_no_reason", gxe.ExpectColumnValuesToBeNull, column="reason",
            row_condition=Column("status") == "accepted")
        add("reason_known", gxe.ExpectColumnValuesToMatchRegex, column="reason", regex=LINK_REASON_REGEX)
    elif name == "dead_letter":
        not_null("reason")
        in_set("reason", DEAD_LETTER_REASONS)
    elif name == "field_warnings":
        for col in ("stream", "event_id", "field", "reason", "action", "event_time"):
            not_null(col)
        in_set("stream", STREAMS)
        in_set("_stream_field", OPTIONAL_STREAM_FIELDS, check="field_is_optional")
        in_set("reason", WARNING_REASONS)
        in_set("action", WARNING_ACTIONS)
        in_set("reason", [FieldWarningReason.WINDOWS_TIMEZONE.value], check="replaced_only_for_windows_timezone",
               row_condition=Column("action") == "replaced")
        for pii in sorted(PII_FIELDS):
            add(f"no_value_for_{pii}", gxe.ExpectColumnValuesToBeNull, column="value",
                row_condition=Column("field") == pii)
    checked = {e.meta["check"] for e in out}  # GX's set, regex and range checks skip nulls: REQUIRED is its own
    for col in required_columns(name):
        if f"{col}_not_null" not in checked:
            not_null(col)
    if name in RANGE_COLUMN:
        col = RANGE_COLUMN[name]
        add(f"{col}_in_input_range", gxe.ExpectColumnValuesToBeBetween, column=col, min_value=lo, max_value=hi)
    return out


def _pii_suite() -> list[Any]:
    """On the long strings frame: one expectation per pattern covers every string column of the table."""
    _, gxe, _ = _gx()
    return [gxe.ExpectColumnValuesToNotMatchRegex(column="value", regex=EMAIL_REGEX, meta={"check": "no_raw_email"}),
            gxe.ExpectColumnValuesToNotMatchRegex(column="value", regex=PHONE_REGEX, meta={"check": "no_raw_phone"})]


def _error_of(exc: Any) -> str | None:
    if not isinstance(exc, dict):
        return None
    if exc.get("raised_exception"):
        return str(exc.get("exception_message") or "exception")
    for v in exc.values():  # several metrics failing at once come back keyed by metric
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message") or "exception")
    return None


def _result_of(f: _Frame, r: Any) -> CheckResult:
    res = r.result or {}
    cfg = r.expectation_config
    idx = [d for d in (res.get("partial_unexpected_index_list") or []) if isinstance(d, dict)]
    keys = tuple(dict.fromkeys(_plain(d.get(f.key)) for d in idx if d.get(f.key) is not None))[:MAX_EXAMPLES]
    if f.strings:  # name the string columns the unexpected values were found in
        cols = list(dict.fromkeys(str(d["column"]) for d in idx if d.get("column") is not None))
        column = ", ".join(cols) if cols else "all strings"
    else:
        column = cfg.kwargs.get("column")
    examples = tuple(_plain(v) for v in (res.get("partial_unexpected_list") or [])[:MAX_EXAMPLES])
    if f.strings:  # the report must not repeat the PII it found
        examples = tuple(redact(str(v)) for v in examples)
    return CheckResult(
        table=f.table, check=str((cfg.meta or {}).get("check") or cfg.type), expectation=cfg.type, column=column,
        success=bool(r.success), element_count=res.get("element_count"), unexpected_count=res.get("unexpected_count"),
        observed_value=_plain(res.get("observed_value")),
        examples=examples, keys=keys, error=_error_of(r.exception_info))


def _plain(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    if hasattr(v, "item") and not isinstance(v, (list, tuple, dict, str)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return str(v)
    return v


def _validate_frames(frames: Sequence[_Frame]) -> list[CheckResult]:
    """Run every frame through its suite, in one ephemeral GX context; results in suite order."""
    gx, _, _ = _gx()
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    source = context.data_sources.add_pandas(name="journeyflow")
    out: list[CheckResult] = []
    for f in frames:
        if not f.expectations:
            continue
        batch_def = source.add_dataframe_asset(name=f.asset).add_batch_definition_whole_dataframe(f.asset)
        # passing the expectations to the constructor stores the suite once (add_expectation re-serializes it)
        suite = context.suites.add(gx.ExpectationSuite(name=f.asset, expectations=f.expectations))
        vd = context.validation_definitions.add(gx.ValidationDefinition(name=f.asset, data=batch_def, suite=suite))
        index_cols = ["column", f.key] if f.strings else [f.key]
        run = vd.run(batch_parameters={"dataframe": f.frame},
                     result_format={"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED,
                                    "unexpected_index_column_names": index_cols})
        order = {str((e.meta or {}).get("check")): i for i, e in enumerate(f.expectations)}
        results = [_result_of(f, r) for r in run.results]
        out.extend(sorted(results, key=lambda c: order.get(c.check, len(order))))
    return out


# ------------------------------------------------------------------------------------------------ entry points
def validate_tables(tables: dict[str, pa.Table], input_range: tuple[Any, Any] | None = None,
                    out_dir: str = "<tables>", missing: Sequence[str] = ()) -> QualityReport:
    """Validate already-loaded tables (``{name: pyarrow.Table}``); see :func:`validate_output`."""
    t0 = time.perf_counter()
    if input_range is not None:
        rng = (_to_ms(input_range[0]), _to_ms(input_range[1]))
        source = "given"
    else:
        rng, source = derive_input_range(tables)
    frames: list[_Frame] = []
    for name in TABLES:
        table = tables.get(name)
        if table is None:
            continue
        key = KEY_COLUMN[name]
        frames.append(_Frame(name, name, _main_frame(name, table, tables), _suite(name, rng), key))
        frames.append(_Frame(name, f"{name}__strings", _strings_frame(name, table), _pii_suite(), key, strings=True))
    results = [*_validate_frames(frames), *cross_checks(tables, MAX_EXAMPLES), *deletion_checks(tables, MAX_EXAMPLES),
               *holdout_checks(tables, MAX_EXAMPLES)]
    return QualityReport(out_dir=str(out_dir), input_range=rng, range_source=source,
                         row_counts={n: t.num_rows for n, t in tables.items()}, missing_tables=list(missing),
                         results=results, seconds=time.perf_counter() - t0)


def validate_output(out_dir: str | os.PathLike[str], input_range: tuple[Any, Any] | None = None) -> QualityReport:
    """Validate every analyst table of ``out_dir`` (one ephemeral GX context per call).

    ``input_range``: ``(min_ts, max_ts)`` of the replayed input (epoch ms, datetime or ISO-8601); derived from the
    tables when omitted.  A table directory that is missing is reported as a failure (the pipeline always writes
    ``_schema.parquet``), and the table is validated as empty.
    """
    missing = [n for n in TABLES if not table_exists(out_dir, n)]
    tables = {n: read_table(out_dir, n) for n in TABLES}
    return validate_tables(tables, input_range=input_range, out_dir=str(out_dir), missing=missing)
