"""Streaming: one Pub/Sub subscription per input stream in, one topic per execution target out.

    in-<stream> subscriptions → ParseAndValidate → ResolveIdentitiesOnline (identity store)
        → DecideOrdered (keyed state + event-time timers) → decisions-<target>, decisions-audit, dead-letter
    state-transfer subscription ↗ (identity merges hand a customer's state to the surviving id)

Event time comes from the ``ts`` message *attribute* (``timestamp_attribute="ts"``, epoch ms), set by publishers
(``journeyflow publish`` does).  The attribute, not the payload, because the source must know each message's event
time before any parsing to track the watermark: Dataflow estimates the watermark from it, and a payload timestamp
applied after the read would leave the watermark on publish time.  Messages without the attribute get their
publish time; their payload ``ts`` is still validated, and a mismatch is harmless for ordering within a customer.

Decision ids are deterministic, so a redelivered input or a restarted pipeline re-emits the *same* decision id;
execution tools drop duplicates by the ``decision_id`` attribute.  Messages carry ``customer_id`` and
``decided_at`` attributes but no ordering key: Beam's Python ``WriteToPubSub`` publishes without message ordering
(an ordering key makes its publisher fail locally, and Dataflow's native sink ignores it), so a consumer that needs
per-customer order sorts by ``decided_at`` (the output subscriptions created by ``journeyflow topics create`` have
ordering enabled for publishers that do set keys).
"""
from __future__ import annotations

import json
import time
from typing import Any

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub, WriteToPubSub
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from journeyflow.config.durations import parse_duration
from journeyflow.config.engine import EngineConfig
from journeyflow.model.decisions import ALL_TOPICS, AUDIT_TOPIC, DEAD_LETTER_TOPIC, TOPIC_FOR_TARGET, Decision
from journeyflow.model.events import STREAMS, decode_event, encode_event
from journeyflow.model.dead_letters import DeadLetter
from journeyflow.stages.parse import ParseConfig
from journeyflow.model.tables import (
    TABLES,
    bigquery_schema,
    decision_row,
    dead_letter_row,
    journey_step_row,
    suppressed_rows,
)
from journeyflow.adapters.pubsub_names import (
    STATE_TRANSFER,
    input_subscription,
    state_transfer_subscription,
    topic_for,
)
from journeyflow.pipelines.options import JourneyflowOptions
from journeyflow.transforms import parse as tparse
from journeyflow.transforms import decide_streaming as ss
from journeyflow.transforms.identity_online import LINKS, ResolveIdentitiesOnline
from journeyflow.transforms.parse import ParseAndValidate, RawRecord
from journeyflow.transforms.decide_streaming import DecideOrdered



def decision_pubsub_messages(d: Decision) -> list[tuple[str, PubsubMessage]]:
    attrs = {"decision_id": d.decision_id, "customer_id": d.customer_id, "journey_id": d.journey_id or "",
             "action": d.action, "channel": d.channel or "", "decided_at": str(d.decided_at)}
    out = []
    if d.target is not None:
        out.append((TOPIC_FOR_TARGET[d.target],
                    PubsubMessage(json.dumps(d.to_dict(with_address=True), sort_keys=True).encode(), attrs)))
    out.append((AUDIT_TOPIC, PubsubMessage(json.dumps(d.to_dict(), sort_keys=True).encode(), attrs)))
    return out


def dead_letter_pubsub_message(dl: DeadLetter) -> tuple[str, PubsubMessage]:
    return DEAD_LETTER_TOPIC, PubsubMessage(json.dumps(dl.to_dict(), sort_keys=True).encode(),
                                            {"stream": dl.stream, "reason": dl.reason})


def _to_raw(msg: PubsubMessage, stream: str) -> RawRecord:
    return RawRecord(stream, msg.data, f"pubsub:{msg.message_id or ''}")


def _transfer_message(item: tuple[str, Any]) -> PubsubMessage:
    target, ev = item
    return PubsubMessage(encode_event(ev), {"target": target, "ts": str(ev.ts)})


def _from_transfer(msg: PubsubMessage) -> tuple[str, Any]:
    return msg.attributes["target"], decode_event(msg.data)


