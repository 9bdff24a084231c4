"""Records read from files, parsed a chunk at a time: the replay's reader (``transforms.sources``), its
``ParseAndValidate`` in batch mode (``transforms.parse``) and the parse bench (``tools.bench.parse_all``) share
these two functions, so the bench measures what the replay does.

* :func:`jsonl_records`: the records of one JSONL file, as the replay reads them (blank lines skipped, a Segment
  batch envelope split into its messages), each with its source (``<file>:<line>`` / ``<file>:<line>#<k>``).
* :func:`parse_records`: :meth:`Parser.parse_full <journeyflow.stages.parse.Parser.parse_full>` of each record of a
  chunk of one stream -- the very same results (Events, field warnings, dead letters and their reasons), with the
  per-record look-ups (the stream's fast parse, the fallbacks) made once per chunk.  Pure Python (no Beam).
"""
from __future__ import annotations

from typing import Any, BinaryIO, Iterator, Sequence

from journeyflow.model.events import SEGMENT_STREAM
from journeyflow.stages.json_text import jsonl_lines
from journeyflow.stages.parse import Parser, ParseResult
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
                  received_at: int | None = None) -> list[ParseResult]:
    """``[parser.parse_full(stream, payload, source, received_at) for each payload and source]`` (a
    :class:`~journeyflow.stages.parse.ParseResult` each: Event and its field warnings, or DeadLetter), computed
    record by record as ``parse_full`` does: the fast path's Event when it answers, else the full checks (a fault
    of journeyflow's in them a ``processing_error`` dead letter).  Never raises for bad input."""
    fast = parser._fast_direct.get(stream)
    if fast is None:  # a stream without a fast path, or declared types to check: parse_full itself
        full = parser.parse_full
        return [full(stream, raw, source, received_at) for raw, source in zip(payloads, sources)]
    guarded, full, new = parser._guarded, parser.parse_full, tuple.__new__
    out: list[ParseResult] = []
    append = out.append
    for raw, source in zip(payloads, sources):
        if raw.__class__ is not bytes and raw.__class__ is not str:
            append(full(stream, raw, source, received_at))
            continue
        try:
            ev = fast(raw, received_at)
        except Exception:  # noqa: BLE001 -- the guarded path runs it again and reports the fault
            append(guarded(stream, raw, source, received_at, False))
            continue
        # ParseResult(ev) of an Event without field warnings, without the generated __new__'s defaults handling
        append(new(ParseResult, (ev, ())) if ev is not None else guarded(stream, raw, source, received_at, True))
    return out

