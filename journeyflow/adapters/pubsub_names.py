"""Pub/Sub resource names: the only place topic and subscription ids are built.

``prefix`` is prepended to every id (e.g. ``"dev-"``):

==========================================  =========================================================================
topic                                       subscription
==========================================  =========================================================================
``<prefix>in-<stream>`` (each of STREAMS)   ``<prefix>in-<stream>-journeyflow`` (read by the pipeline)
``<prefix>state-transfer``                  ``<prefix>state-transfer-journeyflow`` (identity merges in streaming)
``<prefix><topic>`` (each of ALL_TOPICS)    ``<prefix><topic>-sub``: example downstream subscription, ordered
``<prefix>pubsub-dead-letter``              ``<prefix>pubsub-dead-letter-sub``: Pub/Sub's dead-letter topic of the
                                            input and state-transfer subscriptions (never-acknowledged messages)
==========================================  =========================================================================

Ids follow Pub/Sub's resource-name rules (start with a letter; letters, digits and ``- _ . ~ + %``).
"""
from __future__ import annotations

import re

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.events import STREAMS

STATE_TRANSFER = "state-transfer"
#: Pub/Sub's dead-letter topic of the input and state-transfer subscriptions (their ``dead_letter_policy``); not
#: journeyflow's ``dead-letter`` output topic, which carries the records the pipeline read and refused.
PUBSUB_DEAD_LETTER = "pubsub-dead-letter"
SUBSCRIBER_SUFFIX = "-journeyflow"
OUTPUT_SUB_SUFFIX = "-sub"
_PREFIX_RE = re.compile(r"^([A-Za-z][A-Za-z0-9._~+%-]*)?$")


class PubSubToolError(ValueError):
    """A condition the user has to fix (no emulator / credentials, missing topics, bad arguments).

    A ``ValueError`` so that the CLI prints it as a one-line error without a traceback."""


def _check_prefix(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix or ""):
        raise PubSubToolError(
            f"invalid prefix {prefix!r}: Pub/Sub ids start with a letter and use letters, digits and - _ . ~ + %")
    return prefix or ""


def check_prefix(prefix: str) -> str:
    """``prefix`` (``--topic_prefix``) when Pub/Sub can name resources with it; else :class:`PubSubToolError`."""
    return _check_prefix(prefix)


def _check_stream(stream: str) -> str:
    if stream not in STREAMS:
        raise PubSubToolError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
    return stream


def _check_topic(topic: str) -> str:
    if topic not in ALL_TOPICS:
        raise PubSubToolError(f"unknown output topic {topic!r}; expected one of {', '.join(ALL_TOPICS)}")
    return topic


def _topic_path(project: str, topic_id: str) -> str:
    return f"projects/{project}/topics/{topic_id}"


def _sub_path(project: str, sub_id: str) -> str:
    return f"projects/{project}/subscriptions/{sub_id}"


def input_topic(project: str, stream: str, prefix: str = "") -> str:
    """``projects/<project>/topics/<prefix>in-<stream>``."""
    return _topic_path(project, f"{_check_prefix(prefix)}in-{_check_stream(stream)}")


def input_subscription(project: str, stream: str, prefix: str = "") -> str:
    """``projects/<project>/subscriptions/<prefix>in-<stream>-journeyflow`` (the pipeline's subscription)."""
    return _sub_path(project, f"{_check_prefix(prefix)}in-{_check_stream(stream)}{SUBSCRIBER_SUFFIX}")


def state_transfer_topic(project: str, prefix: str = "") -> str:
    """``projects/<project>/topics/<prefix>state-transfer`` (reserved for identity merges in streaming)."""
    return _topic_path(project, f"{_check_prefix(prefix)}{STATE_TRANSFER}")


def state_transfer_subscription(project: str, prefix: str = "") -> str:
    """``projects/<project>/subscriptions/<prefix>state-transfer-journeyflow`` (read by the streaming pipeline)."""
    return _sub_path(project, f"{_check_prefix(prefix)}{STATE_TRANSFER}{SUBSCRIBER_SUFFIX}")


def output_topic(project: str, topic: str, prefix: str = "") -> str:
    """``projects/<project>/topics/<prefix><topic>`` for ``topic`` in ALL_TOPICS."""
    return _topic_path(project, f"{_check_prefix(prefix)}{_check_topic(topic)}")


def output_subscription(project: str, topic: str, prefix: str = "") -> str:
    """``projects/<project>/subscriptions/<prefix><topic>-sub``: the example downstream (ordered) subscription."""
    return _sub_path(project, f"{_check_prefix(prefix)}{_check_topic(topic)}{OUTPUT_SUB_SUFFIX}")


def topic_for(project: str, name: str, prefix: str = "") -> str:
    """Path of an outgoing topic: ``name`` is one of ALL_TOPICS (decisions, audit, dead letters) or
    ``STATE_TRANSFER``. Raises :class:`PubSubToolError` for any other name or an invalid prefix."""
    if name == STATE_TRANSFER:
        return state_transfer_topic(project, prefix)
    return output_topic(project, name, prefix)


def pubsub_dead_letter_topic(project: str, prefix: str = "") -> str:
    """``projects/<project>/topics/<prefix>pubsub-dead-letter``: where Pub/Sub forwards a message of an input or the
    state-transfer subscription delivered ``max_delivery_attempts`` times without an acknowledgement."""
    return _topic_path(project, f"{_check_prefix(prefix)}{PUBSUB_DEAD_LETTER}")


def pubsub_dead_letter_subscription(project: str, prefix: str = "") -> str:
    """``projects/<project>/subscriptions/<prefix>pubsub-dead-letter-sub``: to inspect or re-publish those messages."""
    return _sub_path(project, f"{_check_prefix(prefix)}{PUBSUB_DEAD_LETTER}{OUTPUT_SUB_SUFFIX}")


#: Pub/Sub's resource limits on a message's attributes (cloud.google.com/pubsub/quotas#resource_limits), in bytes:
#: a longer key or value makes Pub/Sub refuse the publish (``InvalidArgument``; the emulator does not check).
MAX_ATTRIBUTE_KEY_BYTES = 256
MAX_ATTRIBUTE_VALUE_BYTES = 1024


def clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, at a character boundary (unchanged when within)."""
    b = text.encode()
    return text if len(b) <= limit else b[:limit].decode(errors="ignore")
