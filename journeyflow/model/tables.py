"""Analyst table schemas (one source of truth: ``schemas/bigquery/<table>.json``) and row builders.

The same JSON files are the BigQuery table schemas on Dataflow and, converted here, the Parquet (pyarrow) schemas
of the local tables, so both have the same columns and types.
"""
from __future__ import annotations

import json
import operator
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterable

import pyarrow as pa

from journeyflow.model.decisions import Decision
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.field_warnings import FieldWarning

#: The analyst tables, in the order both pipelines write them.
TABLES: tuple[str, ...] = ("decisions", "suppressed_candidates", "journey_steps", "customer_snapshots",
                           "identity_links", "dead_letter", "field_warnings")

_BQ_TO_ARROW = {
    "STRING": pa.string(),
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("ms", tz="UTC"),
}


@lru_cache(maxsize=None)
def table_spec(name: str) -> dict[str, Any]:
    """``schemas/bigquery/<name>.json``: ``fields`` (BigQuery schema) and ``partition_field`` (the time column).
    Raises ``FileNotFoundError`` for an unknown table."""
    return json.loads(resources.files("journeyflow.schemas").joinpath("bigquery", f"{name}.json").read_text())


def bigquery_schema(name: str) -> dict[str, Any]:
    """{"fields": [...]} as WriteToBigQuery expects it."""
    return {"fields": table_spec(name)["fields"]}


def _arrow_field(f: dict[str, Any]) -> pa.Field:
    if f["type"] == "RECORD":
        t = pa.struct([_arrow_field(x) for x in f["fields"]])
    else:
        t = _BQ_TO_ARROW[f["type"]]
    if f.get("mode") == "REPEATED":
        return pa.field(f["name"], pa.list_(t), nullable=True)
    return pa.field(f["name"], t, nullable=f.get("mode") != "REQUIRED")


@lru_cache(maxsize=None)
def arrow_schema(name: str) -> pa.Schema:
    """The Parquet (pyarrow) schema of table ``name``, converted from its BigQuery schema (TIMESTAMP: ms, UTC)."""
    return pa.schema([_arrow_field(f) for f in table_spec(name)["fields"]])


_PARTITION_FIELD: dict[str, str] = {}
_DAY_PARTITION: dict[int, str] = {}  # UTC day number → "date=YYYY-MM-DD" (strftime once per day, not per row)
_DAY_MS = 86_400_000


def _partition_field(name: str) -> str:
    col = _PARTITION_FIELD.get(name)
    if col is None:
        col = _PARTITION_FIELD[name] = table_spec(name)["partition_field"]
    return col


