"""File sink: topics as JSONL files, tables as date-partitioned Parquet datasets (bounded replay's outputs)."""
from __future__ import annotations

import os
from typing import Any, Iterable

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.tables import TABLES, partition_of, stored_row, table_spec, to_arrow
from journeyflow.transforms.coders import DESTINATION_BATCH, Batch, PackedPayloads
from journeyflow.transforms.outputs import Message, PipelineOutputs


class FileSink:
    """Every message and every table row of a pipeline under ``out_dir`` (steps ``Topics_<i>``, ``Rows_<table>``,
    ``WriteOutputs``): see :class:`WriteOutputFiles`.  Each output is keyed by its destination
    file where it is produced (a batched output: one element per destination and batch)."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def write(self, outputs: PipelineOutputs) -> None:
        """Adds the file writers for ``outputs`` (all topics, all tables) to their pipeline."""
        hint = DESTINATION_BATCH if outputs.batched else None  # batched: (destination, Batch) by BatchCoder
        topics = [pc | f"Topics_{i}" >> _hinted(beam.FlatMap(_topic_destinations), hint)
                  for i, pc in enumerate(outputs.messages)]
        rows = [pc | f"Rows_{name}" >> _hinted(beam.FlatMap(_table_destinations, name), hint)
                for name, pc in outputs.table_rows().items()]
        # (one Flatten, WriteOutputs' MergeOutputs, takes every output: the FnApiRunner materializes each Flatten,
        # and a separate AllOutputs Flatten before it copied every output once more: issue 22)
        (*topics, *rows) | "WriteOutputs" >> WriteOutputFiles(self.out_dir, TABLES)


def _hinted(transform: beam.PTransform, hint: Any) -> beam.PTransform:
    """``transform`` with output type ``hint`` (None: as it is)."""
    return transform if hint is None else transform.with_output_types(hint)


def _topic_destinations(item: Message | list) -> Iterable[tuple[tuple[str, str, str], Any]]:
    """``(("topic", topic, ""), data)`` of a Message, or ``(("topic", topic, ""), Batch of data)`` per topic of a
    list of Messages."""
    if isinstance(item, Message):
        return [(("topic", item.topic, ""), item.data)]
    topics: dict[tuple[str, str, str], Batch] = {}
    for m in item:
        key = ("topic", m.topic, "")
        got = topics.get(key)
        if got is None:
            topics[key] = got = Batch()
        got.append(m.data)
    return topics.items()


def _table_destinations(row: dict[str, Any] | list, name: str) -> Iterable[tuple[tuple[str, str, str], Any]]:
    """``(("table", name, partition), row)`` of a row, or ``(("table", name, partition), Batch of rows)`` per
    ``date=`` partition of a list of rows; rows as stored (:func:`journeyflow.model.tables.stored_row`: PII in a
    snapshot's traits masked)."""
    if not isinstance(row, list):
        row = stored_row(name, row)
        return [(("table", name, partition_of(name, row)), row)]
    parts: dict[tuple[str, str, str], Batch] = {}
    for r in row:
        r = stored_row(name, r)
        key = ("table", name, partition_of(name, r))
        got = parts.get(key)
        if got is None:
            parts[key] = got = Batch()
        got.append(r)
    return parts.items()


class WriteOutputFiles(beam.PTransform):
    """One shuffle for every local output: ``(destination, payload)`` or ``(destination, [payloads])`` items
    (destination ``("topic", topic, "")`` with a message's ``data``, or ``("table", table, "date=YYYY-MM-DD")``
    with a row) → ``OUT/topics/<topic>.jsonl`` (one message's ``data`` a line) and
    ``OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet``.

    Every topic file and every table's ``_schema.parquet`` is written even when empty, so consumers and queries
    always find them.  Topic lines are sorted (the same input gives byte-identical topic files); table rows are
    in time order."""

    def __init__(self, out_dir: str, tables: Iterable[str], label: str | None = None):
        super().__init__(label)
        self.out_dir = out_dir
        self.tables = tuple(tables)

    def expand(self, items):
        """Groups items (one PCollection, or a tuple of them) and empty markers by destination file, then writes
        each file once (``WriteFile``)."""
        out_dir = self.out_dir
        inputs = tuple(items) if isinstance(items, (tuple, list)) else (items,)
        markers = [(("topic", t, ""), Batch()) for t in ALL_TOPICS] + \
                  [(("table", t, "_schema"), Batch()) for t in self.tables]  # (empty lists: no payload)
        hint = DESTINATION_BATCH if all(pc.element_type == DESTINATION_BATCH for pc in inputs) else None
        empty = inputs[0].pipeline | "EmptyOutputs" >> _hinted(beam.Create(markers, reshuffle=False), hint)
        return (
            (*inputs, empty)
            | "MergeOutputs" >> _hinted(beam.Flatten(), hint)
            | "GroupByDestination" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(_write_destination, out_dir)
        )


def _payloads(values: Iterable[Any]) -> list:
    """The payloads of one destination's grouped values: single payloads and lists of them (markers dropped)."""
    out: list = []
    for x in values:
        if isinstance(x, (list, PackedPayloads)):  # (a list decoded by PayloadsCoder: still pickled)
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
