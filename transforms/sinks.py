"""Sinks: decision "topics" and analyst tables.

Format and destination are separate: a decision becomes a JSON message for its execution target's topic (with
the delivery address) plus a message on the audit topic (without it); tables are rows with the schema of
``schemas/bigquery``.  Locally topics are JSONL files and tables are date-partitioned Parquet datasets; on
Dataflow the same rows go to Pub/Sub and BigQuery (``transforms.pubsub``, ``WriteTablesToBigQuery``).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Iterable, Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyflow.model.decisions import ALL_TOPICS, AUDIT_TOPIC, DEAD_LETTER_TOPIC, TOPIC_FOR_TARGET, Decision
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.tables import partition_of, table_spec, to_arrow

# With the root logger at DEBUG, Beam's worker operations (Flatten, Combine) log every element they process: the
# channel topics' messages carry the delivery address, which must reach the topic and nothing else (no log sink).
# This module is imported wherever those messages are built (launcher and workers); an explicit level set on that
# logger by the user wins.
_BEAM_ELEMENT_LOGGER = logging.getLogger("apache_beam.runners.worker.operations")
if _BEAM_ELEMENT_LOGGER.level == logging.NOTSET:
    _BEAM_ELEMENT_LOGGER.setLevel(logging.INFO)


def decision_messages(d: Decision) -> Iterator[tuple[tuple[str, str], str]]:
    """(("topic", topic), JSON message) for one decision: its target's topic, if any (with the delivery address),
    and always the audit topic (without it)."""
    target = d.target
    if target is not None:
        yield ("topic", TOPIC_FOR_TARGET[target]), json.dumps(d.to_dict(with_address=True), sort_keys=True)
    yield ("topic", AUDIT_TOPIC), json.dumps(d.to_dict(), sort_keys=True)


def dead_letter_message(dl: DeadLetter) -> tuple[tuple[str, str], str]:
    return ("topic", DEAD_LETTER_TOPIC), json.dumps(dl.to_dict(), sort_keys=True)


class WriteOutputFiles(beam.PTransform):
    """One shuffle for every local output: ``(("topic", name), json line)`` and ``(("table", name), row)`` →
    ``OUT/topics/<topic>.jsonl`` and ``OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet``.

    Every topic file and every table's ``_schema.parquet`` is written even when empty, so consumers and queries
    always find them.  Topic lines are sorted (the same input gives byte-identical topic files); table rows are
    in time order."""

    def __init__(self, out_dir: str, tables: Iterable[str], label: str | None = None):
        super().__init__(label)
        self.out_dir = out_dir
        self.tables = tuple(tables)

    def expand(self, items):
        out_dir = self.out_dir
        markers = [(("topic", t, ""), None) for t in ALL_TOPICS] + \
                  [(("table", t, "_schema"), None) for t in self.tables]
        return (
            (items | "Destination" >> beam.Map(_destination),
             items.pipeline | "EmptyOutputs" >> beam.Create(markers))
            | "MergeOutputs" >> beam.Flatten()
            | "GroupByDestination" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(_write_destination, out_dir)
        )


def _destination(item: tuple[tuple[str, str], Any]) -> tuple[tuple[str, str, str], Any]:
    (kind, name), payload = item
    return (kind, name, partition_of(name, payload) if kind == "table" else ""), payload


def _write_destination(group: tuple[tuple[str, str, str], Iterable[Any]], out_dir: str) -> tuple[str, int]:
    (kind, name, part), payloads = group
    payloads = [x for x in payloads if x is not None]
    if kind == "topic":
        path = FileSystems.join(out_dir, "topics", f"{name}.jsonl")
        _ensure_dir(path)
        with FileSystems.create(path) as f:
            for m in sorted(payloads):
                f.write(m.encode() + b"\n")
    else:
        if part == "_schema":
            path = FileSystems.join(out_dir, "tables", name, "_schema.parquet")
        else:
            path = FileSystems.join(out_dir, "tables", name, part, "part-00000.parquet")
        _ensure_dir(path)
        with FileSystems.create(path) as f:
            # rows in time order (partition field): tidy for readers, much cheaper than a total order on every
            # column; row order inside a Parquet file carries no meaning for queries
            time_col = table_spec(name)["partition_field"]
            payloads.sort(key=lambda r: r.get(time_col) or 0)
            pq.write_table(to_arrow(name, payloads), f, compression="zstd")
    return path, len(payloads)


def _ensure_dir(path: str) -> None:
    if "://" not in path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