class WriteTopics(beam.PTransform):
    """(topic, PubsubMessage) → one WriteToPubSub per topic (stable labels ``Write_<topic>``)."""

    def __init__(self, project: str, prefix: str, label: str | None = None):
        super().__init__(label)
        self.project, self.prefix = project, prefix

    def expand(self, messages):
        topics = list(ALL_TOPICS)
        parts = messages | "ByTopic" >> beam.Partition(lambda m, n: topics.index(m[0]), len(topics))
        for topic, part in zip(topics, parts):
            (part
             | f"Message_{topic}" >> beam.Map(lambda m: m[1]).with_output_types(PubsubMessage)
             | f"Write_{topic}" >> WriteToPubSub(topic_for(self.project, topic, self.prefix), with_attributes=True))
        return None


class PublishLocallyFn(beam.DoFn):
    """Local runner only: every output topic from one DoFn holding one real ``PublisherClient``.

    Beam's ``WriteToPubSub`` on the bundle-based DirectRunner makes a publisher client per bundle, and one write
    chain per topic (eight, plus state transfer) multiplies the steps the single-threaded runner walks through on
    every cycle (measured: 6.6 events/s with them).  Dataflow keeps ``WriteToPubSub`` (``WriteTopics``)."""

    def __init__(self, project: str, prefix: str):
        self.project, self.prefix = project, prefix

    def setup(self) -> None:
        from google.cloud import pubsub_v1
        self.client = pubsub_v1.PublisherClient()
        self.futures: list = []
        self.paths: dict[str, str] = {}

    def process(self, item: tuple[str, PubsubMessage]) -> None:
        topic, msg = item
        path = self.paths.get(topic) or self.paths.setdefault(topic, topic_for(self.project, topic, self.prefix))
        self.futures.append(self.client.publish(path, msg.data, **(msg.attributes or {})))

    def finish_bundle(self) -> None:
        futures, self.futures = self.futures, []
        for f in futures:
            f.result(timeout=60)  # a failed publish fails the bundle: it is retried, never lost silently

    def teardown(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.stop()


def build_stream(p: beam.Pipeline, project: str, prefix: str, config: EngineConfig, store_url: str,
                 allowed_lateness_ms: int = 0, parse_config: ParseConfig = ParseConfig(),
                 tables_dataset: str | None = None, local: bool = False, hold_until_ms: int = 0) -> dict[str, Any]:
    raws = []
    for stream in STREAMS:
        raws.append(
            p
            | f"Read_{stream}" >> ReadFromPubSub(subscription=input_subscription(project, stream, prefix),
                                                 with_attributes=True, timestamp_attribute="ts")
            | f"Raw_{stream}" >> beam.Map(_to_raw, stream)
        )
    records = raws | "AllInputs" >> beam.Flatten()
    parsed = records | "ParseAndValidate" >> ParseAndValidate(parse_config)
    resolved = parsed[tparse.EVENTS] | "ResolveIdentities" >> ResolveIdentitiesOnline(store_url, config.link_rules())
    transfers_in = (
        p
        | "Read_state_transfer" >> ReadFromPubSub(
            subscription=state_transfer_subscription(project, prefix),
            with_attributes=True, timestamp_attribute="ts")
        | "DecodeTransfer" >> beam.Map(_from_transfer)
    )
    keyed = (resolved.keyed, transfers_in) | "KeyedInputs" >> beam.Flatten()
    out = keyed | "DecideOrdered" >> DecideOrdered(config, allowed_lateness_ms, hold_until_ms=hold_until_ms)
    transfers = out[ss.TRANSFERS] | "TransferMessages" >> beam.Map(_transfer_message).with_output_types(PubsubMessage)
    dead = (parsed[tparse.DEAD], out[ss.DEAD]) | "AllDeadLetters" >> beam.Flatten()
    messages = (
        (out[ss.DECISIONS] | "DecisionMessages" >> beam.FlatMap(decision_pubsub_messages),
         dead | "DeadLetterMessages" >> beam.Map(dead_letter_pubsub_message))
        | "AllMessages" >> beam.Flatten()
    )
    if local:
        ((messages, transfers | "TransferTopic" >> beam.Map(lambda m: (STATE_TRANSFER, m)))
         | "AllOutgoing" >> beam.Flatten()
         | "PublishLocally" >> beam.ParDo(PublishLocallyFn(project, prefix)))
    else:
        transfers | "Write_state_transfer" >> WriteToPubSub(topic_for(project, STATE_TRANSFER, prefix),
                                                            with_attributes=True)
        messages | "WriteTopics" >> WriteTopics(project, prefix)
    if tables_dataset:
        rows = {
            "decisions": out[ss.DECISIONS] | "DecisionRows" >> beam.Map(decision_row),
            "suppressed_candidates": out[ss.DECISIONS] | "SuppressedRows" >> beam.FlatMap(suppressed_rows),
            "journey_steps": out[ss.STEPS] | "StepRows" >> beam.Map(journey_step_row),
            "identity_links": resolved[LINKS],
            "dead_letter": dead | "DeadLetterRows" >> beam.Map(dead_letter_row),
        }
        for name, pc in rows.items():
            pc | f"BigQuery_{name}" >> WriteTablesToBigQuery(tables_dataset, name)
    return {"decisions": out[ss.DECISIONS], "dead": dead}


class WriteTablesToBigQuery(beam.PTransform):
    """Rows → BigQuery table ``DATASET.<table>`` with the schema of ``schemas/bigquery/<table>.json``.

    Timestamps are epoch ms in the rows; BigQuery TIMESTAMP wants seconds, converted here."""

    def __init__(self, dataset: str, table: str, label: str | None = None):
        super().__init__(label)
        assert table in TABLES
        self.dataset, self.table = dataset, table

    def expand(self, rows):
        from journeyflow.model.tables import table_spec
        ts_cols = [f["name"] for f in table_spec(self.table)["fields"] if f["type"] == "TIMESTAMP"]

        def to_bq(r: dict) -> dict:
            r = dict(r)
            for c in ts_cols:
                if r.get(c) is not None:
                    r[c] = r[c] / 1000.0
            return r

        return (rows
                | "ToBigQueryRow" >> beam.Map(to_bq)
                | "Write" >> beam.io.WriteToBigQuery(
                    f"{self.dataset}.{self.table}", schema=bigquery_schema(self.table),
                    create_disposition=beam.io.BigQueryDisposition.CREATE_IF_NEEDED,
                    write_disposition=beam.io.BigQueryDisposition.WRITE_APPEND,
                    method=beam.io.WriteToBigQuery.Method.STREAMING_INSERTS,
                    additional_bq_parameters={"timePartitioning": {
                        "type": "DAY", "field": table_spec(self.table)["partition_field"]}}))


def parse_duration_ms(text: str) -> int:
    """A streaming option's duration (``--allowed_lateness``, ``--catch_up``) in ms: ``500ms``, ``30s``, ``5m``,
    ``1h``; zero is allowed and a bare number is milliseconds (see :mod:`journeyflow.config.durations`)."""
    return parse_duration(text, allow_zero=True, bare_ms=True)


def run_stream(argv: list[str] | None = None, wait: bool = True):
    opts = PipelineOptions(argv, streaming=True, save_main_session=False)
    jf = opts.view_as(JourneyflowOptions)
    std = opts.view_as(StandardOptions)
    std.streaming = True
    if not std.runner:
        # Local Pub/Sub streaming: the bundle-based DirectRunner (Prism is tried first by DirectRunner otherwise).
        std.runner = "BundleBasedDirectRunner"
    local = std.runner in ("BundleBasedDirectRunner", "DirectRunner")
    if local:
        from journeyflow.tools.direct_runner import tune_direct_runner
        tune_direct_runner()
    project = jf.project_id or opts.get_all_options().get("project") or "journeyflow-local"
    config = EngineConfig.from_files(jf.journeys, jf.policy, jf.link_rules)
    lateness = parse_duration_ms(jf.allowed_lateness)
    hold_until = 0
    if jf.resume:
        from journeyflow.tools.pubsub import rewind_for_resume
        rewind_for_resume(project, jf.topic_prefix)
        hold_until = int(time.time() * 1000) + parse_duration_ms(jf.catch_up) + lateness
    p = beam.Pipeline(options=opts)
    build_stream(p, project, jf.topic_prefix, config, jf.identity_store, lateness,
                 ParseConfig(default_region=jf.default_region), jf.tables, local=local, hold_until_ms=hold_until)
    result = p.run()
    if wait:
        result.wait_until_finish()
    return result
