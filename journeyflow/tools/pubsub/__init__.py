"""Pub/Sub tooling around the streaming pipeline: topics, a rate-controlled publisher, an example consumer.

Plain ``google-cloud-pubsub`` (no Beam).  Works against the Pub/Sub emulator (``PUBSUB_EMULATOR_HOST``) or real
Pub/Sub (Application Default Credentials).

Resource names (``prefix`` is prepended to every id, e.g. ``"dev-"``):

==========================================  =========================================================================
topic                                       subscription
==========================================  =========================================================================
``<prefix>in-<stream>`` (each of STREAMS)   ``<prefix>in-<stream>-journeyflow`` (read by the pipeline)
``<prefix>state-transfer``                  ``<prefix>state-transfer-journeyflow`` (reserved: identity merges)
``<prefix><topic>`` (each of ALL_TOPICS)    ``<prefix><topic>-sub``: example downstream subscription, ordered
==========================================  =========================================================================

All subscriptions have a 60 s ack deadline; the output ones have ``enable_message_ordering=True``: decisions
published with an ordering key (the customer id) then reach the consumer in order per customer.  The pipeline's
input subscriptions retain acknowledged messages for 7 days (``retain_acked_messages``, Pub/Sub's maximum): that
retained input is what ``journeyflow stream --resume`` replays after a restart (:func:`rewind_for_resume`).

Publishing a generated directory (``publish_dir``)
--------------------------------------------------
Every line of ``<input_dir>/<stream>.jsonl`` becomes one message on ``in-<stream>``; the data is the line's bytes
(without the newline), unchanged unless ``shift_to_now``.  The streams are merged in event-time order (ties: the
stream order of ``STREAM_RANK``, then file position).  Attributes:

* ``stream``; ``event_id`` when the line is a JSON object with one;
* ``ts``: event time in epoch ms, the attribute the pipeline takes as the message's event time (Dataflow:
  ``ReadFromPubSub(timestamp_attribute="ts")``) and requires to equal the payload's ``ts``
  (``journeyflow.stages.message_attributes``).
  A line whose ``ts`` does not parse (or lies outside 2000..2100, like the generator's "absurd" timestamps) is
  still published, at its file position: it gets the ``ts`` of the preceding parseable line of the same file (the
  following one for leading lines) and ``ts_inferred="true"``, and its payload is left as it is so that the pipeline
  dead-letters it with the right reason.  Lines are read as the pipeline reads them
  (``journeyflow.stages.json_text.loads_json``): an integer too long for Python's conversion (over 4,300 digits)
  does not make a record unreadable (its own ``ts`` and ``event_id`` are used; ``shift_to_now`` writes that
  integer back as ``Infinity``, the pipeline's value for it), and a line nested too deeply for the decoder is an
  unreadable line, not an error that stops the publish.  ``ts`` is always set because Beam's Java/Dataflow Pub/Sub source rejects
  a message without the configured timestamp attribute (and the pipeline dead-letters it as
  ``missing_ts_attribute``);
* ``published_at_ms``: wall-clock time of the publish call (for event -> decision latency), ``seq``: publish order.

Why ``shift_to_now``
--------------------
The local streaming runner (``BundleBasedDirectRunner``) sets the Pub/Sub source's watermark from the wall clock.
Replaying a generated month with its original timestamps would make every event *late* (its event time is far
behind the watermark): late events are dropped by windowing and event-time timers fire immediately.  With
``shift_to_now=True`` every valid ``ts`` (attribute *and* the payload's ``ts`` field, rewritten as epoch ms) is
moved so that the first published event lands at "now"; relative spacing is divided by ``time_scale``
(``time_scale=60``: one hour of recorded time becomes one minute of event time).  Caveats:

* events stay on time only while publishing keeps up with the compressed event time: at ``rate`` r the n-th message
  is published ~n/r s after the start, its shifted time is ``(ts - first_ts) / time_scale`` after it.
  ``PublishStats.behind_wall_clock`` counts messages published more than 1 s after their shifted event time;
* ``time_scale`` other than 1 also compresses the gaps the journeys measure (waits, windows, frequency caps are in
  event time): decisions then differ from a bounded replay of the original files.  Use ``time_scale=1`` to compare
  decisions, a larger one to exercise timers quickly.

On real Pub/Sub with Dataflow the watermark follows the event times, so replaying with original timestamps works.

Consuming (``consume``) and an emulator quirk
---------------------------------------------
``consume`` streams from ``<topic>-sub``, drops redeliveries by ``decision_id`` and ends its stream with a
half-close.  The emulator (cloud-pubsub-emulator 0.8.x) ignores a *cancelled* StreamingPull: it keeps the dead
stream in its round robin, and every later message on that subscription that lands on it (for pulls and streams
alike) only comes back after the 60 s ack deadline.  ``SubscriberClient.subscribe()`` + ``future.cancel()``
cancels, so it must not be used on a subscription that something else (a test, the pipeline) reads afterwards.
Beam's local Pub/Sub source uses unary pulls: fine, as long as nothing streamed from the same subscription before.
"""
from journeyflow.adapters.pubsub_names import PubSubToolError
from journeyflow.tools.pubsub.consumer import consume
from journeyflow.tools.pubsub.publisher import PublishStats, TokenBucket, load_dir, publish_dir
from journeyflow.tools.pubsub.topics import (
    DEFAULT_PROJECT,
    MAX_DELIVERY_ATTEMPTS,
    check_access,
    create_topics,
    default_project,
    delete_topics,
    rewind_for_resume,
)

__all__ = [
    "DEFAULT_PROJECT",
    "MAX_DELIVERY_ATTEMPTS",
    "PubSubToolError",
    "PublishStats",
    "TokenBucket",
    "check_access",
    "consume",
    "create_topics",
    "default_project",
    "delete_topics",
    "load_dir",
    "publish_dir",
    "rewind_for_resume",
]
