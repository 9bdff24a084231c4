"""Step 4 of the bucketed replay (:mod:`journeyflow.pipelines.replay_buckets`): the buckets' outputs merged into one
output folder, in memory that does not grow with the input.

- Topics: each bucket's topic file is sorted (the file sink writes it so), so ``heapq.merge`` of their lines is the
  same sorted file one pipeline writes (byte-identical).
- Tables: per ``date=`` partition, the buckets' ``part-00000.parquet`` pieces (each sorted by the table's time
  column, then its ``ROW_ORDER`` columns: ``journeyflow.model.tables``) k-way merged by record batches
  (:func:`merge_sorted_parquet`), at most :data:`MERGE_FAN_IN` pieces at a time (:func:`merge_in_rounds`): the same
  rows in the same order as one pipeline's file sink gives (rows equal on those columns come from one customer, or
  one record, and so from one bucket, in the order it made them).
"""
from __future__ import annotations

import heapq
import os
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.tables import ROW_ORDER, TABLES, table_spec

__all__ = ["MERGE_BATCH_ROWS", "MERGE_FAN_IN", "MERGE_WRITE_ROWS", "merge_in_rounds", "merge_sorted_parquet",
           "merge_tables", "merge_topics"]


def merge_topics(parts: list[str], output_dir: str) -> None:
    """``OUT/topics/<topic>.jsonl`` for every topic: the sorted merge of the buckets' sorted topic files."""
    os.makedirs(os.path.join(output_dir, "topics"), exist_ok=True)
    for topic in ALL_TOPICS:
        files = [open(os.path.join(d, "topics", f"{topic}.jsonl"), "rb") for d in parts]
        try:
            with open(os.path.join(output_dir, "topics", f"{topic}.jsonl"), "wb") as out:
                out.writelines(heapq.merge(*files, key=lambda line: line.rstrip(b"\n")))
        finally:
            for f in files:
                f.close()


def merge_tables(parts: list[str], output_dir: str) -> None:
    """``OUT/tables/<table>/``: ``_schema.parquet`` and, per ``date=`` partition, the buckets' rows in one
    ``part-00000.parquet`` in the table's order (time, then ``ROW_ORDER``; :func:`merge_sorted_parquet`: bounded
    memory)."""
    for table in TABLES:
        dest = os.path.join(output_dir, "tables", table)
        os.makedirs(dest, exist_ok=True)
        shutil.copyfile(os.path.join(parts[0], "tables", table, "_schema.parquet"),
                        os.path.join(dest, "_schema.parquet"))
        partitions = sorted({name for d in parts if os.path.isdir(os.path.join(d, "tables", table))
                             for name in os.listdir(os.path.join(d, "tables", table)) if name.startswith("date=")})
        order = (table_spec(table)["partition_field"], *ROW_ORDER[table])
        for part in partitions:
            pieces = [path for d in parts
                      if os.path.exists(path := os.path.join(d, "tables", table, part, "part-00000.parquet"))]
            os.makedirs(os.path.join(dest, part), exist_ok=True)
            merge_in_rounds(pieces, os.path.join(dest, part, "part-00000.parquet"), order)


#: Pieces one k-way merge reads at once: each holds a row group (a bucket's whole partition: its rows grow with the
#: bucket, not with the input), so one merge of 48 buckets' pieces (100,000 customers) raised the replay's peak
#: RSS by 87 MB; more pieces are merged in rounds (:func:`merge_in_rounds`)
MERGE_FAN_IN = 8


def merge_in_rounds(pieces: list[str], dest: str, time_col: str | tuple[str, ...]) -> int:
    """:func:`merge_sorted_parquet` of ``pieces`` into ``dest``, at most :data:`MERGE_FAN_IN` of them at a time:
    groups of consecutive pieces merged into files beside ``dest`` (removed after use), until one merge remains.
    The same rows in the same order (``time_col``: see :func:`merge_sorted_parquet`).  Returns the rows written."""
    made: list[str] = []
    try:
        while len(pieces) > MERGE_FAN_IN:
            merged = []
            for i in range(0, len(pieces), MERGE_FAN_IN):
                group = pieces[i:i + MERGE_FAN_IN]
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                made.append(f"{dest}.round-{len(made)}")
                merge_sorted_parquet(group, made[-1], time_col)
                merged.append(made[-1])
            pieces = merged
        return merge_sorted_parquet(pieces, dest, time_col)
    finally:
        for path in made:
            if os.path.exists(path):
                os.remove(path)


