"""Session 20 (g): an analyst table's rows are in one order whatever order the runner delivers them in.

With ``replay --until``, the ``dead_letter`` rows of one time came in the order the runner fed the file sink the
parse's dead letters and those dated after the horizon (``AllDeadLetters``, a Flatten: 1 run in 7 on a generated
population swapped them).  Rows are now sorted by time, then by each table's ``ROW_ORDER`` columns
(``journeyflow.model.tables``), stably: rows equal on those keep the order they were made in (one customer's steps
of one instant in the fold's order).  The bucketed replay's merge keeps the same order, so ``--buckets 3`` writes
the same rows in the same order as one pipeline.
"""
from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.reasons import DeadLetterReason
from journeyflow.model.tables import (ROW_ORDER, TABLES, arrow_schema, dead_letter_row, row_order_key,
                                      sort_rows)
from journeyflow.pipelines import replay_merge as rm
from journeyflow.transforms.coders import Batch
from journeyflow.transforms.sinks.files import _write_destination

T = 1_792_184_614_000  # 2026-10-16T21:03:34Z


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _write(tmp_path: Path, name: str, table: str, part: str, values: list) -> list[dict]:
    out = tmp_path / name
    path, _ = _write_destination((("table", table, part), values), str(out))
    return _rows(Path(path))


def test_every_table_has_its_order_and_the_columns_exist():
    assert tuple(ROW_ORDER) == TABLES
    for table, cols in ROW_ORDER.items():
        assert set(cols) <= set(arrow_schema(table).names), table


def test_dead_letters_of_one_time_are_in_one_order_whichever_list_comes_first(tmp_path):
    """The parse's dead letters and those dated after ``--until`` reach the sink as separate lists: either first."""
    parse = Batch([dead_letter_row(DeadLetter("web", DeadLetterReason.UNKNOWN_TYPE, "web type 'x'", "{}",
                                              "web.jsonl:8962", T)),
                   dead_letter_row(DeadLetter("web", DeadLetterReason.UNKNOWN_TYPE, "web type 'x'", "{}",
                                              "web.jsonl:12", T - 1))])
    late = Batch([dead_letter_row(DeadLetter("track", DeadLetterReason.TIMESTAMP_OUT_OF_RANGE, "after the horizon",
                                             "", "track/seg-web-011995", T))])
    part = "date=2026-10-16"
    first = _write(tmp_path, "a", "dead_letter", part, [parse, late])
    second = _write(tmp_path, "b", "dead_letter", part, [late, parse])
    assert first == second
    assert [r["source"] for r in first] == ["web.jsonl:12", "track/seg-web-011995", "web.jsonl:8962"]  # time, source


def _step(customer: str, step: str, at: int = T) -> dict:
    return {"customer_id": customer, "journey_id": "welcome", "step_id": step, "kind": "step", "at": at,
            "trigger_id": "t", "detail": ""}


def test_one_customers_rows_of_one_instant_keep_their_order_and_customers_are_sorted(tmp_path):
    """Steps of one instant: by customer; each customer's in the fold's order (not sorted by step name)."""
    ann = Batch([_step("crm:B", "wait_2d"), _step("crm:B", "pick_channel"), _step("crm:B", "done")])
    bob = Batch([_step("crm:A", "wait_2d"), _step("crm:A", "email"), _step("crm:A", "done")])
    part = "date=2026-10-16"
    first = _write(tmp_path, "a", "journey_steps", part, [ann, bob])
    second = _write(tmp_path, "b", "journey_steps", part, [bob, ann])
    assert first == second
    assert [(r["customer_id"], r["step_id"]) for r in first] == [
        ("crm:A", "wait_2d"), ("crm:A", "email"), ("crm:A", "done"),
        ("crm:B", "wait_2d"), ("crm:B", "pick_channel"), ("crm:B", "done")]


