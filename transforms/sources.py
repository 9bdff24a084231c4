"""Sources: files for bounded replay (``DIR/<stream>.jsonl`` and ``DIR/<stream>.avro``), one Pub/Sub subscription
per input stream for streaming.  Both give :class:`~journeyflow.transforms.parse.RawRecord` s.

Streaming event time comes from the ``ts`` message *attribute* (epoch ms), set by publishers (``journeyflow
publish`` does).  The attribute, not the payload, because the source must know each message's event time before
any parsing to track the watermark: Dataflow's reader (``timestamp_attribute="ts"``) estimates the watermark from
it, and a payload timestamp applied after the read would leave the watermark on publish time.

Every message is then checked by ``ParseAndValidate`` (``transforms.parse``, ``journeyflow.stages.message_attributes``):
a missing, malformed or out-of-range ``ts`` attribute, or one that is not the payload's time, makes the message a
dead letter with its reason, and a good message's Event carries its event time as element timestamp.  The same
rules on every runner; what differs is what reaches them:

* **local runner** (``local=True``: the bundle-based DirectRunner): its reader parses ``timestamp_attribute``
  itself and raises on a value it cannot parse *before* acknowledging the pull, so one message with ``ts="abc"``
  made the whole pull (up to 200 messages) come back every ack deadline, forever.  journeyflow therefore reads
  there *without* ``timestamp_attribute`` (the reader then stamps the publish time, which cannot fail) and leaves
  the attribute to the check; its subscriber client accepts messages up to Pub/Sub's 10 MB
  (``journeyflow.tools.direct_runner``), so an oversized message is read and dead-lettered, not refused forever.
* **Dataflow** (and other runners): ``timestamp_attribute="ts"`` as before, for the watermark.  Dataflow's reader
  is its own (service side); Beam's reader for other runners rejects a message whose attribute is missing or is
  neither epoch ms nor RFC 3339, and failed work is retried: such a message never reaches the check and can hold
  its subscription (README, "Bad input messages").

The Segment-Spec stream (``track``) accepts batch envelopes ``{"batch": [...]}`` (``stages.segment.batch``): a file
line or a Pub/Sub message holding one is split here, so each message inside is one record read (counter
``records_read``) with its own event or dead letter; its source is ``path:line#k`` / ``pubsub:<id>#k`` (k from 1).
Segment messages published to ``in-track`` carry the ``ts`` attribute like every other input: the event time the
parser derives from the payload (``stages.segment.times``), in epoch ms; for a batch envelope, the earliest event
time of its messages (each item's time must then be at or after it: ``stages.message_attributes``).
"""
from __future__ import annotations

import posixpath
import time
from itertools import islice
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import apache_beam as beam
import fastavro
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub
from apache_beam.metrics import Metrics

from journeyflow.adapters.pubsub_names import input_subscription
from journeyflow.model.events import SEGMENT_STREAM, STREAMS
from journeyflow.stages.message_attributes import TS_ATTRIBUTE
from journeyflow.stages.parse_lines import jsonl_records
from journeyflow.stages.segment.batch import split_batch
from journeyflow.transforms.coders import Batch
from journeyflow.transforms.parse import RawRecord, RecordLines


def replay_files(input_dir: str) -> list[tuple[str, str]]:
    """(stream, path) of every input file present, in a fixed order."""
    found = []
    for stream in STREAMS:
        for ext in ("jsonl", "avro"):
            path = FileSystems.join(input_dir, f"{stream}.{ext}")
            if FileSystems.exists(path):
                found.append((stream, path))
    return found


class _ReadFileFn(beam.DoFn):
    """(stream, path) → the file's RawRecords (blank lines skipped; counter ``records_read``); with ``chunk`` > 0,
    :class:`~journeyflow.transforms.parse.RecordLines` of up to ``chunk`` records (one Beam element per list, no
    RawRecord per record: issue 22).

    A record's source is ``<file>:<line>`` (``#<k>`` for a batch envelope's k-th message; ``<file>#<n>`` for Avro)
    with the file named relative to the input folder (``crm.jsonl:12``), not by the path given to ``--input``:
    runs on different machines or from different folders give the same dead-letter and field-warning rows for the
    same input (the folder itself is in ``run.json``)."""

    def __init__(self, chunk: int = 0):
        self.read = Metrics.counter("journeyflow", "records_read")
        self.chunk = chunk

    def process(self, element: tuple[str, str]) -> Iterator[Any]:
        read = self.read
        if not self.chunk:
            for rec in self._records(element):
                read.inc()
                yield rec
            return
        (stream, path), chunk = element, self.chunk
        with FileSystems.open(path) as f:
            pairs = _file_payloads(f, path, stream)
            while True:  # (lists of ``chunk`` pairs cut and split in C: no bytecode per record: issue 22)
                got = list(islice(pairs, chunk))
                if not got:
                    return
                payloads, sources = zip(*got)
                read.inc(len(got))  # (one counter update per list, not per record: issue 22)
                yield RecordLines(stream, payloads, sources)

    def _records(self, element: tuple[str, str]) -> Iterator[RawRecord]:
        """The file's RawRecords (not counted: :meth:`process` counts them)."""
        stream = element[0]
        for payload, source in self._payloads(element):
            yield RawRecord(stream, payload, source)

    def _payloads(self, element: tuple[str, str]) -> Iterator[tuple[Any, str]]:
        """``(payload, source)`` of each record of the file, in file order."""
        stream, path = element
        with FileSystems.open(path) as f:
            yield from _file_payloads(f, path, stream)