#: Rows per record batch read from each piece while merging (memory: ~MERGE_FAN_IN x this many rows).  Measured
#: on the tables of a 100,000-customer replay split into 48 bucket pieces per partition, merged in a fresh process
#: (peak RSS above the interpreter's / CPU s): 4,096 rows and a row group per round 158 MB / 49 s; 1,024 rows 86 MB
#: / 41 s; 1,024 rows with row groups of :data:`MERGE_WRITE_ROWS` 91 MB / 26 s (16,384: 102 MB; 65,536: 141 MB)
MERGE_BATCH_ROWS = 1_024
#: Rows the merge collects (sorted) before it writes them as one Parquet row group: one row group per round of the
#: k-way merge made ~100 small row groups per partition file, and their writing was a third of the merge's CPU
MERGE_WRITE_ROWS = 8_192
_NULL_TIME = -(2 ** 63)  # a null time sorts first (the sink's order: ``row.get(time_col) or 0``)


def _times(batch: pa.RecordBatch, time_col: str) -> pa.Array:
    """The batch's ``time_col`` as int64 with nulls first (:data:`_NULL_TIME`)."""
    col = batch.column(time_col)
    if not pa.types.is_integer(col.type):
        col = col.cast(pa.int64())
    return pc.fill_null(col, _NULL_TIME)


def _keys(batch: pa.RecordBatch, order: tuple[str, ...]) -> list[pa.Array]:
    """The batch's sort keys: its time column (:func:`_times`), then each further column of ``order`` as text, a
    null as "" (the sink's order: ``row.get(column) or ""``)."""
    keys = [_times(batch, order[0])]
    for name in order[1:]:
        col = batch.column(name)
        if not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        keys.append(pc.fill_null(col, ""))
    return keys


def _upto(keys: list[pa.Array], bound: tuple) -> int:
    """How many rows of sorted ``keys`` are at or before ``bound`` (a key tuple): a prefix."""
    mask = pc.less_equal(keys[-1], bound[-1])
    for col, b in zip(reversed(keys[:-1]), reversed(bound[:-1])):
        mask = pc.or_(pc.less(col, b), pc.and_(pc.equal(col, b), mask))
    return pc.sum(mask).as_py() or 0


def merge_sorted_parquet(pieces: list[str], dest: str, time_col: str | tuple[str, ...]) -> int:
    """Merge Parquet files each sorted by ``time_col`` (a bucket's ``FileSink`` output) into ``dest``, sorted by it:
    a k-way merge of record batches (:data:`MERGE_BATCH_ROWS` per piece held at a time, and up to
    :data:`MERGE_WRITE_ROWS` merged rows not yet written), so the peak memory does not grow with the partition (a
    100,000-customer snapshot partition held whole took ~200 MiB).  ``time_col``: the time column, or a tuple of
    it and further text columns (the table's ``ROW_ORDER``: rows sorted by time, then by each, a null as "").
    Each round takes, from every piece in order, the rows up to the smallest "last key" of the pieces' current
    batches (one batch at least is used up each round), stably sorted; the rounds' rows are written as one row
    group once they reach :data:`MERGE_WRITE_ROWS` (and at the end).  Returns the rows written."""
    order = (time_col,) if isinstance(time_col, str) else tuple(time_col)
    names = [f"k{i}" for i in range(len(order))]
    readers = [pq.ParquetFile(p).iter_batches(batch_size=MERGE_BATCH_ROWS) for p in pieces]
    schema = pq.ParquetFile(pieces[0]).schema_arrow

    def advance(i: int) -> tuple[pa.RecordBatch, list[pa.Array]] | None:
        for b in readers[i]:
            if len(b):
                return b, _keys(b, order)
        return None

    current = [advance(i) for i in range(len(readers))]
    rows = held = 0
    pending: list[pa.Table] = []  # sorted chunks not yet written: one row group of >= MERGE_WRITE_ROWS rows each
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        while any(c is not None for c in current):
            bound = min(tuple(k[-1].as_py() for k in c[1]) for c in current if c is not None)
            taken, taken_keys = [], []
            for i, c in enumerate(current):
                if c is None:
                    continue
                batch, keys = c
                n = _upto(keys, bound)  # (a prefix: the piece is sorted)
                if n:
                    taken.append(batch.slice(0, n))
                    taken_keys.append([k.slice(0, n) for k in keys])
                if n == len(batch):
                    current[i] = advance(i)
                else:
                    current[i] = (batch.slice(n), [k.slice(n) for k in keys])
            if taken:
                chunk = pa.Table.from_batches(taken, schema=schema)
                cols = pa.table({name: pa.concat_arrays([k[j] for k in taken_keys]) for j, name in enumerate(names)})
                # (a stable sort: rows equal on every key keep their piece's order)
                pending.append(chunk.take(pc.sort_indices(cols, sort_keys=[(name, "ascending") for name in names])))
                held += chunk.num_rows
                rows += chunk.num_rows
                if held >= MERGE_WRITE_ROWS:
                    writer.write_table(pa.concat_tables(pending))
                    pending, held = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending))
    return rows
