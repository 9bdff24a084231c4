"""deploy/terraform's Pub/Sub resources, parsed with python-hcl2 and expanded per ``for_each``: every input
subscription (each stream of STREAMS) and the state-transfer subscription has a dead-letter policy to the
``pubsub-dead-letter`` topic, the Pub/Sub service agent holds the roles the forwarding needs, and ``journeyflow
topics create`` makes exactly the topics and subscriptions terraform declares (names, ordering, retention of
acknowledged messages, dead-letter policy) — compared on the resource lists and on the Pub/Sub emulator."""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import hcl2
import pytest

from journeyflow.adapters import pubsub_names as names
from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.events import STREAMS
from journeyflow.tools import pubsub as pt
from journeyflow.tools.pubsub.topics import _resources

TERRAFORM = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
PROJECT = "test-project"
PREFIX = "dev-"
#: The Pub/Sub service agent of the project (Pub/Sub DeadLetterPolicy.dead_letter_topic).
AGENT = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"


class Sub(NamedTuple):
    """One expanded subscription: its id, its topic's id and the settings both declarations must agree on."""

    topic: str
    ordered: bool
    retain_acked: bool
    dead_letter_topic: str | None
    max_delivery_attempts: int | None


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _blocks(doc: dict, kind: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry in doc.get(kind, []):
        for key, body in entry.items():
            out[_unquote(key)] = body
    return out


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    """``{"main": <main.tf>, "vars": {name: default}, "locals": {...}}`` as python-hcl2 parses them."""
    with open(TERRAFORM / "main.tf") as f:
        main = hcl2.load(f)
    with open(TERRAFORM / "variables.tf") as f:
        variables = {k: b.get("default") for k, b in _blocks(hcl2.load(f), "variable").items()}
    local_values: dict[str, Any] = {}
    for entry in main.get("locals", []):
        local_values.update(entry)
    return {"main": main, "vars": variables, "locals": local_values}


def _resources_of(tf: dict, rtype: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry in tf["main"]["resource"]:
        for key, bodies in entry.items():
            if _unquote(key) == rtype:
                out.update({_unquote(k): v for k, v in bodies.items()})
    return out


def _expand(tf: dict, rtype: str) -> dict[tuple[str, str | None], dict]:
    """``{(resource name, each.key or None): body}`` for every instance of ``rtype`` (for_each over a variable's
    default list or over another resource's instances)."""
    out: dict[tuple[str, str | None], dict] = {}
    for name, body in _resources_of(tf, rtype).items():
        for_each = body.get("for_each")
        if for_each is None:
            keys: list[str | None] = [None]
        elif m := re.fullmatch(r"\$\{toset\(var\.(\w+)\)\}", for_each):
            keys = [_unquote(k) for k in tf["vars"][m.group(1)]]
        elif m := re.fullmatch(r"\$\{(google_\w+)\.(\w+)\}", for_each):
            keys = [k for (n, k) in _expand(tf, m.group(1)) if n == m.group(2)]
        else:
            raise AssertionError(f"{rtype}.{name}: for_each {for_each!r} is not understood by this test")
        for key in keys:
            out[(name, key)] = body
    return out


def _name(body: dict, key: str | None, prefix: str = PREFIX) -> str:
    name = _unquote(body["name"]).replace("${local.p}", prefix)
    if key is not None:
        name = name.replace("${each.key}", key)
    assert "${" not in name, name
    return name


def _ref(tf: dict, value: str, key: str | None, rtype: str, attr: str, prefix: str = PREFIX) -> str:
    """The id of the ``rtype`` instance that ``value`` (``${each.value.<attr>}`` or ``${<rtype>.<name>.<attr>}``)
    refers to."""
    instances = _expand(tf, rtype)
    if value == "${each.value.%s}" % attr:
        candidates = [(n, k) for (n, k) in instances if k == key]
        assert len(candidates) == 1, (value, key, candidates)
        n = candidates[0][0]
    else:
        m = re.fullmatch(r"\$\{%s\.(\w+)\.%s\}" % (rtype, attr), value)
        assert m, f"{value!r} is not a reference to a {rtype}'s {attr}"
        n, key = m.group(1), None
    return _name(instances[(n, key)], key, prefix)


def _terraform_pubsub(tf: dict, prefix: str = PREFIX) -> tuple[set[str], dict[str, Sub]]:
    topics = {_name(b, k, prefix) for (n, k), b in _expand(tf, "google_pubsub_topic").items()}
    subs: dict[str, Sub] = {}
    for (n, k), b in _expand(tf, "google_pubsub_subscription").items():
        policy = (b.get("dead_letter_policy") or [None])[0]
        attempts = None
        if policy:
            m = re.fullmatch(r"\$\{var\.(\w+)\}", str(policy["max_delivery_attempts"]))
            attempts = tf["vars"][m.group(1)] if m else int(policy["max_delivery_attempts"])
        subs[_name(b, k, prefix)] = Sub(
            topic=_ref(tf, b["topic"], k, "google_pubsub_topic", "id", prefix),
            ordered=bool(b.get("enable_message_ordering", False)),
            retain_acked=bool(b.get("retain_acked_messages", False)),
            dead_letter_topic=(_ref(tf, policy["dead_letter_topic"], k, "google_pubsub_topic", "id", prefix)
                               if policy else None),
            max_delivery_attempts=attempts)
    return topics, subs


def _tools_pubsub(prefix: str) -> tuple[set[str], dict[str, Sub]]:
    """What ``journeyflow topics create`` creates (ids without ``projects/<p>/...``)."""
    def short(path: str) -> str:
        return path.rsplit("/", 1)[1]

    resources = _resources(PROJECT, prefix)
    subs = {short(r.subscription): Sub(
        short(r.topic), r.ordered, r.retained,
        short(names.pubsub_dead_letter_topic(PROJECT, prefix)) if r.dead_lettered else None,
        pt.MAX_DELIVERY_ATTEMPTS if r.dead_lettered else None) for r in resources}
    return {short(r.topic) for r in resources}, subs


def test_every_input_and_the_state_transfer_subscription_dead_letter_to_pubsub_dead_letter(tf):
    topics, subs = _terraform_pubsub(tf)
    dlq = f"{PREFIX}{names.PUBSUB_DEAD_LETTER}"
    read = {f"{PREFIX}in-{s}{names.SUBSCRIBER_SUFFIX}" for s in STREAMS}
    read.add(f"{PREFIX}{names.STATE_TRANSFER}{names.SUBSCRIBER_SUFFIX}")
    assert len(read) == len(STREAMS) + 1 and "track" in STREAMS
    assert read <= set(subs), sorted(read - set(subs))
    for sub in sorted(read):
        assert subs[sub].dead_letter_topic == dlq, sub
        assert subs[sub].max_delivery_attempts == pt.MAX_DELIVERY_ATTEMPTS, sub
        assert subs[sub].topic != dlq
    assert 5 <= pt.MAX_DELIVERY_ATTEMPTS <= 100  # Pub/Sub's bounds of max_delivery_attempts
    # The subscriptions with a policy are exactly the pipeline's; the dead-letter topic has a subscription of its
    # own (messages published to a topic without one are lost), which does not dead-letter in turn.
    assert {s for s, v in subs.items() if v.dead_letter_topic} == read
    assert dlq in topics
    assert [s for s, v in subs.items() if v.topic == dlq] == [f"{dlq}{names.OUTPUT_SUB_SUFFIX}"]


def test_the_pubsub_service_agent_may_forward_dead_letters(tf):
    assert _unquote(tf["locals"]["pubsub_agent"]) == AGENT
    assert "google_project" in {_unquote(k) for d in tf["main"]["data"] for k in d}
    _, subs = _terraform_pubsub(tf)
    publishers = {_ref(tf, b["topic"], k, "google_pubsub_topic", "name")
                  for (n, k), b in _expand(tf, "google_pubsub_topic_iam_member").items()
                  if _unquote(b["role"]) == "roles/pubsub.publisher" and b["member"] == "${local.pubsub_agent}"}
    assert publishers == {f"{PREFIX}{names.PUBSUB_DEAD_LETTER}"}
    subscribers = {_ref(tf, b["subscription"], k, "google_pubsub_subscription", "name")
                   for (n, k), b in _expand(tf, "google_pubsub_subscription_iam_member").items()
                   if _unquote(b["role"]) == "roles/pubsub.subscriber" and b["member"] == "${local.pubsub_agent}"}
    assert subscribers == {s for s, v in subs.items() if v.dead_letter_topic}


def test_journeyflow_topics_declares_what_terraform_declares(tf):
    topics, subs = _terraform_pubsub(tf)
    tool_topics, tool_subs = _tools_pubsub(PREFIX)
    assert tool_topics == topics
    assert tool_subs == subs
    assert len(topics) == len(STREAMS) + 1 + len(ALL_TOPICS) + 1


@pytest.mark.emulator
def test_journeyflow_topics_creates_what_terraform_declares(tf, pubsub_emulator):
    from google.cloud import pubsub_v1

    prefix = f"t{uuid.uuid4().hex[:8]}-"
    topics, subs = _terraform_pubsub(tf, prefix)
    pt.create_topics(PROJECT, prefix)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    try:
        made_topics = {t.name.rsplit("/", 1)[1] for t in publisher.list_topics(request={"project": f"projects/{PROJECT}"})}
        made_subs = {}
        for s in subscriber.list_subscriptions(request={"project": f"projects/{PROJECT}"}):
            sid = s.name.rsplit("/", 1)[1]
            if not sid.startswith(prefix):
                continue
            dlq = s.dead_letter_policy.dead_letter_topic.split("/")[-1] or None
            made_subs[sid] = Sub(s.topic.rsplit("/", 1)[1], s.enable_message_ordering, s.retain_acked_messages,
                                 dlq, s.dead_letter_policy.max_delivery_attempts if dlq else None)
    finally:
        subscriber.close()
        publisher.transport.close()
    assert {t for t in made_topics if t.startswith(prefix)} == topics
    assert made_subs == subs
    pt.delete_topics(PROJECT, prefix)


def _pull(subscriber: Any, sub: str) -> list:
    """One unary pull; an empty subscription may hold the call until its deadline (then: nothing)."""
    from google.api_core.exceptions import DeadlineExceeded

    try:
        return list(subscriber.pull(request={"subscription": sub, "max_messages": 100}, timeout=1.5).received_messages)
    except DeadlineExceeded:
        return []


@pytest.mark.emulator
def test_a_message_never_acknowledged_moves_to_pubsub_dead_letter(pubsub_emulator):
    """What the policy does (the emulator implements it): a message on each subscription the pipeline reads,
    nacked on every delivery, is delivered MAX_DELIVERY_ATTEMPTS times and then forwarded, payload and attributes
    unchanged, with Pub/Sub's attributes naming the source subscription."""
    from google.cloud import pubsub_v1

    prefix = f"t{uuid.uuid4().hex[:8]}-"
    pt.create_topics(PROJECT, prefix)
    read = {names.input_subscription(PROJECT, s, prefix): names.input_topic(PROJECT, s, prefix) for s in STREAMS}
    read[names.state_transfer_subscription(PROJECT, prefix)] = names.state_transfer_topic(PROJECT, prefix)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    try:
        for sub, topic in read.items():
            publisher.publish(topic, sub.encode(), ts="abc").result(timeout=30)
        attempts: dict[str, list[int]] = {sub: [] for sub in read}
        for _ in range(pt.MAX_DELIVERY_ATTEMPTS + 1):  # + 1: nothing is delivered after the last attempt
            for sub in read:
                got = _pull(subscriber, sub)
                attempts[sub] += [m.delivery_attempt for m in got]
                if got:  # a nack: what a reader that fails on the message amounts to
                    subscriber.modify_ack_deadline(request={"subscription": sub, "ack_ids": [m.ack_id for m in got],
                                                            "ack_deadline_seconds": 0})
        assert attempts == {sub: list(range(1, pt.MAX_DELIVERY_ATTEMPTS + 1)) for sub in read}
        dlq_sub = names.pubsub_dead_letter_subscription(PROJECT, prefix)
        forwarded: dict[str, dict] = {}
        deadline = time.monotonic() + 30
        while len(forwarded) < len(read) and time.monotonic() < deadline:
            got = _pull(subscriber, dlq_sub)
            for m in got:
                forwarded[m.message.data.decode()] = dict(m.message.attributes)
            if got:
                subscriber.acknowledge(request={"subscription": dlq_sub, "ack_ids": [m.ack_id for m in got]})
        assert set(forwarded) == set(read)
        for sub, attrs in forwarded.items():
            assert attrs["ts"] == "abc"
            assert attrs["CloudPubSubDeadLetterSourceSubscription"] == sub.rsplit("/", 1)[1]
            assert attrs["CloudPubSubDeadLetterSourceDeliveryCount"] == str(pt.MAX_DELIVERY_ATTEMPTS)
    finally:
        subscriber.close()
        publisher.transport.close()
        pt.delete_topics(PROJECT, prefix)