def _time_partition(t: Any) -> str:
    """``date=YYYY-MM-DD`` of a time column's value (epoch ms, UTC), ``date=unknown`` for None."""
    if t is None:
        return "date=unknown"
    if type(t) is int:
        day = t // _DAY_MS
        part = _DAY_PARTITION.get(day)
        if part is None:
            part = _DAY_PARTITION[day] = "date=" + datetime.fromtimestamp(
                day * 86_400, tz=timezone.utc).strftime("%Y-%m-%d")
        return part
    return "date=" + datetime.fromtimestamp(t / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def partition_of(name: str, row: dict[str, Any]) -> str:
    """Hive-style date partition (UTC day of the table's time column, epoch ms): ``date=YYYY-MM-DD``, or
    ``date=unknown`` without a time."""
    return _time_partition(row.get(_partition_field(name)))


def by_partition(name: str, rows: Iterable[dict[str, Any]], group: Callable[[], list] = list) -> dict[str, list]:
    """``rows`` of table ``name`` as stored (:func:`stored_row`) grouped by :func:`partition_of`: partition → its
    rows in input order (a new ``group()`` each, a list or a subclass), partitions in order of first row.  What a
    loop of the two calls per row gives, with the time column and the day's partition looked up inline (issue 22:
    every table row of a replay goes through here)."""
    col = _partition_field(name)
    days, store = _DAY_PARTITION, name == "customer_snapshots"
    out: dict[str, list] = {}
    for row in rows:
        if store:
            row = snapshot_table_row(row)
        t = row.get(col)
        part = days.get(t // _DAY_MS) if type(t) is int else None
        if part is None:  # (no time, not an int, or a day not seen yet: _time_partition remembers it)
            part = _time_partition(t)
        got = out.get(part)
        if got is None:
            out[part] = got = group()
        got.append(row)
    return out


#: The order of a table's rows in its local Parquet files (file sink and the bucketed replay's merge alike): by the
#: table's time column (its ``partition_field``; a null time first), then by these columns (a null as ""); rows equal
#: on all of them keep the order they were made in, which no runner scheduling changes: one customer's decisions,
#: suppressed candidates and journey steps of one instant in the order the fold made them, one record's field
#: warnings in the parser's order; identity links in the order the bounded path applies them (``(ts, event_id, a,
#: b)``: ``stages.identity.graph.resolve``; the rows came out of it in an order that varied between runs).  Without the second
#: key, rows of one time came in the order the runner delivered them: after ``--until``, a parse dead letter and an
#: event's dead letter dated after the horizon swapped from run to run (issue 22, session 20).
ROW_ORDER: dict[str, tuple[str, ...]] = {
    "decisions": ("customer_id",),
    "suppressed_candidates": ("customer_id",),
    "journey_steps": ("customer_id",),
    "customer_snapshots": ("customer_id",),
    "identity_links": ("event_id", "identifier_a", "identifier_b", "status", "customer_id"),
    "dead_letter": ("source", "reason"),
    "field_warnings": ("source",),
}
assert tuple(ROW_ORDER) == TABLES, "every analyst table, in TABLES order"


@lru_cache(maxsize=None)
def row_order_key(name: str) -> Callable[[dict[str, Any]], tuple]:
    """The sort key of table ``name``'s rows (dicts as stored) in :data:`ROW_ORDER`: ``(time or 0, column or "",
    ...)``; sort stably with it."""
    time_col = table_spec(name)["partition_field"]
    cols = ROW_ORDER[name]
    return lambda r: (r.get(time_col) or 0, *(r.get(c) or "" for c in cols))


@lru_cache(maxsize=None)
def _fast_order_key(name: str) -> Callable[[dict[str, Any]], tuple]:
    return operator.itemgetter(table_spec(name)["partition_field"], *ROW_ORDER[name])


def sort_rows(name: str, rows: list[dict[str, Any]]) -> None:
    """Sorts ``rows`` of table ``name`` (dicts as stored) in place, stably, by :func:`row_order_key`.  Tries the
    columns as they are first (``operator.itemgetter``: ~0.1 µs a row less); a row missing one, or a null compared
    with a value, sorts the rows as they were given by :func:`row_order_key` instead (the same order)."""
    before = rows[:]
    try:
        rows.sort(key=_fast_order_key(name))
    except (KeyError, TypeError):  # (a failed sort may have moved rows: start again from the order given)
        rows[:] = before
        rows.sort(key=row_order_key(name))


def to_arrow(name: str, rows: Iterable[dict[str, Any]]) -> pa.Table:
    """``rows`` (dicts with epoch-ms times) as a pyarrow Table with the schema of table ``name``."""
    return pa.Table.from_pylist(list(rows), schema=arrow_schema(name))


# ---------------------------------------------------------------- row builders
def decision_row(d: Decision) -> dict[str, Any]:
    """A ``decisions`` row: the decision without its delivery address."""
    return d.to_dict()  # never the delivery address


def suppressed_rows(d: Decision) -> list[dict[str, Any]]:
    """``suppressed_candidates`` rows: one per candidate the decision did not choose, with its reason."""
    return [{"decision_id": d.decision_id, "customer_id": d.customer_id, "decided_at": d.decided_at,
             **c._asdict(), "trigger_event_id": d.trigger_event_id} for c in d.candidates]


def dead_letter_row(dl: DeadLetter) -> dict[str, Any]:
    """A ``dead_letter`` row (the same object as the dead-letter topic's message)."""
    return dl.to_dict()


def field_warning_row(w: FieldWarning) -> dict[str, Any]:
    """A ``field_warnings`` row (``schemas/bigquery/field_warnings.json``; the same object as the field-warnings
    topic's message, values already PII-masked)."""
    return w.to_dict()


def snapshot_table_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ``customer_snapshots`` row as the table stores it: an email address or phone number in the ``traits`` JSON
    (a declared trait or a computed attribute whose *value* holds one, e.g. a ``contact_note`` trait of an
    ``identify`` call, "call ann@example.com") is masked (``<email>`` / ``<phone>``,
    :func:`journeyflow.stages.pii.mask_pii`): personal identifiers reach no analyst table unhashed.  Other rows are
    returned as they are (the same object)."""
    traits = row.get("traits")
    if traits:
        from journeyflow.stages.pii import contains_pii, mask_pii
        if contains_pii(traits, keep_uuids=True):
            return {**row, "traits": mask_pii(traits)}
    return row


def stored_row(name: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` of table ``name`` as a sink stores it (files and BigQuery alike; applied inside their existing steps,
    so no step label changes): :func:`snapshot_table_row` for ``customer_snapshots``, any other row unchanged."""
    return snapshot_table_row(row) if name == "customer_snapshots" else row


def journey_step_row(s: Any) -> dict[str, Any]:
    """A ``journey_steps`` row from a step record (a NamedTuple or a mapping)."""
    return s._asdict() if hasattr(s, "_asdict") else dict(s)


# ---------------------------------------------------------------- rows as the local files store them: value tuples
# The file sink (replay) carries a table's rows as plain tuples of the column values in schema order, not dicts:
# no dict built per row, half the bytes through the replay's shuffle, columns taken with one ``zip`` (issue 22).
# ``value_row(name, row)`` is the tuple of a dict row; the builders below give the same tuple straight from a record
# (tests/model/test_table_values.py compares them with the dict row builders above).
@lru_cache(maxsize=None)
def columns(name: str) -> tuple[str, ...]:
    """The column names of table ``name`` in schema order: the order of a value row."""
    return tuple(f["name"] for f in table_spec(name)["fields"])


def value_row(name: str, row: dict[str, Any]) -> tuple:
    """``row`` of table ``name`` (a dict) as the file sink stores it: the values of :func:`stored_row` in
    :func:`columns` order, None for a column the dict lacks (as ``to_arrow`` reads it)."""
    return tuple(map(stored_row(name, row).get, columns(name)))


def decision_values(d: Decision) -> tuple:
    """The ``decisions`` value row of ``d``: ``value_row("decisions", decision_row(d))``."""
    return (d.decision_id, d.customer_id, d.decided_at, d.journey_id, d.step_id, d.action, d.channel, d.content_id,
            d.category, d.priority, list(d.reason_codes), [c._asdict() for c in d.candidates], d.trigger_event_id,
            d.address_key, d.due_at if d.action == "wait" else None)


def suppressed_values(d: Decision) -> list[tuple]:
    """The ``suppressed_candidates`` value rows of ``d``: those of :func:`suppressed_rows`."""
    head, trigger = (d.decision_id, d.customer_id, d.decided_at), d.trigger_event_id
    return [(*head, *c, trigger) for c in d.candidates]  # (CandidateOutcome's fields are the middle columns)


_STEP_TUPLES: set[type] = set()  # NamedTuple classes whose fields are the journey_steps columns, in order


def journey_step_values(s: Any) -> tuple:
    """The ``journey_steps`` value row of a step record: ``value_row("journey_steps", journey_step_row(s))``; a
    ``JourneyStep`` (fields = the columns, in order) is its own tuple."""
    cls = s.__class__
    if cls in _STEP_TUPLES:
        return tuple(s)
    if getattr(cls, "_fields", None) == columns("journey_steps") and issubclass(cls, tuple):
        _STEP_TUPLES.add(cls)
        return tuple(s)
    return value_row("journey_steps", journey_step_row(s))


def dead_letter_values(dl: DeadLetter) -> tuple:
    """The ``dead_letter`` value row of ``dl``."""
    return value_row("dead_letter", dl.to_dict())


def field_warning_values(w: FieldWarning) -> tuple:
    """The ``field_warnings`` value row of ``w``."""
    return value_row("field_warnings", w.to_dict())


def snapshot_values(row: dict[str, Any]) -> tuple:
    """The ``customer_snapshots`` value row of a snapshot row (PII in ``traits`` masked: :func:`stored_row`)."""
    return value_row("customer_snapshots", row)


def link_values(row: dict[str, Any]) -> tuple:
    """The ``identity_links`` value row of a link row."""
    return value_row("identity_links", row)


def values_by_partition(name: str, rows: Iterable[tuple], group: Callable[[], list] = list) -> dict[str, list]:
    """:func:`by_partition` of value rows: partition → its rows in input order, partitions in order of first row."""
    i = columns(name).index(_partition_field(name))
    days = _DAY_PARTITION
    out: dict[str, list] = {}
    for row in rows:
        t = row[i]
        part = days.get(t // _DAY_MS) if type(t) is int else None
        if part is None:
            part = _time_partition(t)
        got = out.get(part)
        if got is None:
            out[part] = got = group()
        got.append(row)
    return out


@lru_cache(maxsize=None)
def _value_order(name: str) -> tuple[Callable[[tuple], tuple], Callable[[tuple], tuple]]:
    cols = columns(name)
    at = (cols.index(table_spec(name)["partition_field"]), *(cols.index(c) for c in ROW_ORDER[name]))
    time_i, rest = at[0], at[1:]
    return operator.itemgetter(*at), lambda r: (r[time_i] or 0, *(r[i] or "" for i in rest))


def sort_values(name: str, rows: list[tuple]) -> None:
    """:func:`sort_rows` of value rows: in place, stably, in the order :func:`row_order_key` gives the dict rows."""
    fast, slow = _value_order(name)
    before = rows[:]
    try:
        rows.sort(key=fast)
    except TypeError:  # (a null compared with a value: start again from the order given, nulls as in row_order_key)
        rows[:] = before
        rows.sort(key=slow)


def values_to_arrow(name: str, rows: list[tuple]) -> pa.Table:
    """Value rows of table ``name`` as a pyarrow Table: what :func:`to_arrow` gives for the dict rows (the same
    ``from_arrays`` of one list per column)."""
    schema = arrow_schema(name)
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in schema.names]
    return pa.Table.from_arrays(cols, schema=schema)
