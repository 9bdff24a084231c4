"""Pub/Sub administration for journeyflow: the access check, creating and deleting every topic and subscription
(names from :mod:`journeyflow.adapters.pubsub_names`; the same set deploy/terraform declares, with the same
dead-letter policy on the input and state-transfer subscriptions), and rewinding the subscriptions for
``stream --resume``."""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any, NamedTuple

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.events import STREAMS
from journeyflow.adapters.pubsub_names import (
    PubSubToolError,
    input_subscription,
    input_topic,
    output_subscription,
    output_topic,
    pubsub_dead_letter_subscription,
    pubsub_dead_letter_topic,
    state_transfer_subscription,
    state_transfer_topic,
)

logger = logging.getLogger(__package__)

#: Project id used when neither ``--project`` nor ``$PUBSUB_PROJECT_ID`` gives one (any id works on the emulator).
DEFAULT_PROJECT = "journeyflow-local"
#: Ack deadline of every subscription, seconds.
ACK_DEADLINE_SECONDS = 60
#: RPC timeout of admin calls (create/get/delete), so a wrong endpoint fails instead of hanging.
ADMIN_TIMEOUT = 30.0
#: How long the input subscriptions keep acknowledged messages (Pub/Sub's maximum for a subscription).
INPUT_RETENTION_SECONDS = 7 * 24 * 3600
#: Deliveries of an input or state-transfer message before Pub/Sub forwards it to the ``pubsub-dead-letter`` topic
#: (Pub/Sub's ``DeadLetterPolicy.max_delivery_attempts``, 5..100; deploy/terraform's ``max_delivery_attempts``).
MAX_DELIVERY_ATTEMPTS = 5


class _Resource(NamedTuple):
    topic: str
    subscription: str
    ordered: bool
    retained: bool = False  # keeps acknowledged messages (input subscriptions: replayed by a resumed pipeline)
    dead_lettered: bool = False  # read by the pipeline: never-acknowledged messages go to pubsub-dead-letter
    rewound: bool = True  # sought by rewind_for_resume (not the ordered downstream ones nor pubsub-dead-letter-sub)


def _resources(project: str, prefix: str) -> list[_Resource]:
    res = [_Resource(input_topic(project, s, prefix), input_subscription(project, s, prefix), False, True, True)
           for s in STREAMS]
    res.append(_Resource(state_transfer_topic(project, prefix), state_transfer_subscription(project, prefix), False,
                         dead_lettered=True))
    res += [_Resource(output_topic(project, t, prefix), output_subscription(project, t, prefix), True,
                      rewound=False) for t in ALL_TOPICS]
    res.append(_Resource(pubsub_dead_letter_topic(project, prefix), pubsub_dead_letter_subscription(project, prefix),
                         False, rewound=False))
    return res


