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

import re
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import msgspec

from journeyflow.model.dead_letters import DeadLetter
from journeyflow.model.events import SEGMENT_STREAM, Event
from journeyflow.model.field_warnings import FieldWarning
from journeyflow.stages.json_text import jsonl_lines
from journeyflow.stages.parse import Parser
from journeyflow.stages.segment.batch import split_batch

__all__ = ["decode_lines", "jsonl_records", "parse_records"]


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
    if fast is not None:  # the typed records of the lines one chunk decode reads exactly as each line's own
        finish = parser._fast.finishers[stream]
        decoded = decode_lines(parser._fast.line_decoders[stream], payloads, parser.config.max_bytes)
    else:
        decoded = [None] * len(payloads)
    for raw, source, rec in zip(payloads, sources, decoded):
        if fast is None or (raw.__class__ is not bytes and raw.__class__ is not str):
            out, warnings = full(stream, raw, source, received_at)
        else:
            try:
                ev = fast(raw, received_at) if rec is None else finish(raw, rec, received_at)
            except Exception:  # noqa: BLE001 -- the guarded path runs it again and reports the fault
                out, warnings = guarded(stream, raw, source, received_at, False)
            else:
                if ev is not None:
                    keep(ev)  # the common record: an Event without field warnings
                    continue
                out, warnings = guarded(stream, raw, source, received_at, True)
        if out.__class__ is DeadLetter:
            lose(out)
        else:
            keep(out)
            if warnings:
                warn(warnings)
    return events, dead, warned


#: lines decoded by one call (a run with a line the chunk decode refuses is decoded again up to that line)
_RUN = 64
_AT_INDEX = re.compile(r"- at `\$\[([0-9]+)\]")
_AT_BYTE = re.compile(r"\(byte ([0-9]+)\)$")


def decode_lines(decode: Callable[[bytes], list], lines: Sequence[Any], max_bytes: int) -> list[Any]:
    """Per line of ``lines``, its typed record decoded with the others of its run by one call of ``decode`` (a
    ``msgspec.json.Decoder(T).decode_lines``), or None where that is not certain to be the line's own decode
    (the caller then decodes the line alone): a line that is not ``bytes``, not ASCII, holds a line break, does
    not start with ``{`` and end with ``}``, is longer than ``max_bytes`` (a run longer than that is halved),
    or that the decoder refuses.

    Why a run's records are each line's own: the lines are joined by ``\n``; every junction then reads ``}\n{``,
    which JSON allows only between two top-level values (inside a string a raw line break is refused; inside an
    object or array ``}`` must be followed by ``,`` or a closing bracket), so each line holds whole values, and
    as many values as lines means exactly one each."""
    out: list[Any] = [None] * len(lines)
    for start in range(0, len(lines), _RUN):
        _decode_run(decode, lines, start, min(start + _RUN, len(lines)), out, max_bytes)
    return out


def _decode_run(decode: Callable[[bytes], list], lines: Sequence[Any], lo: int, hi: int, out: list[Any],
                max_bytes: int) -> None:
    while lo < hi:
        n = hi - lo
        try:
            joined = b"\n".join(lines[lo:hi])
        except TypeError:
            joined = None  # a payload that is not bytes
        if (joined is None or len(joined) > max_bytes or not joined.isascii() or joined.count(b"\n") != n - 1
                or joined.count(b"}\n{") != n - 1 or joined[:1] != b"{" or joined[-1:] != b"}"):
            bad = None
        else:
            try:
                recs = decode(joined)
            except msgspec.ValidationError as e:  # names the record: at `$[k]...`
                m = _AT_INDEX.search(str(e))
                bad = lo + int(m.group(1)) if m is not None else None
            except msgspec.DecodeError as e:  # names the byte: a record starting there or before it is bad
                m = _AT_BYTE.search(str(e))
                bad = None
                if m is not None:
                    at, pos = int(m.group(1)), lo
                    while pos < hi - 1 and at > len(lines[pos]):
                        at -= len(lines[pos]) + 1
                        pos += 1
                    bad = pos
            except Exception:  # noqa: BLE001 -- RecursionError and the like: each line alone says
                bad = None
            else:
                if len(recs) == n:
                    out[lo:hi] = recs
                return
        if bad is None or not lo <= bad < hi:
            if n == 1:
                return  # the line alone
            mid = lo + n // 2  # halve: the lines that can be read together still are
            _decode_run(decode, lines, lo, mid, out, max_bytes)
            lo = mid
            continue
        if bad > lo:
            _decode_run(decode, lines, lo, bad, out, max_bytes)  # the lines before it (decoded again)
        lo = bad + 1  # the bad line alone (None)
