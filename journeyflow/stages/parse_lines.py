"""Records read from files, parsed a chunk at a time: the replay's reader (``transforms.sources``), its
``ParseAndValidate`` in batch mode (``transforms.parse``) and the parse bench (``tools.bench.parse_all``) share
these two functions, so the bench measures what the replay does.

* :func:`jsonl_records`: the records of one JSONL file, as the replay reads them (blank lines skipped, a Segment
  batch envelope split into its messages), each with its source (``<file>:<line>`` / ``<file>:<line>#<k>``).
* :func:`parse_records`: :meth:`Parser.parse_full <journeyflow.stages.parse.Parser.parse_full>` of each record of a
  chunk of one stream, gathered as three lists -- the very same results (Events, dead letters and their reasons,
  field warnings), with the per-record look-ups (the stream's fast parse, the fallbacks) made once per chunk.
  Pure Python (no Beam).
"""
from __future__ import annotations

from typing import Any, BinaryIO, Iterator, Sequence

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import SEGMENT_STREAM, Event
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.stages.json_text import jsonl_lines
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch

__all__ = ["jsonl_records", "parse_records"]


def jsonl_records(f: BinaryIO, name: str, stream: str) -> Iterator[tuple[bytes, str]]:
    """``(payload bytes, source)`` of every record of the JSONL file ``f`` of ``stream``, named ``name`` in the
    sources: lines (LF, CRLF or CR-only ends: :func:`journeyflow.stages.json_text.jsonl_lines`) that are not blank
    are records (``name:line``); on the Segment stream (``track``) a batch envelope's messages are records each
    (``name:line#k``, k from 1; :func:`journeyflow.stages.segment.batch.split_batch`)."""
    for i, line in jsonl_lines(f):
        if not line.strip():
            continue  # blank lines are not records
        batch = split_batch(line) if stream == SEGMENT_STREAM else None
        if batch is not None:  # a Segment batch envelope: each message is a record
            for k, msg in enumerate(batch, 1):
                yield msg, f"{name}:{i}#{k}"
            continue
        yield line, f"{name}:{i}"


def parse_records(parser: Parser, stream: str, payloads: Sequence[Any], sources: Sequence[str],
                  received_at: int | None = None) -> tuple[list[Event], list[DeadLetter], list[FieldWarning]]:
    """``parser.parse_full(stream, payload, source, received_at)`` of each payload (and its source), gathered:
    ``(events, dead letters, field warnings)``, each list in the order of the records.  Computed record by record
    as ``parse_full`` does -- the fast path's Event when it answers, else the full checks (a fault of
    journeyflow's in them a ``processing_error`` dead letter) -- without a ``ParseResult`` per record.  Never
    raises for bad input."""
    events: list[Event] = []
    dead: list[DeadLetter] = []
    warned: list[FieldWarning] = []
    keep, lose, warn = events.append, dead.append, warned.extend
    fast = parser._fast_direct.get(stream)
    guarded, full = parser._guarded, parser.parse_full
    for raw, source in zip(payloads, sources):
        if fast is None or (type(raw) is not bytes and type(raw) is not str):  # (type(): no attribute look-up)
            out, warnings = full(stream, raw, source, received_at)
        else:
            try:
                ev = fast(raw, received_at)
            except Exception:  # noqa: BLE001 -- the guarded path runs it again and reports the fault
                out, warnings = guarded(stream, raw, source, received_at, False)
            else:
                if ev is not None:
                    keep(ev)  # the common record: an Event without field warnings
                    continue
                out, warnings = guarded(stream, raw, source, received_at, True)
        if type(out) is DeadLetter:
            lose(out)
        else:
            keep(out)
            if warnings:
                warn(warnings)
    return events, dead, warned
