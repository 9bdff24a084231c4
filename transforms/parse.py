"""ParseAndValidate: raw records → Events, bad records → dead letters with a reason (never dropped), and a field
warning for each bad optional field dropped (or replaced) from a kept record.

A record read from Pub/Sub (``RawRecord.attributes`` set) also has its ``ts`` attribute checked against its payload
(``journeyflow.stages.message_attributes``: missing, not an integer, out of range, not the payload's time → dead letter
with the message's attributes), and its Event is timestamped with its event time: the rules and the element
timestamps are the same whatever the runner's reader did (``transforms.sources``)."""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from journeyflow.model.events import Event
from journeyflow.model.reasons import DeadLetterReason, FieldWarningReason
from journeyflow.stages.message_attributes import parse_message
from journeyflow.stages.identity.keys import Hasher
from journeyflow.stages.parse import ParseConfig, Parser
from journeyflow.stages.parse_lines import parse_records
from journeyflow.transforms.coders import Batch, EventBatch  # (importing coders registers the Event coders: issue 22)

#: Main output tag of ParseAndValidate (Event).
EVENTS = "events"
#: Dead-letter output tag of ParseAndValidate (DeadLetter).
DEAD = "dead_letter"
#: Field-warning output tag of ParseAndValidate (FieldWarning of a record in ``EVENTS``).
WARNINGS = "field_warnings"


class RawRecord(NamedTuple):
    """One record as read: the stream it came from, its bytes/text (or an Avro-decoded dict), where, and (Pub/Sub)
    when it arrived (epoch ms publish time; None for files) and the message's attributes (None for files)."""

    stream: str
    payload: Any  # bytes | str | dict
    source: str  # "path:line" or "pubsub:<message id>"
    received_at: int | None = None
    attributes: Mapping[str, str] | None = None


def cell_update(distribution: Any) -> Callable[[int], Any]:
    """The ``update`` of ``distribution`` (a Beam ``Metrics.distribution``, not process-wide) as the current step's
    metric cell's own method, for many values in one ``process`` call: the same cell (Beam's updater finds it
    through the thread's state sampler for each value, ~1 µs; issue 22: once per accepted event), the same count,
    sum, min and max.  Beam's own updater when that cell is not reachable (no tracker or metrics container, another
    Beam layout)."""
    try:
        from apache_beam.metrics.cells import DistributionCell
        from apache_beam.metrics.execution import _TypedMetricName
        from apache_beam.runners.worker.statesampler import get_current_tracker
        return get_current_tracker().current_state().metrics_container.get_metric_cell(
            _TypedMetricName(DistributionCell, distribution.metric_name)).update
    except (AttributeError, ImportError, TypeError):
        return distribution.update


class RecordLines(Batch):
    """Records of one input file read in a row (the replay's ``ReadLines`` with ``chunk``): the list holds their
    payloads, ``stream`` is the file's stream and ``sources`` their sources (``name:line``), in the same order:
    what a list of RawRecords of one file says, without a RawRecord per record (issue 22)."""

    def __init__(self, stream: str, payloads: Any = (), sources: Any = ()):
        super().__init__(payloads)
        self.stream = stream
        self.sources = list(sources)


