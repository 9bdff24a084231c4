"""Pub/Sub's message limits on what the sink publishes: an attribute value over 1,024 bytes (or a key over 256)
is refused by Pub/Sub (``InvalidArgument: … attribute … value that is too long … maximum allowed is 1024``), the
bundle fails and is retried forever — one customer with a 2 KB anonymous id would stop every output.  The emulator
does not enforce the limit, so the sink's messages are checked here (both writers: Dataflow's ``to_pubsub`` and
the local ``PublishLocallyFn``)."""
from __future__ import annotations

from journeyflow.transforms.outputs import Message
from journeyflow.transforms.sinks.pubsub import (MAX_ATTRIBUTE_KEY_BYTES, MAX_ATTRIBUTE_VALUE_BYTES,
                                                  PublishLocallyFn, to_pubsub)

LONG_ID = "anon:" + "é" * 1500  # 3,005 bytes of UTF-8
MSG = Message("decisions-audit", b'{"customer_id": "x"}', {"decision_id": "d_1", "customer_id": LONG_ID,
                                                          "journey_id": "cart", "f" * 300: "v"})


def _within_limits(attrs: dict) -> None:
    for k, v in attrs.items():
        assert len(k.encode()) <= MAX_ATTRIBUTE_KEY_BYTES, k
        assert len(v.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES, k
        v.encode().decode()  # still valid UTF-8 (cut at a character boundary)


def test_dataflow_messages_keep_attributes_within_pubsub_limits():
    attrs = to_pubsub(MSG).attributes
    _within_limits(attrs)
    assert attrs["decision_id"] == "d_1" and attrs["journey_id"] == "cart"  # short values untouched
    assert LONG_ID.startswith(attrs["customer_id"]) and len(attrs["customer_id"].encode()) > 1000


class _Client:
    def __init__(self):
        self.published = []

    def publish(self, path, data, **attrs):
        self.published.append((path, data, attrs))
        return None


def test_local_publisher_keeps_attributes_within_pubsub_limits():
    fn = PublishLocallyFn("p", "")
    fn.client, fn.futures, fn.paths = _Client(), [], {}
    fn.process(MSG)
    (_path, data, attrs), = fn.client.published
    assert data == MSG.data  # the payload keeps the whole id
    _within_limits(attrs)
    assert attrs["decision_id"] == "d_1"


def test_a_transfer_to_a_customer_with_a_long_id_survives_the_attribute_limit():
    """The state hand-over of a merge into a customer whose id is over 1,024 bytes: published with the ``target``
    attribute within the limit, it still opens and reaches the whole id (not a ``transfer_undecodable``)."""
    from test_state_transfer_messages import absorb

    from journeyflow.transforms import state_transfer as st

    target = "crm:" + "C" * 2000
    ev = absorb(target)
    for msg in (to_pubsub(st.transfer_message((target, ev))),):  # as both writers publish it
        _within_limits(msg.attributes)
        assert st.from_transfer(msg) == (target, ev)
    fn = PublishLocallyFn("p", "")
    fn.client, fn.futures, fn.paths = _Client(), [], {}
    fn.process(st.transfer_message((target, ev)))
    (_path, data, attrs), = fn.client.published
    from apache_beam.io.gcp.pubsub import PubsubMessage
    assert st.from_transfer(PubsubMessage(data, attrs)) == (target, ev)
