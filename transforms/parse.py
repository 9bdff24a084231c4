"""ParseAndValidate: raw records → Events, bad records → dead letters with a reason (never dropped)."""
from __future__ import annotations

from typing import Any, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyflow.stages.identity.keys import Hasher
from journeyflow.model.events import Event
from journeyflow.stages.parse import ParseConfig, Parser

EVENTS = "events"
DEAD = "dead_letter"


class RawRecord(NamedTuple):
    """One record as read: the stream it came from, its bytes/text (or an Avro-decoded dict) and where."""

    stream: str
    payload: Any  # bytes | str | dict
    source: str  # "path:line" or "pubsub:<message id>"


class ParseRecordFn(beam.DoFn):
    def __init__(self, config: ParseConfig):
        self.config = config
        self.parser: Parser | None = None
        self.parsed = Metrics.counter("journeyflow", "records_parsed")
        self.dead = Metrics.counter("journeyflow", "records_dead_lettered")

    def setup(self) -> None:
        self.parser = Parser(Hasher.from_env(), self.config)

    def process(self, rec: RawRecord) -> Iterator[Any]:
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
        return records | "Parse" >> beam.ParDo(ParseRecordFn(self.config)).with_outputs(DEAD, main=EVENTS)
