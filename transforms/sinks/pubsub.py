"""Pub/Sub sink: every output topic, plus the state-transfer loopback of streaming identity merges.

Decision ids are deterministic, so a redelivered input or a restarted pipeline re-emits the *same* decision id;
execution tools drop duplicates by the ``decision_id`` attribute.  Messages carry ``customer_id`` and
``decided_at`` attributes but no ordering key: Beam's Python ``WriteToPubSub`` publishes without message ordering
(an ordering key makes its publisher fail locally, and Dataflow's native sink ignores it), so a consumer that needs
per-customer order sorts by ``decided_at``.

Attributes are kept within Pub/Sub's limits (keys 256 bytes, values 1,024 bytes: a longer one makes Pub/Sub refuse
the publish with ``InvalidArgument``, which fails the bundle on every retry and stops every output): a longer value
(a customer id built from a 2 KB anonymous id) is cut at a UTF-8 character boundary; the payload keeps it whole.
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, WriteToPubSub

from journeyflow.adapters.pubsub_names import (  # noqa: F401 - the limits are re-exported
    MAX_ATTRIBUTE_KEY_BYTES,
    MAX_ATTRIBUTE_VALUE_BYTES,
    STATE_TRANSFER,
    clip_utf8,
    topic_for,
)
from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.transforms.outputs import Message, PipelineOutputs
from journeyflow.transforms.state_transfer import transfer_message


def pubsub_attributes(attributes) -> dict[str, str]:
    """``attributes`` with every key cut to 256 bytes and every value to 1,024 bytes of UTF-8 (at a character
    boundary), Pub/Sub's limits; attributes within them are returned unchanged."""
    out = {}
    for k, v in (attributes or {}).items():
        if len(k) > MAX_ATTRIBUTE_KEY_BYTES // 4 or len(v) > MAX_ATTRIBUTE_VALUE_BYTES // 4:  # (else surely within)
            k, v = clip_utf8(k, MAX_ATTRIBUTE_KEY_BYTES), clip_utf8(v, MAX_ATTRIBUTE_VALUE_BYTES)
        out[k] = v
    return out


def to_pubsub(m: Message) -> PubsubMessage:
    """The ``PubsubMessage`` of a :class:`Message` (data and attributes within Pub/Sub's limits:
    :func:`pubsub_attributes`; the topic is the write's)."""
    return PubsubMessage(m.data, pubsub_attributes(m.attributes))


class PubSubSink:
    """Writes the messages (step ``AllMessages``) and state transfers (``TransferMessages``) of ``outputs`` to the
    topics of ``project`` named by ``journeyflow.adapters.pubsub_names`` (with ``prefix``).

    ``local=False`` (Dataflow and other distributed runners): ``Write_state_transfer`` and ``WriteTopics`` (one
    native ``WriteToPubSub`` per topic).  ``local=True`` (the bundle-based DirectRunner): everything through one
    :class:`PublishLocallyFn` (``AllOutgoing``, ``PublishLocally``)."""

    def __init__(self, project: str, prefix: str, local: bool = False):
        self.project, self.prefix, self.local = project, prefix, local

    def write(self, outputs: PipelineOutputs) -> None:
        """Adds the Pub/Sub writers for ``outputs.messages`` and ``outputs.transfers`` to their pipeline."""
        messages = outputs.messages | "AllMessages" >> beam.Flatten()
        if self.local:
            transfers = outputs.transfers | "TransferMessages" >> beam.Map(transfer_message)
            ((messages, transfers)
             | "AllOutgoing" >> beam.Flatten()
             | "PublishLocally" >> beam.ParDo(PublishLocallyFn(self.project, self.prefix)))
        else:
            (outputs.transfers
             | "TransferMessages" >> beam.Map(_transfer_pubsub_message).with_output_types(PubsubMessage)
             | "Write_state_transfer" >> WriteToPubSub(topic_for(self.project, STATE_TRANSFER, self.prefix),
                                                       with_attributes=True))
            messages | "WriteTopics" >> WriteTopics(self.project, self.prefix)


def _transfer_pubsub_message(item) -> PubsubMessage:
    return to_pubsub(transfer_message(item))


class WriteTopics(beam.PTransform):
    """:class:`Message` s → one ``WriteToPubSub`` per topic of ``ALL_TOPICS`` (stable labels ``Write_<topic>``)."""

    def __init__(self, project: str, prefix: str, label: str | None = None):
        super().__init__(label)
        self.project, self.prefix = project, prefix

    def expand(self, messages):
        """Partitions by topic (``ByTopic``), converts (``Message_<topic>``) and writes (``Write_<topic>``)."""
        topics = list(ALL_TOPICS)
        parts = messages | "ByTopic" >> beam.Partition(lambda m, n: topics.index(m.topic), len(topics))
        for topic, part in zip(topics, parts):
            (part
             | f"Message_{topic}" >> beam.Map(to_pubsub).with_output_types(PubsubMessage)
             | f"Write_{topic}" >> WriteToPubSub(topic_for(self.project, topic, self.prefix), with_attributes=True))
        return None


class PublishLocallyFn(beam.DoFn):
    """Local runner only: every output topic (:class:`Message` s) from one DoFn holding one real
    ``PublisherClient``.

    Beam's ``WriteToPubSub`` on the bundle-based DirectRunner makes a publisher client per bundle, and one write
    chain per topic (eight, plus state transfer) multiplies the steps the single-threaded runner walks through on
    every cycle (measured: 6.6 events/s with them).  Dataflow keeps ``WriteToPubSub`` (``WriteTopics``).  A
    publish that fails fails the bundle (``finish_bundle``), which is then retried: never lost silently."""

    def __init__(self, project: str, prefix: str):
        self.project, self.prefix = project, prefix

    def setup(self) -> None:
        """One PublisherClient per DoFn instance (``PUBSUB_EMULATOR_HOST`` is honored)."""
        from google.cloud import pubsub_v1
        self.client = pubsub_v1.PublisherClient()
        self.futures: list = []
        self.paths: dict[str, str] = {}

    def process(self, m: Message) -> None:
        """Publishes ``m`` asynchronously; the bundle waits for it in ``finish_bundle``."""
        path = self.paths.get(m.topic) or self.paths.setdefault(m.topic, topic_for(self.project, m.topic, self.prefix))
        self.futures.append(self.client.publish(path, m.data, **pubsub_attributes(m.attributes)))

    def finish_bundle(self) -> None:
        """Waits for every publish of the bundle (60 s each); a failure fails the bundle."""
        futures, self.futures = self.futures, []
        for f in futures:
            f.result(timeout=60)  # a failed publish fails the bundle: it is retried, never lost silently

    def teardown(self) -> None:
        """Stops the client (flushes and releases its threads)."""
        client = getattr(self, "client", None)
        if client is not None:
            client.stop()
