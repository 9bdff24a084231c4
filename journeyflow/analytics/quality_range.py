"""The input range the time checks of :mod:`journeyflow.analytics.quality` use: given (epoch ms, ``datetime`` or
ISO-8601) or derived from the tables' own event times (see that module's docstring)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeyflow.model.reasons import DeadLetterReason
from journeyflow.stages import parse as _parse

#: Dead letters whose event_time is the problem: not used to derive the input range.
_UNTRUSTED_TIME_REASONS = frozenset({DeadLetterReason.BAD_TIMESTAMP.value, DeadLetterReason.TIMESTAMP_OUT_OF_RANGE.value})

#: Widening of a derived range on both sides, ms (a quiet-hours deferral fires after the last recorded step).
DERIVED_RANGE_SLACK_MS = 86_400_000


def _to_ms(v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError("a time is epoch milliseconds, a datetime or an ISO-8601 string")
    if isinstance(v, (int, float)):
        return int(v)
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return int(v.timestamp() * 1000)
    if isinstance(v, str):
        s = v.strip()
        if s.lstrip("-").isdigit():
            return int(s)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
        return _to_ms(dt)
    raise TypeError(f"cannot read a time from {v!r}")


def _ms_values(col: pa.ChunkedArray) -> list[int]:
    arr = pc.drop_null(col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()))
    if len(arr) == 0:
        return []
    mm = pc.min_max(arr).as_py()
    return [mm["min"], mm["max"]]


def derive_input_range(tables: dict[str, pa.Table],
                       slack_ms: int = DERIVED_RANGE_SLACK_MS) -> tuple[tuple[int, int], str]:
    """``((min_ts, max_ts), description)`` from the tables' own event times (see the module docstring)."""
    values: list[int] = []
    used: list[str] = []
    steps = tables.get("journey_steps")
    if steps is not None and steps.num_rows:
        if v := _ms_values(steps.column("at")):
            values += v
            used.append("journey_steps.at")
    snaps = tables.get("customer_snapshots")
    if snaps is not None and snaps.num_rows:
        for c in ("first_seen", "last_event"):
            if v := _ms_values(snaps.column(c)):
                values += v
                used.append(f"customer_snapshots.{c}")
    dl = tables.get("dead_letter")
    if dl is not None and dl.num_rows:
        keep = pc.invert(pc.is_in(dl.column("reason"), value_set=pa.array(sorted(_UNTRUSTED_TIME_REASONS))))
        if v := _ms_values(dl.filter(pc.fill_null(keep, True)).column("event_time")):
            values += v
            used.append("dead_letter.event_time")
    if not values:
        return (_parse.DEFAULT_MIN_TS, _parse.DEFAULT_MAX_TS), "no event times in the tables: parse defaults"
    return ((min(values) - slack_ms, max(values) + slack_ms),
            f"derived from {', '.join(used)} ± {slack_ms / 3_600_000:g} h")


def due_columns(df: pd.DataFrame, table: pa.Table, decided: list[int]) -> None:
    """The ``decisions`` frame's helper columns of the ``due_at`` checks (qa15b): ``_wait`` (``yes`` on a
    ``wait``), ``_due_missing`` (a ``wait`` without ``due_at`` while the column holds values: an output written
    before the column existed reads it as NULL on every row, and is not failed for it) and ``_due_not_after`` (a
    ``due_at`` at or before ``decided_at``: a deferral is to a later time, ``arbitration.quiet.quiet_due`` > now).
    ``decided``: ``decided_at`` in epoch ms, per row."""
    waits = (df["action"] == "wait").tolist()
    due = (table.column("due_at").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
           if "due_at" in table.column_names else [None] * len(df))
    written = any(d is not None for d in due)
    if "due_at" not in df.columns:  # (tables given in memory without the column: NULL, as read_table pads it)
        df["due_at"] = pd.Series([None] * len(df), index=df.index, dtype=object)
    df["_wait"] = pd.Series(["yes" if w else "no" for w in waits], index=df.index, dtype=object)
    df["_due_missing"] = [w and d is None and written for w, d in zip(waits, due)]
    df["_due_not_after"] = [d is not None and d <= t for d, t in zip(due, decided)]
