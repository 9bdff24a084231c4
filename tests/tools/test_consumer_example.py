"""The README's example execution tool (journeyflow.tools.consumer_example) on the real Pub/Sub emulator: every
decision is acted on exactly once, whatever Pub/Sub redelivers or the publisher repeats."""
from __future__ import annotations

import json
import uuid

import pytest

PROJECT = "test-project"


def _decision(did: str, n: int) -> dict:
    return {"decision_id": did, "customer_id": f"crm:C{n}", "action": "send", "channel": "email",
            "content_id": "cart_reminder_1", "address": f"c{n}@example.com", "context": {"product_ids": ["SKU-1"]}}


@pytest.mark.emulator
def test_each_decision_is_acted_on_once(pubsub_emulator):
    from google.cloud import pubsub_v1

    from journeyflow.tools.consumer_example import run

    tag = uuid.uuid4().hex[:8]
    pub = pubsub_v1.PublisherClient()
    sub = pubsub_v1.SubscriberClient()
    topic = pub.topic_path(PROJECT, f"decisions-email-{tag}")
    subscription = f"decisions-email-{tag}-sub"
    pub.create_topic(name=topic)
    sub.create_subscription(name=sub.subscription_path(PROJECT, subscription), topic=topic, ack_deadline_seconds=10)
    sub.close()
    ids = [f"d_{i:024x}" for i in range(1, 6)]
    sent = ids + [ids[0], ids[3]]  # two repeats: a redelivery after a restart re-emits the same decision id
    for n, did in enumerate(sent):
        pub.publish(topic, json.dumps(_decision(did, n)).encode(), decision_id=did).result(timeout=30)

    acted: list[str] = []
    failed_once: set[str] = set()

    def act(d: dict) -> None:
        if d["decision_id"] == ids[2] and ids[2] not in failed_once:
            failed_once.add(ids[2])
            raise RuntimeError("e-mail service unavailable")  # nacked, redelivered, then acted on
        acted.append(d["decision_id"])

    handler = run(PROJECT, subscription, act, timeout=12, max_messages=2)
    assert sorted(acted) == ids  # each once, the failed one after its redelivery
    assert (handler.acted, handler.failed) == (5, 1)
    assert handler.repeats >= 2  # a repeat still in flight elsewhere is nacked and comes back once more