def _file_payloads(f: Any, path: str, stream: str) -> Iterator[tuple[Any, str]]:
    """``(payload, source)`` of each record of the open file ``f`` (at ``path``, of ``stream``), in file order."""
    name = posixpath.basename(path)  # the source: relative to the input folder (see source_name)
    if path.endswith(".avro"):
        return ((rec, f"{name}#{i}") for i, rec in enumerate(fastavro.reader(f), 1))
    # blank lines skipped, a Segment batch envelope split (stages.parse_lines: the bench reads so too)
    return jsonl_records(f, name, stream)  # (the generator itself: no generator around it)


class ReadReplayFiles(beam.PTransform):
    """Reads every stream file under ``input_dir`` as RawRecords (bytes lines, or decoded Avro records); with
    ``chunk`` > 0, as RecordLines of up to ``chunk`` records (the replay's ``ParseAndValidate`` with ``batch``)."""

    def __init__(self, input_dir: str, label: str | None = None, chunk: int = 0):
        super().__init__(label)
        self.input_dir = input_dir
        self.chunk = chunk

    def expand(self, pbegin):
        """``ListFiles`` → ``ReshuffleFiles`` → ``ReadLines``.  Raises ``FileNotFoundError`` when no stream file is there.
        ``ListFiles`` is a Create without its own reshuffle (``reshuffle=False``): ``ReshuffleFiles`` right after it
        already redistributes the files, and a second reshuffle of the same few elements cost one more stage.
        ``ListFiles``' output (one element per file, never empty) is kept as :attr:`listed` (the replay's file
        sink hangs its empty-output markers from it: no stage of their own)."""
        files = replay_files(self.input_dir)
        if not files:
            raise FileNotFoundError(f"no <stream>.jsonl or <stream>.avro files in {self.input_dir} "
                                    f"(streams: {', '.join(STREAMS)})")
        self.listed = pbegin | "ListFiles" >> beam.Create(files, reshuffle=False)
        return (
            self.listed
            | "ReshuffleFiles" >> beam.Reshuffle()
            | "ReadLines" >> beam.ParDo(_ReadFileFn(self.chunk))
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _publish_ms(msg: PubsubMessage) -> int | None:
    """The message's publish time in epoch ms (exact: timedelta arithmetic), or None when the source gave none."""
    t = getattr(msg, "publish_time", None)
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (t - _EPOCH) // timedelta(milliseconds=1)


def _to_raw(msg: PubsubMessage, stream: str) -> RawRecord:
    # The arrival time bounds how far ahead of it an event time may be (--max_event_time now+D): the publish time,
    # which a redelivery keeps; the wall clock only when the source does not say.
    received = _publish_ms(msg)
    if received is None:
        received = int(time.time() * 1000)
    return RawRecord(stream, msg.data or b"", f"pubsub:{msg.message_id or ''}", received, dict(msg.attributes or {}))


def _to_raws(msg: PubsubMessage, stream: str) -> list[RawRecord]:
    """:func:`_to_raw`, with a Segment batch envelope split into one RawRecord per message (``pubsub:<id>#k``)."""
    raw = _to_raw(msg, stream)
    batch = split_batch(raw.payload)
    if batch is None:
        return [raw]
    return [raw._replace(payload=m, source=f"{raw.source}#{k}") for k, m in enumerate(batch, 1)]


def read_pubsub_streams(p: beam.Pipeline, project: str, prefix: str, local: bool = False) -> beam.PCollection:
    """Every input stream's subscription (``in-<stream>-journeyflow`` for each of ``STREAMS``, see
    ``adapters.pubsub_names``) as RawRecords with the message's attributes, for ``ParseAndValidate`` to check.
    ``local``: the bundle-based DirectRunner's reader, read without ``timestamp_attribute`` (module docstring);
    otherwise timestamped by the ``ts`` attribute.  Top-level steps ``Read_<stream>``, ``Raw_<stream>`` and
    ``AllInputs`` (applied where this is called)."""
    raws = []
    for stream in STREAMS:
        read = ReadFromPubSub(subscription=input_subscription(project, stream, prefix), with_attributes=True,
                              timestamp_attribute=None if local else TS_ATTRIBUTE)
        to_raw = beam.FlatMap(_to_raws, stream) if stream == SEGMENT_STREAM else beam.Map(_to_raw, stream)
        raws.append(p | f"Read_{stream}" >> read | f"Raw_{stream}" >> to_raw)
    return raws | "AllInputs" >> beam.Flatten()
