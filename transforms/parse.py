"""ParseAndValidate: raw records → Events, bad records → dead letters with a reason (never dropped)."""
from __future__ import annotations

from typing import Any, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser

#: Main output tag of ParseAndValidate (Event).
EVENTS = "events"
#: Dead-letter output tag of ParseAndValidate (DeadLetter).
DEAD = "dead_letter"


class RawRecord(NamedTuple):
    """One record as read: the stream it came from, its bytes/text (or an Avro-decoded dict) and where."""

    stream: str
    payload: Any  # bytes | str | dict
    source: str  # "path:line" or "pubsub:<message id>"


class ParseRecordFn(beam.DoFn):
    """RawRecord → Event (main) or DeadLetter (tag ``DEAD``); counters ``records_parsed``, ``records_dead_lettered``."""

    def __init__(self, config: ParseConfig):
        self.config = config
        self.parser: Parser | None = None
        self.parsed = Metrics.counter("journeyflow", "records_parsed")
        self.dead = Metrics.counter("journeyflow", "records_dead_lettered")

    def setup(self) -> None:
        """One Parser per worker, hashing identifiers with the key of ``JOURNEYFLOW_HASH_KEY``."""
        self.parser = Parser(Hasher.from_env(), self.config)

    def process(self, rec: RawRecord) -> Iterator[Any]:
        """Parses one record (bad input never raises: it becomes a dead letter)."""
        out = self.parser.parse(rec.stream, rec.payload, rec.source)
        if isinstance(out, Event):
            self.parsed.inc()
            yield out
        else:
            self.dead.inc()
            yield beam.pvalue.TaggedOutput(DEAD, out)


@beam.typehints.with_input_types(RawRecord)
class ParseAndValidate(beam.PTransform):
    """Outputs a tuple of PCollections: ``[EVENTS]`` (Event) and ``[DEAD]`` (DeadLetter)."""

    def __init__(self, config: ParseConfig = ParseConfig(), label: str | None = None):
        super().__init__(label)
        self.config = config

    def expand(self, records):
        """Applies ``Parse`` (ParseRecordFn) with the ``DEAD`` output."""
        return records | "Parse" >> beam.ParDo(ParseRecordFn(self.config)).with_outputs(DEAD, main=EVENTS)
