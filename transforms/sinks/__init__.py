"""Sinks: where a pipeline's outputs go, behind one small protocol (format is ``transforms.outputs``).

======================  ======================================================================================
sink                    destination
======================  ======================================================================================
:class:`FileSink`       ``OUT/topics/<topic>.jsonl`` and ``OUT/tables/<table>/date=…/part-00000.parquet`` (local
                        directory or any Beam filesystem, e.g. ``gs://``); bounded replay
:class:`PubSubSink`     one Pub/Sub topic per output topic, plus the state-transfer loopback; Dataflow:
                        ``WriteToPubSub`` per topic, local runners: one publisher client (``PublishLocallyFn``)
:class:`BigQuerySink`   ``DATASET.<table>`` per analyst table (streaming inserts)
======================  ======================================================================================

A sink applies its steps where :meth:`Sink.write` is called (the top level of a pipeline), with stable labels.
"""
from __future__ import annotations

from typing import Protocol

from journeyflow.transforms.outputs import PipelineOutputs
from journeyflow.transforms.sinks.bigquery import BigQuerySink, WriteTablesToBigQuery
from journeyflow.transforms.sinks.files import FileSink, WriteOutputFiles
from journeyflow.transforms.sinks.pubsub import PublishLocallyFn, PubSubSink, WriteTopics


class Sink(Protocol):
    """A destination for a pipeline's outputs."""

    def write(self, outputs: PipelineOutputs) -> None:
        """Adds the steps that write ``outputs`` (or the part this sink takes) to their pipeline."""


__all__ = ["Sink", "FileSink", "PubSubSink", "BigQuerySink", "WriteOutputFiles", "WriteTopics", "PublishLocallyFn",
           "WriteTablesToBigQuery"]
