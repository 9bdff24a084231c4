"""File sink: topics as JSONL files, tables as date-partitioned Parquet datasets (bounded replay's outputs)."""
from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.tables import (TABLES, by_partition, partition_of, sort_rows, sort_values, stored_row, to_arrow,
                                      values_by_partition, values_to_arrow)
from journeyflow.transforms.coders import DESTINATION_BATCH, Batch, PackedPayloads
from journeyflow.transforms.outputs import MESSAGES, TABLE_ROWS, Message, PipelineOutputs


#: What each record list of a batched :class:`PipelineOutputs` becomes (:func:`_record_destinations`): field →
#: its messages' builder (``transforms.outputs.MESSAGES``) and the tables built from it (``TABLE_ROWS``, in order).
RECORD_PLANS: dict[str, tuple[tuple[Any, bool] | None, tuple[tuple[str, Any, bool], ...]]] = {
    source: (MESSAGES.get(source), tuple((table, builder, flat) for table, (src, _label, builder, flat)
                                         in TABLE_ROWS.items() if src == source))
    for source in dict.fromkeys(src for src, *_ in TABLE_ROWS.values())}


class FileSink:
    """Every message and every table row of a pipeline under ``out_dir``: see :class:`WriteOutputFiles`.  Each
    output is keyed by its destination file where it is produced.  Steps: ``Topics_<i>`` and ``Rows_<table>``
    then ``WriteOutputs``; for batched outputs (the replay), ``Outputs_<field>`` — one step per list of records
    (decisions, journey steps, snapshots, identity links, dead letters, field warnings) that makes its messages and
    rows and keys them by destination (one element per destination and list) — then ``WriteOutputs``: a replay's
    graph has six output steps instead of seventeen, each with its fixed cost (issue 22)."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def write(self, outputs: PipelineOutputs, seed: beam.PCollection | None = None) -> None:
        """Adds the file writers for ``outputs`` (all topics, all tables) to their pipeline; ``seed``: see
        :class:`WriteOutputFiles`."""
        if outputs.batched:  # (destination, Batch), encoded by BatchCoder
            items = [getattr(outputs, source) | f"Outputs_{source}" >> beam.FlatMap(
                _record_destinations, *plan).with_output_types(DESTINATION_BATCH)
                for source, plan in RECORD_PLANS.items()]
            tuple(items) | "WriteOutputs" >> WriteOutputFiles(self.out_dir, TABLES, seed=seed)
            return
        topics = [pc | f"Topics_{i}" >> beam.FlatMap(_topic_destinations) for i, pc in enumerate(outputs.messages)]
        rows = [pc | f"Rows_{name}" >> beam.FlatMap(_table_destinations, name)
                for name, pc in outputs.table_rows().items()]
        # (one Flatten, WriteOutputs' MergeOutputs, takes every output: the FnApiRunner materializes each Flatten,
        # and a separate AllOutputs Flatten before it copied every output once more: issue 22)
        (*topics, *rows) | "WriteOutputs" >> WriteOutputFiles(self.out_dir, TABLES, seed=seed)


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


def _record_destinations(records: list, messages: tuple[Any, bool] | None,
                         tables: tuple[tuple[str, Any, bool], ...]) -> Iterable[tuple[tuple[str, str, str], Batch]]:
    """One list of records → ``(destination, Batch of payloads)`` per destination: its messages' ``data`` by
    topic (``messages``: builder, several per record) and its rows by table and ``date=`` partition (``tables``:
    (table, value row builder, several per record): ``transforms.outputs.TABLE_ROWS``), as
    :func:`_topic_destinations` and :func:`_table_destinations` give them."""
    parts: dict[tuple[str, str, str], Batch] = {}
    if messages is not None:
        build, flat = messages
        topics: dict[str, Batch] = {}  # (by topic name, in the order first seen: no key tuple and call per message)
        for m in (m for r in records for m in build(r)) if flat else map(build, records):
            got = topics.get(m.topic)
            if got is None:
                topics[m.topic] = got = Batch()
            got.append(m.data)
        for topic, got in topics.items():
            parts[("topic", topic, "")] = got
    for name, build, flat in tables:
        rows = (y for r in records for y in build(r)) if flat else map(build, records)
        for part, got in values_by_partition(name, rows, Batch).items():  # (one table per name: no key seen before)
            parts[("table", name, part)] = got
    return parts.items()


def _table_destinations(row: dict[str, Any] | list, name: str) -> Iterable[tuple[tuple[str, str, str], Any]]:
    """``(("table", name, partition), row)`` of a row, or ``(("table", name, partition), Batch of rows)`` per
    ``date=`` partition of a list of rows (dicts, or value rows: ``TABLE_ROWS``' tuples, as stored); dict rows as
    stored (:func:`journeyflow.model.tables.stored_row`: PII in a snapshot's traits masked)."""
    if not isinstance(row, list):
        row = stored_row(name, row)
        return [(("table", name, partition_of(name, row)), row)]
    parts = values_by_partition if row and type(row[0]) is tuple else by_partition
    return [(("table", name, part), got) for part, got in parts(name, row, Batch).items()]


class WriteOutputFiles(beam.PTransform):
    """One shuffle for every local output: ``(destination, payload)`` or ``(destination, [payloads])`` items
    (destination ``("topic", topic, "")`` with a message's ``data``, or ``("table", table, "date=YYYY-MM-DD")``
    with a row) → ``OUT/topics/<topic>.jsonl`` (one message's ``data`` a line) and
    ``OUT/tables/<table>/date=YYYY-MM-DD/part-00000.parquet``.

    Every topic file and every table's ``_schema.parquet`` is written even when empty, so consumers and queries
    always find them.  Topic lines are sorted (the same input gives byte-identical topic files); table rows are
    in time order, then in the table's ``ROW_ORDER`` (``journeyflow.model.tables``): the same for any scheduling.  The empty markers come from ``EmptyOutputs``: a ``Create`` of them (a stage of its own, with
    its fixed cost per run), or, given ``seed`` (a PCollection known to hold at least one element: the replay's
    ``ListFiles``), a ``FlatMap`` giving them for each of its elements, fused into its stage (markers given more
    than once write nothing more: issue 22)."""

    def __init__(self, out_dir: str, tables: Iterable[str], label: str | None = None,
                 seed: beam.PCollection | None = None):
        super().__init__(label)
        self.out_dir = out_dir
        self.tables = tuple(tables)
        self.seed = seed

    def expand(self, items):
        """Groups items (one PCollection, or a tuple of them) and empty markers by destination file, then writes
        each file once (``WriteFile``)."""
        out_dir = self.out_dir
        inputs = tuple(items) if isinstance(items, (tuple, list)) else (items,)
        markers = [(("topic", t, ""), Batch()) for t in ALL_TOPICS] + \
                  [(("table", t, "_schema"), Batch()) for t in self.tables]  # (empty lists: no payload)
        hint = DESTINATION_BATCH if all(pc.element_type == DESTINATION_BATCH for pc in inputs) else None
        if self.seed is None:
            empty = inputs[0].pipeline | "EmptyOutputs" >> _hinted(beam.Create(markers, reshuffle=False), hint)
        else:
            empty = self.seed | "EmptyOutputs" >> _hinted(beam.FlatMap(_markers, markers), hint)
        return (
            (*inputs, empty)
            | "MergeOutputs" >> _hinted(beam.Flatten(), hint)
            | "GroupByDestination" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(_write_destination, out_dir)
        )


def _markers(_seed: Any, markers: list) -> list:
    """``markers`` (the empty outputs' ``(destination, empty Batch)``), whatever the seed element."""
    return markers


def _payloads(values: Iterable[Any]) -> list:
    """The payloads of one destination's grouped values: single payloads and lists of them (markers dropped)."""
    out: list = []
    for x in values:
        if isinstance(x, (list, PackedPayloads)):  # (a list decoded by PayloadsCoder: still pickled)
            out.extend(x)
        elif x is not None:
            out.append(x)
    return out


_LINES_PER_WRITE = 2048


def _write_destination(group: tuple[tuple[str, str, str], Iterable[Any]], out_dir: str) -> tuple[str, int]:
    (kind, name, part), payloads = group
    payloads = _payloads(payloads)
    if kind == "topic":
        path = FileSystems.join(out_dir, "topics", f"{name}.jsonl")
        with FileSystems.create(path) as f:
            payloads.sort()
            for i in range(0, len(payloads), _LINES_PER_WRITE):  # (lines written in chunks: not one call and one
                f.write(b"\n".join(payloads[i:i + _LINES_PER_WRITE]) + b"\n")  # copy per line, nor one copy of all)
    else:
        if part == "_schema":
            path = FileSystems.join(out_dir, "tables", name, "_schema.parquet")
        else:
            path = FileSystems.join(out_dir, "tables", name, part, "part-00000.parquet")
        with FileSystems.create(path) as f:
            # rows in time order (partition field), then by the table's ROW_ORDER columns (customer, source...):
            # tidy for readers, the same for any runner scheduling, much cheaper than a total order on every column;
            # value rows (tuples: the replay's) or dict rows (one destination holds one kind)
            if payloads and type(payloads[0]) is tuple:
                sort_values(name, payloads)
                table = values_to_arrow(name, payloads)
            else:
                sort_rows(name, payloads)
                table = to_arrow(name, payloads)
            # no dictionary pages: a day's partition is small, and a dictionary encoder per column is most of the
            # cost of writing it (~20 µs a column per file, 200+ files a replay); zstd alone made the demo's tables
            # 2.7 % smaller, not larger (issue 22).  The rows read back are the same
            pq.write_table(table, f, compression="zstd", use_dictionary=False)
    return path, len(payloads)
