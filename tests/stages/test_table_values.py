"""The file sink's value rows (issue 22, session 22): a table row as the tuple of its column values, built straight
from the record, is the dict row's values in column order (``model.tables.value_row``); grouping, sorting and
converting value rows give the partitions, the order and the Arrow table the dict rows give; the replay's mapping
(``transforms.outputs.TABLE_ROWS``) and the dict rows' (``ROW_DICTS``) describe the same tables."""
from __future__ import annotations

import random
import re
from typing import NamedTuple

import pyarrow.parquet as pq
import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.decisions import CandidateOutcome, Decision
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.model.tables import (TABLES, by_partition, columns, sort_rows, sort_values, stored_row, to_arrow,
                                      value_row, values_by_partition, values_to_arrow)
from journeyflow.stages.journeys.model import JourneyStep
from journeyflow.transforms.coders import Batch
from journeyflow.transforms.outputs import ROW_DICTS, TABLE_ROWS
from journeyflow.transforms.sinks.files import _table_destinations, _write_destination

DAY = 86_400_000
T = 1_792_184_614_000
TEXTS = ("", "a", "crm:1", "crm:2", "é ü", "ann@example.com", "+44 7700 900123", "x\u2028y", "\U0001f600", "\x00")


def _text(rnd, none=True):
    return None if none and rnd.random() < 0.2 else rnd.choice(TEXTS)


