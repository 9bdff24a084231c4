"""Deterministic sample-data generator for the six journeyflow input streams.

``generate(customers, days, seed, out)`` writes, into ``out``:

* ``web.jsonl``, ``orders.jsonl``, ``support.jsonl``, ``crm.jsonl``,
  ``engagement.jsonl``, ``consent.jsonl`` -- one JSON object per line with the
  fields of ``schemas/<stream>.avsc`` in schema order, sorted by event time.
  ``ts`` is ~70 % ISO-8601 with a UTC offset (the person's local offset, UTC as
  ``+00:00`` or ``Z``, or another offset; always the same instant) and ~30 %
  epoch milliseconds.  ``event_id`` is ``<stream>-<line number, 6+ digits>``,
  so it is unique within the stream (malformed lines get one too).
* ``malformed_rate`` extra malformed lines per stream, interleaved at
  deterministic positions, listed in ``malformed_expected.jsonl`` as
  ``{"stream", "line" (1-based), "kind", "detail"}``.  Kinds (labels):
  ``invalid_json`` (truncated line), ``not_an_object`` (JSON array),
  ``missing_field`` (a required field dropped), ``wrong_type`` (e.g. amount
  ``"abc"``), ``unknown_type`` (event type / enum symbol not in the schema),
  ``bad_timestamp`` (unparsable ``ts`` string), ``absurd_timestamp`` (year
  1970 or 2200, e.g. epoch seconds written as milliseconds),
  ``no_identifier`` (orders/support/engagement/consent without any
  identifier), ``invalid_email`` (the only identifier -- or, in crm, the email
  next to the required crm_id -- is not an email), ``invalid_timezone`` (crm).
  Malformed lines are derived from a neighbouring good record, so they
  carry real identifiers (and e.g. the same order_id as that record).
  Not every malformed line is a dead letter: a bad *optional* field (a
  ``wrong_type`` amount, csat, severity, product_id ..., the crm email of
  ``invalid_email``, every ``invalid_timezone``) is dropped by the parser and
  the record kept with a field warning.  :func:`expected_outcome` says which,
  with the reason (``PARSER_REASON`` for the dead letters).
* ``ground_truth.jsonl``: one line per person (``person_id``, ``crm_id``, raw
  ``emails``/``phones``/``anonymous_ids`` actually used in good records,
  ``timezone``, ``region``).  Normalised identifiers (email stripped and
  lower-cased, phone in E.164) never belong to two persons.
* ``ground_truth_shared.jsonl``: identifiers used by several persons and
  therefore listed for no person: ``{"kind": "anonymous_id"|"phone", "value",
  "person_ids", "note"}`` -- family tablets, an in-store kiosk (>= 12 persons
  log in on it when customers >= 200), family landlines and support agents'
  desk phones (one on tickets of >= 15 persons when customers >= 200).

Determinism: everything derives from ``random.Random(seed)`` (never the global
generator, never the wall clock), so the same arguments give byte-identical
files; the output does not depend on the spill threshold below.

Volume and speed: ~45-50 events per person over 30 days (web ~60 %, engagement
~27 %), i.e. ~95k events for 2,000 persons; ~100k events/s of CPU time.

Memory: persons are generated one at a time (their ground-truth line is written
at once); each event is serialised immediately and kept as a ~250-byte string in
a per-stream buffer.  When the buffers hold ``SPILL_LINES`` lines in total
(default 500,000; peak RSS measured ~190 MB for 2.3M events) they are sorted
and spilled to run files in a temporary ``.generate-*`` directory inside
``out``, which are k-way merged into the final files and then removed.  Besides
that the generator keeps two bytes per planned person (type, region), the
household/kiosk/agent plans, and the set of used canonical emails (~80 bytes
per person).

Phone numbers are fictional where a fictional range exists (US/CA 555-01XX,
GB 020 7946 0XXX / 0191 498 0XXX, FR 01 99 00 XX XX, AU 02/08 5550 XXXX) and
then fall back to other numbers that are valid for ``phonenumbers``.  Non-US
persons always use international "+CC" formats (the pipeline parses phones
with default region "US"); US persons also use national formats.

Modules: :mod:`.reference` (names, regions, phone numbering plans), :mod:`.population` (the person record and the
plan of households, kiosk and agents), :mod:`.events` (written form of times, one emitter per stream),
:mod:`.activity` (sessions, orders, tickets, consents, engagement), :mod:`.persons` (one person of each kind),
:mod:`.malformed` (malformed kinds and lines), :mod:`.sink` (sorted buffers spilled to disk); :func:`generate`
(here) writes the files.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from typing import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from journeyflow.model.events import BUILTIN_STREAMS as STREAMS  # the six built-in streams (track: segment.py)
from journeyflow.tools.generator.events import _dumps
from journeyflow.tools.generator.malformed import MALFORMED_KINDS, PARSER_REASON, _MalformedLines, expected_outcome
from journeyflow.tools.generator.persons import _Generator
from journeyflow.tools.generator.sink import _KEY_LEN, _Sink

__all__ = ["STREAMS", "MALFORMED_KINDS", "PARSER_REASON", "GenerateSummary", "expected_outcome", "generate"]

# Lines buffered in memory (all streams together) before sorted runs are spilled to disk.
SPILL_LINES = 500_000


@dataclass
class GenerateSummary:
    """What ``generate`` wrote.  ``records`` counts well-formed records per stream,
    ``malformed`` the extra malformed lines; a stream file has both."""

    out: Path
    persons: int
    records: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    shared_devices: int = 0
    shared_phones: int = 0

    @property
    def total_records(self) -> int:
        """Well-formed records, all streams."""
        return sum(self.records.values())

    @property
    def total_malformed(self) -> int:
        """Malformed lines, all streams."""
        return sum(self.malformed.values())

    @property
    def total_lines(self) -> int:
        """Lines written to the stream files (records + malformed)."""
        return self.total_records + self.total_malformed


def _parse_start(start: str | datetime) -> int:
    if isinstance(start, datetime):
        dt = start
    else:
        s = start.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


# --------------------------------------------------------------------------- entry point

def generate(customers: int, days: int, seed: int, out: str | os.PathLike,
             start: str = "2026-10-01T00:00:00+00:00", malformed_rate: float = 0.02,
             progress: bool | Callable[[int, int, int], None] = False) -> GenerateSummary:
    """Write the sample streams and ground truth for ``customers`` persons over ``days`` days.  ``progress``:
    True prints a line on stderr every 5% of the persons; a callable is called as ``progress(persons done,
    customers, events so far)`` after every person."""
    if customers < 1:
        raise ValueError("customers must be >= 1")
    if days < 1:
        raise ValueError("days must be >= 1")
    if not 0.0 <= malformed_rate < 1.0:
        raise ValueError("malformed_rate must be in [0, 1)")
    out_path = Path(out)
    out_path.mkdir(parents=True, exist_ok=True)
    start_ms = _parse_start(start)
    t0 = time.perf_counter()
    sink = _Sink(SPILL_LINES, out_path)
    try:
        gen = _Generator(customers, days, seed, start_ms, sink)
        step = max(1, math.ceil(customers / 20))
        with open(out_path / "ground_truth.jsonl", "w", encoding="utf-8", newline="\n") as gt:
            for i in range(customers):
                p = gen.person(i)
                gt.write(_dumps({"person_id": p.pid, "crm_id": p.crm_id,
                                 "emails": list(p.used_emails), "phones": list(p.used_phones),
                                 "anonymous_ids": list(p.used_anon), "timezone": p.tz,
                                 "region": p.region}) + "\n")
                if callable(progress):
                    progress(i + 1, customers, sink.seq)
                elif progress and ((i + 1) % step == 0 or i + 1 == customers):
                    el = time.perf_counter() - t0
                    print(f"generate: {i + 1}/{customers} persons ({100 * (i + 1) // customers}%), "
                          f"{sink.seq} events, {el:.1f}s", file=sys.stderr, flush=True)

        shared_devices = shared_phones = 0
        with open(out_path / "ground_truth_shared.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for kind, value, note in gen.shared_meta:
                persons = sorted(gen.shared_usage[value])
                if not persons:  # planned but never written (e.g. outside the window)
                    continue
                if kind == "anonymous_id":
                    shared_devices += 1
                else:
                    shared_phones += 1
                fh.write(_dumps({"kind": kind, "value": value, "person_ids": persons,
                                 "note": note}) + "\n")

        records: dict[str, int] = {}
        malformed: dict[str, int] = {}
        mrng = random.Random(f"journeyflow-malformed/{seed}")
        expected: list[dict] = []
        for s, stream in enumerate(STREAMS):
            n_good = sink.counts[s]
            m = 0
            if malformed_rate > 0 and n_good > 0:
                m = max(1, round(n_good * malformed_rate))
            positions = sorted(mrng.sample(range(1, n_good + m + 1), m)) if m else []
            bad = _MalformedLines(stream, mrng, expected)
            records[stream] = n_good
            malformed[stream] = m
            with open(out_path / f"{stream}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
                line_no = 0
                pi = 0
                next_pos = positions[0] if positions else -1
                buf: list[str] = []
                last_good = None
                for item in sink.sorted_lines(s):
                    line_no += 1
                    payload = item[_KEY_LEN + 1:]
                    while line_no == next_pos:
                        buf.append(bad.line(line_no, payload))
                        line_no += 1
                        pi += 1
                        next_pos = positions[pi] if pi < len(positions) else -1
                    buf.append('{"event_id":"%s-%06d",%s' % (stream, line_no, payload))
                    last_good = payload
                    if len(buf) >= 8192:
                        fh.writelines(buf)
                        buf.clear()
                while pi < len(positions):
                    line_no += 1
                    buf.append(bad.line(line_no, last_good))
                    pi += 1
                fh.writelines(buf)
        with open(out_path / "malformed_expected.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for e in expected:
                fh.write(_dumps(e) + "\n")
        if progress is True:
            print(f"generate: wrote {sum(records.values())} records + {sum(malformed.values())} "
                  f"malformed lines to {out_path} in {time.perf_counter() - t0:.1f}s",
                  file=sys.stderr, flush=True)
    finally:
        sink.close()
    return GenerateSummary(out=out_path, persons=customers, records=records, malformed=malformed,
                           shared_devices=shared_devices, shared_phones=shared_phones)