# ===================================================================================== access check
def check_access(timeout: float = 10.0) -> str:
    """Fail fast, with a clear message, when neither an emulator nor credentials are available.

    Returns a short description of the target (``"emulator 127.0.0.1:8085"`` or ``"Google Cloud (ADC)"``).  With
    ``PUBSUB_EMULATOR_HOST`` set, the emulator's port must accept connections (the client would otherwise retry
    for a minute); without it, Application Default Credentials must resolve within ``timeout`` seconds.
    """
    host = os.environ.get("PUBSUB_EMULATOR_HOST", "").strip()
    if host:
        name, _, port = host.rpartition(":")
        name = name.strip("[]") or "localhost"
        try:
            with socket.create_connection((name, int(port)), timeout=min(timeout, 3.0)):
                pass
        except (OSError, ValueError) as e:
            raise PubSubToolError(
                f"PUBSUB_EMULATOR_HOST={host} but nothing accepts connections there ({e}). Start the emulator "
                f"(`gcloud beta emulators pubsub start --host-port={host} --project=<project>`) or unset the "
                f"variable to use Google Cloud.") from None
        return f"emulator {host}"

    result: dict[str, Any] = {}

    def probe() -> None:
        try:
            import google.auth

            result["creds"] = google.auth.default(scopes=["https://www.googleapis.com/auth/pubsub"])
        except Exception as e:  # DefaultCredentialsError, TransportError ...
            result["error"] = e

    t = threading.Thread(target=probe, name="pubsub-adc-probe", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive() or "error" in result:
        why = "timed out" if t.is_alive() else f"{type(result['error']).__name__}: {result['error']}"
        raise PubSubToolError(
            "no Pub/Sub target: PUBSUB_EMULATOR_HOST is not set and Google Cloud credentials are not available "
            f"({why}). Either start the emulator and export PUBSUB_EMULATOR_HOST=host:port, or run "
            "`gcloud auth application-default login` / set GOOGLE_APPLICATION_CREDENTIALS.")
    return "Google Cloud (ADC)"


# ========================================================================================== topics
def _publisher_client(**kwargs: Any):
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient(**kwargs)


def _subscriber_client():
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()


def create_topics(project: str, prefix: str = "") -> list[str]:
    """Create every topic and subscription (idempotent: existing ones are left as they are).

    Returns the full paths of all topics and subscriptions, topics first.  An existing subscription keeps its
    settings (Pub/Sub cannot switch message ordering on an existing subscription: delete it first)."""
    from google.api_core.exceptions import AlreadyExists

    check_access()
    resources = _resources(project, prefix)
    publisher = _publisher_client()
    subscriber = _subscriber_client()
    created = existing = 0
    try:
        for r in resources:
            try:
                publisher.create_topic(request={"name": r.topic}, timeout=ADMIN_TIMEOUT)
                created += 1
            except AlreadyExists:
                existing += 1
        for r in resources:
            request = {"name": r.subscription, "topic": r.topic, "ack_deadline_seconds": ACK_DEADLINE_SECONDS}
            if r.ordered:
                request["enable_message_ordering"] = True
            if r.retained:
                request["retain_acked_messages"] = True
                request["message_retention_duration"] = {"seconds": INPUT_RETENTION_SECONDS}
            if r.dead_lettered:
                request["dead_letter_policy"] = {"dead_letter_topic": pubsub_dead_letter_topic(project, prefix),
                                                 "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS}
            try:
                subscriber.create_subscription(request=request, timeout=ADMIN_TIMEOUT)
                created += 1
            except AlreadyExists:
                existing += 1
    finally:
        subscriber.close()
        publisher.transport.close()
    logger.info("pubsub resources in %s: %d created, %d already existed", project, created, existing)
    return [r.topic for r in resources] + [r.subscription for r in resources]


def delete_topics(project: str, prefix: str = "") -> list[str]:
    """Delete every subscription and topic created by :func:`create_topics` (missing ones are skipped).

    Returns the paths that were actually deleted."""
    from google.api_core.exceptions import NotFound

    check_access()
    resources = _resources(project, prefix)
    publisher = _publisher_client()
    subscriber = _subscriber_client()
    deleted: list[str] = []
    try:
        steps = ((subscriber.delete_subscription, "subscription", [r.subscription for r in resources]),
                 (publisher.delete_topic, "topic", [r.topic for r in resources]))
        for delete, key, paths in steps:
            for path in paths:
                try:
                    delete(request={key: path}, timeout=ADMIN_TIMEOUT)
                    deleted.append(path)
                except NotFound:
                    pass
    finally:
        subscriber.close()
        publisher.transport.close()
    return deleted


def rewind_for_resume(project: str, prefix: str = "") -> dict[str, str]:
    """Prepare a restarted pipeline to rebuild what the stopped one held in memory (see ``stream --resume``).

    * every input subscription is sought back to the oldest message it retains (acknowledged ones included), so
      the restarted pipeline reads the retained input again and rebuilds each customer's state from it;
    * the state-transfer subscription is sought to *now*: hand-overs still in flight belong to the stopped
      pipeline's states, which the replay rebuilds (the identity store keeps the links, so replayed events go
      straight to the surviving customer id and an old hand-over would count them twice).

    Returns ``{subscription: "replay" | "purged"}``.  Raises :class:`PubSubToolError` when a subscription is missing
    or an input subscription does not retain acknowledged messages (created before retention was set: recreate it
    with ``journeyflow topics delete`` + ``create``, or update it to ``retain_acked_messages``)."""
    from google.api_core.exceptions import NotFound
    from google.protobuf import timestamp_pb2

    check_access()
    subscriber = _subscriber_client()
    done: dict[str, str] = {}
    try:
        for r in _resources(project, prefix):
            if not r.rewound:
                continue  # downstream subscriptions belong to the execution tools; pubsub-dead-letter-sub to people
            try:
                sub = subscriber.get_subscription(request={"subscription": r.subscription}, timeout=ADMIN_TIMEOUT)
            except NotFound:
                raise PubSubToolError(f"{r.subscription} does not exist: run `journeyflow topics create`") from None
            when = timestamp_pb2.Timestamp()
            if r.retained:
                if not sub.retain_acked_messages:
                    raise PubSubToolError(
                        f"{r.subscription} does not retain acknowledged messages, so a resumed pipeline cannot "
                        f"replay its input: recreate it with `journeyflow topics delete` and `topics create`")
                when.FromSeconds(0)  # before anything retained: the oldest retained message
            else:
                when.GetCurrentTime()
            subscriber.seek(request={"subscription": r.subscription, "time": when}, timeout=ADMIN_TIMEOUT)
            done[r.subscription] = "replay" if r.retained else "purged"
    finally:
        subscriber.close()
    logger.info("resume: %d input subscriptions rewound to their oldest retained message, state transfer purged",
                sum(v == "replay" for v in done.values()))
    return done



def default_project() -> str:
    """The project id for the tools: ``$PUBSUB_PROJECT_ID`` when set and not empty, else :data:`DEFAULT_PROJECT`."""
    return os.environ.get("PUBSUB_PROJECT_ID") or DEFAULT_PROJECT
