"""Sources for bounded replay: ``DIR/<stream>.jsonl`` and ``DIR/<stream>.avro`` files."""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam
import fastavro
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from journeyflow.model.events import STREAMS
from journeyflow.transforms.parse import RawRecord


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
    def __init__(self):
        self.read = Metrics.counter("journeyflow", "records_read")

    def process(self, element: tuple[str, str]) -> Iterator[RawRecord]:
        stream, path = element
        with FileSystems.open(path) as f:
            if path.endswith(".avro"):
                for i, rec in enumerate(fastavro.reader(f), 1):
                    self.read.inc()
                    yield RawRecord(stream, rec, f"{path}#{i}")
            else:
                for i, line in enumerate(f, 1):
                    line = line.rstrip(b"\r\n")
                    if not line.strip():
                        continue  # blank lines are not records
                    self.read.inc()
                    yield RawRecord(stream, line, f"{path}:{i}")


class ReadReplayFiles(beam.PTransform):
    """Reads every stream file under ``input_dir`` as RawRecords (bytes lines, or decoded Avro records)."""

    def __init__(self, input_dir: str, label: str | None = None):
        super().__init__(label)
        self.input_dir = input_dir

    def expand(self, pbegin):
        files = replay_files(self.input_dir)
        if not files:
            raise FileNotFoundError(f"no <stream>.jsonl or <stream>.avro files in {self.input_dir} "
                                    f"(streams: {', '.join(STREAMS)})")
        return (
            pbegin
            | "ListFiles" >> beam.Create(files)
            | "ReshuffleFiles" >> beam.Reshuffle()
            | "ReadLines" >> beam.ParDo(_ReadFileFn())
        )