def test_a_null_or_missing_key_column_sorts_as_empty_text_and_the_sort_stays_stable():
    key = row_order_key("dead_letter")
    rows = [{"event_time": T, "source": "b", "reason": "x", "n": 0}, {"event_time": T, "source": "a", "reason": "x",
                                                                       "n": 1},
            {"event_time": T, "source": None, "reason": "x", "n": 2}, {"event_time": T, "source": "", "reason": "x",
                                                                       "n": 3},
            {"event_time": T, "source": "a", "reason": "x", "n": 4}, {"event_time": T - 1, "reason": "y", "n": 5}]
    for given in (rows, rows[::-1]):
        got = list(given)
        sort_rows("dead_letter", got)  # (a null compared with text: the fast sort fails, the fallback sorts)
        assert got == sorted(given, key=key)
    got = list(rows)
    sort_rows("dead_letter", got)
    assert [r["n"] for r in got] == [5, 2, 3, 1, 4, 0]


@pytest.mark.parametrize("batch_rows", [1, 2, 4096])
def test_the_bucket_merge_keeps_the_sinks_order(tmp_path, monkeypatch, batch_rows):
    """Pieces sorted by (time, source, reason), with ties of time across pieces and rows equal on every key in one
    piece: the merge gives the stable sort of all rows by that key (what one sink given every row writes)."""
    monkeypatch.setattr(rm, "MERGE_BATCH_ROWS", batch_rows)
    rnd = random.Random(7)
    key = row_order_key("dead_letter")
    pieces, every = [], []
    for p in range(4):
        rows = [{"stream": "web", "reason": rnd.choice(["a", "b"]), "detail": f"p{p}r{i}", "payload": "",
                 "source": rnd.choice(["s1", "s2", "s3", ""]) if p else "s2",
                 "event_time": rnd.choice([T, T + 1, T + 2]), "attributes": None} for i in range(9)]
        rows.sort(key=key)
        every += rows
        path = tmp_path / f"piece{p}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema("dead_letter")), path)
        pieces.append(str(path))
    out = tmp_path / "merged.parquet"
    assert rm.merge_sorted_parquet(pieces, str(out), ("event_time", *ROW_ORDER["dead_letter"])) == len(every)
    got = [(r["event_time"], r["source"] or "", r["reason"]) for r in _rows(out)]
    assert got == sorted(got)
    assert sorted(r["detail"] for r in _rows(out)) == sorted(r["detail"] for r in every)
    # rows equal on every key: in their piece's order
    ties = [r["detail"] for r in _rows(out) if (r["source"] or "") == "s2" and r["reason"] == "a"
            and r["event_time"].timestamp() * 1000 == T]
    assert ties == sorted(ties, key=lambda d: (int(d[1]), int(d[3:])))


def _tables(out: Path) -> dict[str, list[dict]]:
    return {str(p.relative_to(out)): _rows(p) for p in sorted(out.glob("tables/*/date=*/*.parquet"))}


@pytest.mark.slow
def test_until_replay_tables_are_the_same_rows_in_the_same_order_one_pipeline_or_buckets(tmp_path, monkeypatch):
    """A replay with ``--until`` (dead letters of the parse and after the horizon at equal times) written by one
    pipeline, by one pipeline whose sink gets every destination's lists in reverse order (another runner's
    delivery), and folded in 3 buckets: every table file the same rows in the same order."""
    from journeyflow.pipelines.replay import run_replay
    from journeyflow.tools.generator import generate
    from journeyflow.transforms.sinks import files

    monkeypatch.chdir(tmp_path)
    data = Path("data")
    generate(150, 10, 7, str(data))
    until = ["--until", "2026-10-08T12:00:00Z"]
    run_replay(["--input", str(data), "--output", "one", *until])
    real = files._write_destination

    def reversed_lists(group, out_dir):
        key, values = group
        return real((key, list(values)[::-1]), out_dir)

    monkeypatch.setattr(files, "_write_destination", reversed_lists)
    run_replay(["--input", str(data), "--output", "reversed", *until])
    monkeypatch.setattr(files, "_write_destination", real)
    run_replay(["--input", str(data), "--output", "buckets", "--buckets", "3", *until])
    one = _tables(Path("one"))
    assert any(len(rows) > 1 for name, rows in one.items() if "dead_letter" in name)
    assert _tables(Path("reversed")) == one
    assert _tables(Path("buckets")) == one
    for topic in Path("one/topics").iterdir():
        assert (Path("reversed/topics") / topic.name).read_bytes() == topic.read_bytes()
        assert (Path("buckets/topics") / topic.name).read_bytes() == topic.read_bytes()
