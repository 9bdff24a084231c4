"""File sink: topics as JSONL files, tables as date-partitioned Parquet datasets (bounded replay's outputs)."""
from __future__ import annotations

import os
from typing import Any, Iterable

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.tables import TABLES, partition_of, table_spec, to_arrow
from journeyflow.transforms.outputs import Message, PipelineOutputs


class FileSink:
    """Every message and every table row of a pipeline under ``out_dir`` (steps ``Rows_<table>``, ``AllOutputs``,
    ``WriteOutputs``): see :class:`WriteOutputFiles`."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def write(self, outputs: PipelineOutputs) -> None:
        """Adds the file writers for ``outputs`` (all topics, all tables) to their pipeline."""
        rows = [pc | f"Rows_{name}" >> beam.Map(_table_item, name) for name, pc in outputs.table_rows().items()]
        ((*outputs.messages, *rows)
         | "AllOutputs" >> beam.Flatten()
         | "WriteOutputs" >> WriteOutputFiles(self.out_dir, TABLES))


def _table_item(row: dict[str, Any], table: str) -> tuple[str, dict[str, Any]]:
    return table, row


class WriteOutputFiles(beam.PTransform):
    """One shuffle for every local output: :class:`Message` s and ``(table, row)`` pairs →
    ``OUT/topics/<topic>.jsonl`` (one message's ``data`` a line) and
    ``OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet``.

    Every topic file and every table's ``_schema.parquet`` is written even when empty, so consumers and queries
    always find them.  Topic lines are sorted (the same input gives byte-identical topic files); table rows are
    in time order."""

    def __init__(self, out_dir: str, tables: Iterable[str], label: str | None = None):
        super().__init__(label)
        self.out_dir = out_dir
        self.tables = tuple(tables)

    def expand(self, items):
        """Groups items and empty markers by destination file, then writes each file once (``WriteFile``)."""
        out_dir = self.out_dir
        markers = [(("topic", t, ""), None) for t in ALL_TOPICS] + \
                  [(("table", t, "_schema"), None) for t in self.tables]
        return (
            (items | "Destination" >> beam.FlatMap(_destinations),
             items.pipeline | "EmptyOutputs" >> beam.Create(markers))
            | "MergeOutputs" >> beam.Flatten()
            | "GroupByDestination" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(_write_destination, out_dir)
        )


def _destinations(item: Message | tuple[str, Any] | list) -> Iterable[tuple[tuple[str, str, str], Any]]:
    """``(destination, payload)`` of one item, or ``(destination, [payloads])`` per destination of a batch (a list
    of Messages, or ``(table, [rows])``: the replay's batched outputs, one element per destination and batch)."""
    if isinstance(item, Message):
        return [(("topic", item.topic, ""), item.data)]
    if isinstance(item, list):
        topics: dict[tuple[str, str, str], list] = {}
        for m in item:
            topics.setdefault(("topic", m.topic, ""), []).append(m.data)
        return topics.items()
    name, row = item
    if not isinstance(row, list):
        return [(("table", name, partition_of(name, row)), row)]
    parts: dict[tuple[str, str, str], list] = {}
    for r in row:
        parts.setdefault(("table", name, partition_of(name, r)), []).append(r)
    return parts.items()


def _payloads(values: Iterable[Any]) -> list:
    """The payloads of one destination's grouped values: single payloads and lists of them (markers dropped)."""
    out: list = []
    for x in values:
        if isinstance(x, list):
            out.extend(x)
        elif x is not None:
            out.append(x)
    return out


def _write_destination(group: tuple[tuple[str, str, str], Iterable[Any]], out_dir: str) -> tuple[str, int]:
    (kind, name, part), payloads = group
    payloads = _payloads(payloads)
    if kind == "topic":
        path = FileSystems.join(out_dir, "topics", f"{name}.jsonl")
        _ensure_dir(path)
        with FileSystems.create(path) as f:
            for m in sorted(payloads):
                f.write(m + b"\n")
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