class ParseRecordFn(beam.DoFn):
    """RawRecord → Event (main) or DeadLetter (tag ``DEAD``), and the Event's FieldWarnings (tag ``WARNINGS``);
    counters ``records_parsed``, ``records_dead_lettered``, ``dead_letters_<reason>``, ``field_warnings`` and
    ``field_warnings_<reason>``, and the distribution ``event_time`` (epoch ms of the accepted events: min, max,
    count; the replay's run manifest).  A Pub/Sub record's Event is emitted with its event time as element
    timestamp.

    ``batch`` (bounded replay only; 0: off): outputs are lists instead of single records — an
    :class:`~journeyflow.transforms.coders.EventBatch` of up to ``batch`` events (main), lists of DeadLetters and
    of FieldWarnings under the tags — emitted when full and at the end of each bundle (one Beam element per batch
    between the replay's stages: issue 22).  Records with Pub/Sub attributes are not batched."""

    def __init__(self, config: ParseConfig, batch: int = 0):
        self.config = config
        self.batch = batch
        self.parser: Parser | None = None
        self.parsed = Metrics.counter("journeyflow", "records_parsed")
        self.dead = Metrics.counter("journeyflow", "records_dead_lettered")
        self.warned = Metrics.counter("journeyflow", "field_warnings")
        self.event_time = Metrics.distribution("journeyflow", "event_time")
        self.by_reason = {r: Metrics.counter("journeyflow", f"field_warnings_{r}") for r in FieldWarningReason}
        self.dead_by_reason = {r: Metrics.counter("journeyflow", f"dead_letters_{r}") for r in DeadLetterReason}

    def setup(self) -> None:
        """One Parser per worker, hashing identifiers with the key of ``JOURNEYFLOW_HASH_KEY`` (plus-addresses merged
        when ``ParseConfig.merge_plus_addresses``)."""
        self.parser = Parser(Hasher.from_env(merge_plus_addresses=self.config.merge_plus_addresses), self.config)

    def start_bundle(self) -> None:
        """Empty batches (``batch`` mode)."""
        self._events, self._dead, self._warnings = EventBatch(), Batch(), Batch()

    def finish_bundle(self) -> Iterator[Any]:
        """``batch`` mode: the bundle's last (partial) batches."""
        if not self.batch:
            return
        for tag, items in ((None, self._events), (DEAD, self._dead), (WARNINGS, self._warnings)):
            if items:
                wv = WindowedValue(items, MIN_TIMESTAMP, [GlobalWindow()])
                yield wv if tag is None else beam.pvalue.TaggedOutput(tag, wv)
        self.start_bundle()

    def process(self, rec: RawRecord) -> Iterator[Any]:
        """Parses one record, or (``batch`` mode) each record of a list of them (bad input never raises: it becomes
        a dead letter)."""
        if self.batch and type(rec) is RecordLines:  # (one file's records: one stream, no arrival time)
            yield from self._collect(*parse_records(self.parser, rec.stream, rec, rec.sources))
            return
        if self.batch and isinstance(rec, list):
            # a chunk read from one file: each run of one stream (and arrival time) parsed by one call
            # (stages.parse_lines.parse_records: parse_full's results, gathered)
            start = 0
            while start < len(rec):
                stream, received = rec[start].stream, rec[start].received_at
                end = start + 1
                while end < len(rec) and rec[end].stream == stream and rec[end].received_at == received:
                    end += 1
                run = rec[start:end]
                yield from self._collect(*parse_records(self.parser, stream, [r.payload for r in run],
                                                        [r.source for r in run], received))
                start = end
            return
        if self.batch and rec.attributes is None:
            yield from self._process_batched(rec)
            return
        if rec.attributes is None:
            out, warnings = self.parser.parse_full(rec.stream, rec.payload, rec.source, rec.received_at)
        else:
            out, warnings = parse_message(self.parser, rec.stream, rec.payload, rec.source, rec.attributes,
                                          rec.received_at)
        if isinstance(out, Event):
            self.parsed.inc()
            self.event_time.update(out.ts)
            yield out if rec.attributes is None else beam.window.TimestampedValue(out, Timestamp(micros=out.ts * 1000))
            for w in warnings:
                self.warned.inc()
                self.by_reason[w.reason].inc()
                yield beam.pvalue.TaggedOutput(WARNINGS, w)
        else:
            self.dead.inc()
            counter = self.dead_by_reason.get(out.reason)
            if counter is not None:
                counter.inc()
            yield beam.pvalue.TaggedOutput(DEAD, out)

    def _process_batched(self, rec: RawRecord) -> Iterator[Any]:
        out, warnings = self.parser.parse_full(rec.stream, rec.payload, rec.source, rec.received_at)
        return self._collect(*(([out], [], list(warnings)) if isinstance(out, Event) else ([], [out], [])))

    def _collect(self, events: list[Event], dead: list, warnings: list) -> Iterator[EventBatch]:
        """``batch`` mode: counts records' results (events, dead letters, field warnings of the events) and adds
        them to the bundle's batches; yields each EventBatch filled to ``batch`` events."""
        if events:
            self.parsed.inc(len(events))
            update = cell_update(self.event_time)
            for e in events:
                update(e.ts)
            batch = self._events
            batch.extend(events)
            while len(batch) >= self.batch:  # the same batches as appending one at a time
                yield batch if len(batch) == self.batch else EventBatch(batch[:self.batch])
                batch = EventBatch() if len(batch) == self.batch else EventBatch(batch[self.batch:])
            self._events = batch
        if warnings:  # (one update per counter and chunk, not per record: the same totals, the same counters)
            self.warned.inc(len(warnings))
            for reason, n in Counter(w.reason for w in warnings).items():
                self.by_reason[reason].inc(n)
            self._warnings.extend(warnings)
        if dead:
            self.dead.inc(len(dead))
            for reason, n in Counter(d.reason for d in dead).items():
                counter = self.dead_by_reason.get(reason)
                if counter is not None:
                    counter.inc(n)
            self._dead.extend(dead)


@beam.typehints.with_input_types(RawRecord)
class ParseAndValidate(beam.PTransform):
    """Outputs a tuple of PCollections: ``[EVENTS]`` (Event), ``[DEAD]`` (DeadLetter) and ``[WARNINGS]``
    (FieldWarning: an optional field dropped or replaced from a record in ``[EVENTS]``); with ``batch`` > 0
    (bounded replay), lists of them (:class:`ParseRecordFn`)."""

    def __init__(self, config: ParseConfig = ParseConfig(), label: str | None = None, batch: int = 0):
        super().__init__(label)
        self.config = config
        self.batch = batch

    def expand(self, records):
        """Applies ``Parse`` (ParseRecordFn) with the ``DEAD`` and ``WARNINGS`` outputs."""
        return records | "Parse" >> beam.ParDo(ParseRecordFn(self.config, self.batch)).with_output_types(
            EventBatch if self.batch else Event).with_outputs(DEAD, WARNINGS, main=EVENTS)
