"""The state-transfer loopback of streaming identity merges: when customer A is linked into B, A's state travels
to B as an ``absorb`` event through the state-transfer topic (``journeyflow.adapters.pubsub_names.STATE_TRANSFER``)
and comes back into ``DecideOrdered`` keyed by B.

Message: data = :func:`journeyflow.model.events.encode_event` of the absorb event; attributes ``target`` (customer
id) and ``ts`` (the event time, epoch ms, which the read uses as the message's timestamp).
"""
from __future__ import annotations

import apache_beam as beam
from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub

from journeyflow.adapters.pubsub_names import STATE_TRANSFER, state_transfer_subscription
from journeyflow.model.events import Event, decode_event, encode_event
from journeyflow.transforms.outputs import Message


def transfer_message(item: tuple[str, Event]) -> Message:
    """``(target customer id, absorb event)`` → its :class:`Message` on the state-transfer topic."""
    target, ev = item
    return Message(STATE_TRANSFER, encode_event(ev), {"target": target, "ts": str(ev.ts)})


def from_transfer(msg: PubsubMessage) -> tuple[str, Event]:
    """Inverse of :func:`transfer_message`: ``(target customer id, absorb event)``."""
    return msg.attributes["target"], decode_event(msg.data)


def read_state_transfers(p: beam.Pipeline, project: str, prefix: str) -> beam.PCollection:
    """The state transfers read back (top-level steps ``Read_state_transfer``, ``DecodeTransfer``):
    ``(target customer id, absorb Event)`` with the event time as timestamp."""
    return (
        p
        | "Read_state_transfer" >> ReadFromPubSub(subscription=state_transfer_subscription(project, prefix),
                                                  with_attributes=True, timestamp_attribute="ts")
        | "DecodeTransfer" >> beam.Map(from_transfer)
    )