def _time(rnd):
    return rnd.choice((T, T + 1, T + DAY, T - 5, 0, -1, T + 3 * DAY // 2))


def _decision(rnd):
    cands = tuple(CandidateOutcome(_text(rnd), _text(rnd), rnd.choice(("send", "route_case")), _text(rnd),
                                   _text(rnd), rnd.choice(("marketing", "service")), rnd.randint(-3, 9),
                                   rnd.choice(("frequency_cap", "lower_priority", "quiet_hours")))
                  for _ in range(rnd.randint(0, 3)))
    return Decision(decision_id=rnd.choice(("d_1", "d_2", "d_3")), customer_id=rnd.choice(("crm:1", "crm:2")),
                    decided_at=_time(rnd), journey_id=_text(rnd), step_id=_text(rnd),
                    action=rnd.choice(("send", "wait", "suppress", "none", "create_task")), channel=_text(rnd),
                    content_id=_text(rnd), category=_text(rnd), priority=rnd.randint(0, 5),
                    reason_codes=tuple(rnd.choice(TEXTS) for _ in range(rnd.randint(0, 2))), candidates=cands,
                    trigger_event_id=rnd.choice(TEXTS), address=_text(rnd), address_key=_text(rnd),
                    context=rnd.choice((None, {}, {"order_id": "o1"})),
                    due_at=rnd.choice((None, T + DAY)))


class OtherStep(NamedTuple):  # a step record whose fields are not the columns' order
    journey_id: str
    customer_id: str
    step_id: str | None
    kind: str
    at: int
    trigger_id: str
    detail: str


def _records(seed=7, n=300):
    rnd = random.Random(seed)
    steps = []
    for _ in range(n):
        fields = dict(customer_id=rnd.choice(("crm:1", "crm:2", "anon:x")), journey_id="welcome", step_id=_text(rnd),
                      kind=rnd.choice(("entered", "step")), at=_time(rnd), trigger_id="t", detail=_text(rnd, False))
        steps.append(rnd.choice((JourneyStep(**fields), OtherStep(**fields), fields)))
    dead = [DeadLetter(rnd.choice(("web", "crm")), rnd.choice(list(DeadLetterReason)), _text(rnd, False),
                       _text(rnd, False), rnd.choice(("web.jsonl:1", "web.jsonl:2", "")),
                       rnd.choice((None, T, T + DAY)), rnd.choice((None, {"k": "v é", "a": "ann@example.com"})))
            for _ in range(n)]
    warnings = [FieldWarning("web", "e1", "amount", rnd.choice(list(FieldWarningReason)), "dropped",
                             _text(rnd, False), _text(rnd), rnd.choice(("web.jsonl:1", "web.jsonl:9")), _time(rnd))
                for _ in range(n)]
    snapshots = [{"customer_id": rnd.choice(("crm:1", "crm:2")), "snapshot_at": rnd.choice((T, None, T + DAY)),
                  "identifiers": ["crm:1", "email:k"], "crm_ids": 1, "address_status": [],
                  "traits": rnd.choice((None, '{"note":"call ann@example.com"}', '{"plan":"pro"}')),
                  "state_bytes": rnd.randint(1, 900)} for _ in range(n)]
    links = [{"identifier_a": rnd.choice(("crm:1", "email:k")), "identifier_b": rnd.choice(("crm:2", "phone:p")),
              "customer_id": "crm:1", "event_id": rnd.choice(("web/1", "web/2")), "stream": "web",
              "ts": _time(rnd), "status": rnd.choice(("accepted", "refused")),
              "reason": rnd.choice((None, "max_identifiers"))} for _ in range(n)]
    return {"decisions": [_decision(rnd) for _ in range(n)], "steps": steps, "dead": dead, "warnings": warnings,
            "snapshots": snapshots, "links": links}


def _both(records, table):
    source, label, values, flat = TABLE_ROWS[table]
    dsource, dlabel, dicts, dflat = ROW_DICTS[table]
    assert (source, label, flat) == (dsource, dlabel, dflat)
    recs = records[source]
    dict_rows = (recs if dicts is None else [r for x in recs for r in dicts(x)] if flat else [dicts(x) for x in recs])
    value_rows = [r for x in recs for r in values(x)] if flat else [values(x) for x in recs]
    return dict_rows, value_rows


def test_every_value_row_is_the_dict_rows_values_in_column_order():
    assert tuple(TABLE_ROWS) == tuple(ROW_DICTS) == TABLES
    records = _records()
    for table in TABLES:
        dict_rows, value_rows = _both(records, table)
        assert value_rows and all(type(v) is tuple for v in value_rows), table
        assert value_rows == [value_row(table, r) for r in dict_rows], table
        assert all(len(v) == len(columns(table)) for v in value_rows)
    _, snaps = _both(records, "customer_snapshots")
    assert not any("ann@example.com" in (v[columns("customer_snapshots").index("traits")] or "") for v in snaps)


def test_value_rows_group_sort_and_convert_as_the_dict_rows_do(tmp_path):
    records = _records(seed=11)
    writes = 0
    for table in TABLES:
        dict_rows, value_rows = _both(records, table)
        by_dict = by_partition(table, dict_rows, Batch)
        by_value = values_by_partition(table, value_rows, Batch)
        assert list(by_dict) == list(by_value), table
        for part, rows in by_dict.items():
            values = by_value[part]
            assert type(values) is Batch and values == [value_row(table, r) for r in rows]
            rows, values = list(rows), list(values)
            sort_rows(table, rows)
            sort_values(table, values)
            assert values == [value_row(table, r) for r in rows], (table, part)
            got, want = values_to_arrow(table, values), to_arrow(table, rows)
            assert got.schema == want.schema and got.equals(want), (table, part)
        # the sink's own steps: the same Parquet rows from value rows as from dict rows
        for (kind, name, part), rows in _table_destinations(dict_rows, table):
            values = dict(((k, n, p), v) for (k, n, p), v in _table_destinations(value_rows, table))[(kind, name, part)]
            try:
                a, _ = _write_destination(((kind, name, part), [rows]), str(tmp_path / "dicts"))
            except Exception as e:  # (this data's nulls in a required column: refused alike)
                with pytest.raises(type(e), match=re.escape(str(e))):
                    _write_destination(((kind, name, part), [values]), str(tmp_path / "values"))
                continue
            b, _ = _write_destination(((kind, name, part), [values]), str(tmp_path / "values"))
            assert pq.read_table(a).equals(pq.read_table(b)) and pq.read_table(a).schema == pq.read_table(b).schema
            writes += 1
    assert writes > 20
    assert values_to_arrow("decisions", []).equals(to_arrow("decisions", []))


def test_a_null_among_key_values_sorts_as_the_dict_rows_fallback_does():
    rows = [{"stream": "web", "reason": r, "detail": "", "payload": "", "source": s, "event_time": t}
            for t, s, r in ((T, "b", "x"), (T, None, "x"), (None, "a", "y"), (T, "", None), (T, "a", "x"), (0, "c", "z"),
                            (T, "b", None))]
    rows.append({"stream": "web", "reason": "x", "detail": "", "payload": "", "event_time": T})  # no source
    values = [value_row("dead_letter", r) for r in rows]
    sort_rows("dead_letter", rows)
    sort_values("dead_letter", values)
    assert values == [value_row("dead_letter", r) for r in rows]


def test_stored_snapshot_values_mask_pii_like_stored_row():
    row = {"customer_id": "crm:1", "snapshot_at": T, "traits": '{"note":"call ann@example.com"}'}
    assert value_row("customer_snapshots", row) == tuple(stored_row("customer_snapshots", row).get(c)
                                                         for c in columns("customer_snapshots"))
    assert "ann@example.com" not in value_row("customer_snapshots", row)[columns("customer_snapshots").index("traits")]
