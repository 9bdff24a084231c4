"""Sinks: decision "topics" and analyst tables.

Format and destination are separate: a decision becomes a JSON message for its execution target's topic (with
the delivery address) plus a message on the audit topic (without it); tables are rows with the schema of
``schemas/bigquery``.  Locally topics are JSONL files and tables are date-partitioned Parquet datasets; on
Dataflow the same rows go to Pub/Sub and BigQuery (``transforms.pubsub``, ``WriteTablesToBigQuery``).
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyflow.core.model import ALL_TOPICS, AUDIT_TOPIC, DEAD_LETTER_TOPIC, TOPIC_FOR_TARGET, DeadLetter, Decision
from journeyflow.core.tables import partition_of, to_arrow


def decision_messages(d: Decision) -> Iterator[tuple[str, str]]:
    """(topic, JSON message) pairs for one decision: its target's topic, if any, and always the audit topic."""
    target = d.target
    if target is not None:
        yield TOPIC_FOR_TARGET[target], json.dumps(d.to_dict(with_address=True), sort_keys=True)
    yield AUDIT_TOPIC, json.dumps(d.to_dict(), sort_keys=True)


def dead_letter_message(dl: DeadLetter) -> tuple[str, str]:
    return DEAD_LETTER_TOPIC, json.dumps(dl.to_dict(), sort_keys=True)


class WriteTopicFiles(beam.PTransform):
    """(topic, message) → ``OUT/topics/<topic>.jsonl``, one file per topic, lines sorted for reproducible output."""

    def __init__(self, out_dir: str, label: str | None = None):
        super().__init__(label)
        self.out_dir = out_dir

    def expand(self, messages):
        out_dir = self.out_dir
        topics = beam.Create(list(ALL_TOPICS))
        return (
            (messages.pipeline | "AllTopics" >> topics | "EmptyTopic" >> beam.Map(lambda t: (t, None)),
             messages)
            | "MergeTopics" >> beam.Flatten()
            | "GroupByTopic" >> beam.GroupByKey()
            | "WriteTopic" >> beam.Map(_write_topic, out_dir)
        )


def _write_topic(group: tuple[str, Iterable[str | None]], out_dir: str) -> tuple[str, int]:
    topic, messages = group
    lines = sorted(m for m in messages if m is not None)
    path = FileSystems.join(out_dir, "topics", f"{topic}.jsonl")
    _ensure_dir(path)
    with FileSystems.create(path) as f:
        for m in lines:
            f.write(m.encode() + b"\n")
    return topic, len(lines)


def _ensure_dir(path: str) -> None:
    if "://" not in path:
        os.makedirs(os.path.dirname(path), exist_ok=True)


class WriteParquetTable(beam.PTransform):
    """Rows (dicts) → ``OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet`` (an empty table still gets a
    schema-only file, so queries over it work)."""

    def __init__(self, out_dir: str, table: str, label: str | None = None):
        super().__init__(label)
        self.out_dir = out_dir
        self.table = table

    def expand(self, rows):
        table, out_dir = self.table, self.out_dir
        marker = rows.pipeline | "Marker" >> beam.Create([("_schema", None)])
        return (
            (rows | "KeyByDate" >> beam.Map(lambda r: (partition_of(table, r), r)), marker)
            | "Merge" >> beam.Flatten()
            | "GroupByDate" >> beam.GroupByKey()
            | "WriteParquet" >> beam.Map(_write_partition, out_dir, table)
        )


def _sort_key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def _write_partition(group: tuple[str, Iterable[dict | None]], out_dir: str, table: str) -> tuple[str, int]:
    part, rows = group
    rows = sorted((r for r in rows if r is not None), key=_sort_key)
    if part == "_schema":
        # written once, empty: keeps the dataset readable when no partition has rows
        path = FileSystems.join(out_dir, "tables", table, "_schema.parquet")
    else:
        path = FileSystems.join(out_dir, "tables", table, part, "part-00000.parquet")
    _ensure_dir(path)
    with FileSystems.create(path) as f:
        pq.write_table(to_arrow(table, rows), f, compression="zstd")
    return part, len(rows)
