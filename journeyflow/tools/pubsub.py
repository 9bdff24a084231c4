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
* ``ts``: event time in epoch ms, the attribute the pipeline reads with ``ReadFromPubSub(timestamp_attribute="ts")``.
  A line whose ``ts`` does not parse (or lies outside 2000..2100, like the generator's "absurd" timestamps) is
  still published, at its file position: it gets the ``ts`` of the preceding parseable line of the same file (the
  following one for leading lines) and ``ts_inferred="true"``, and its payload is left as it is so that the pipeline
  dead-letters it with the right reason.  ``ts`` is always set because Beam's Java/Dataflow Pub/Sub source rejects
  a message without the configured timestamp attribute (the Python direct runner would fall back to publish time);
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
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import queue
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.events import STREAM_RANK, STREAMS
from journeyflow.adapters.pubsub_names import (
    PubSubToolError,
    _check_prefix,
    input_subscription,
    input_topic,
    output_subscription,
    output_topic,
    state_transfer_subscription,
    state_transfer_topic,
)
from journeyflow.stages.parse import DEFAULT_MAX_TS, DEFAULT_MIN_TS, parse_ts

__all__ = [
    "DEFAULT_PROJECT",
    "PubSubToolError",
    "PublishStats",
    "TokenBucket",
    "add_consume_args",
    "add_publish_args",
    "add_topics_args",
    "check_access",
    "cli_consume",
    "cli_publish",
    "cli_topics_create",
    "cli_topics_delete",
    "consume",
    "create_topics",
    "delete_topics",
    "load_dir",
    "publish_dir",
    "rewind_for_resume",
]

logger = logging.getLogger(__name__)

DEFAULT_PROJECT = "journeyflow-local"
ACK_DEADLINE_SECONDS = 60
#: RPC timeout of admin calls (create/get/delete), so a wrong endpoint fails instead of hanging.
ADMIN_TIMEOUT = 30.0
#: How long the input subscriptions keep acknowledged messages (Pub/Sub's maximum for a subscription).
INPUT_RETENTION_SECONDS = 7 * 24 * 3600
#: Pub/Sub limit for one attribute value.
_MAX_ATTR_BYTES = 1024


class _Resource(NamedTuple):
    topic: str
    subscription: str
    ordered: bool
    retained: bool = False  # keeps acknowledged messages (input subscriptions: replayed by a resumed pipeline)


def _resources(project: str, prefix: str) -> list[_Resource]:
    res = [_Resource(input_topic(project, s, prefix), input_subscription(project, s, prefix), False, True)
           for s in STREAMS]
    res.append(_Resource(state_transfer_topic(project, prefix), state_transfer_subscription(project, prefix), False))
    res += [_Resource(output_topic(project, t, prefix), output_subscription(project, t, prefix), True)
            for t in ALL_TOPICS]
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
        for r in resources:
            try:
                subscriber.delete_subscription(request={"subscription": r.subscription}, timeout=ADMIN_TIMEOUT)
                deleted.append(r.subscription)
            except NotFound:
                pass
        for r in resources:
            try:
                publisher.delete_topic(request={"topic": r.topic}, timeout=ADMIN_TIMEOUT)
                deleted.append(r.topic)
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
            if r.ordered:
                continue  # downstream subscriptions belong to the execution tools
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


# ========================================================================================= publish
class TokenBucket:
    """Paces calls to ``rate`` per second, allowing bursts of ``burst`` (default: 50 ms worth, at least 1).

    Tokens are refilled from measured elapsed time, so sleep overshoot is not lost and the long-run rate is exact.
    """

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not rate > 0:
            raise PubSubToolError(f"rate must be > 0 messages/s, got {rate}")
        self.rate = float(rate)
        self.capacity = max(1.0, float(burst) if burst is not None else self.rate * 0.05)
        self._clock, self._sleep = clock, sleep
        self._tokens = 1.0  # start almost empty: no initial burst skewing short runs
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self) -> None:
        self._refill()
        while self._tokens < 1.0 - 1e-9:  # tolerance: float refill may land a hair below 1
            self._sleep(max((1.0 - self._tokens) / self.rate, 1e-6))
            self._refill()
        self._tokens = max(0.0, self._tokens - 1.0)


class _Reservoir:
    """Keeps a uniform sample of at most ``size`` values (publish latencies of long runs)."""

    def __init__(self, size: int = 100_000, seed: int = 0):
        self.size, self.n, self.values = size, 0, []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, v: float) -> None:
        with self._lock:
            self.n += 1
            if len(self.values) < self.size:
                self.values.append(v)
            else:
                j = self._rng.randrange(self.n)
                if j < self.size:
                    self.values[j] = v

    def percentiles(self, qs: Iterable[float]) -> dict[str, float]:
        with self._lock:
            vals = sorted(self.values)
        if not vals:
            return {}
        out = {f"p{q:g}": vals[min(len(vals) - 1, max(0, math.ceil(q / 100 * len(vals)) - 1))] for q in qs}
        out["max"] = vals[-1]
        return out


@dataclass
class PublishStats:
    """What :func:`publish_dir` did.  ``latency_ms``: publish call -> server ack (future result) percentiles."""

    project: str
    prefix: str
    counts: dict[str, int] = field(default_factory=dict)  # published (acknowledged by the server) per stream
    inferred_ts: dict[str, int] = field(default_factory=dict)  # lines whose own ts did not parse / was absurd
    skipped: dict[str, int] = field(default_factory=dict)  # blank lines and messages over Pub/Sub's 10 MB limit
    errors: int = 0  # publishes that failed
    first_error: str | None = None
    elapsed_s: float = 0.0
    target_rate: float | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    shifted: bool = False
    time_scale: float = 1.0
    first_ts: int | None = None  # event time of the first published message (after shifting)
    last_ts: int | None = None
    original_first_ts: int | None = None
    behind_wall_clock: int = 0  # shift_to_now: messages published > 1 s after their (shifted) event time
    max_behind_ms: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        """Achieved rate in messages/s (published / elapsed)."""
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project, "prefix": self.prefix, "counts": dict(self.counts), "total": self.total,
            "inferred_ts": dict(self.inferred_ts), "skipped": dict(self.skipped), "errors": self.errors,
            "first_error": self.first_error, "elapsed_s": round(self.elapsed_s, 3),
            "target_rate": self.target_rate, "rate": round(self.rate, 2),
            "latency_ms": {k: round(v, 2) for k, v in self.latency_ms.items()}, "shifted": self.shifted,
            "time_scale": self.time_scale, "first_ts": self.first_ts, "last_ts": self.last_ts,
            "original_first_ts": self.original_first_ts, "behind_wall_clock": self.behind_wall_clock,
            "max_behind_ms": self.max_behind_ms,
        }

    def render(self) -> str:
        target = "max" if self.target_rate is None else f"{self.target_rate:g}/s"
        lines = [f"published {self.total} messages to {self.project} (prefix {self.prefix!r}) in "
                 f"{self.elapsed_s:.2f} s: {self.rate:.1f} msg/s (target {target})"]
        for s in STREAMS:
            if s in self.counts or s in self.skipped:
                extra = []
                if self.inferred_ts.get(s):
                    extra.append(f"{self.inferred_ts[s]} with inferred ts")
                if self.skipped.get(s):
                    extra.append(f"{self.skipped[s]} skipped")
                lines.append(f"  in-{s:<12}{self.counts.get(s, 0):>9}" + (f"  ({', '.join(extra)})" if extra else ""))
        if self.latency_ms:
            lines.append("  publish latency ms: " + "  ".join(f"{k} {v:.1f}" for k, v in self.latency_ms.items()))
        if self.first_ts is not None:
            span = ((self.last_ts or self.first_ts) - self.first_ts) / 1000
            lines.append(f"  event time {_fmt_ms(self.first_ts)} .. {_fmt_ms(self.last_ts)} ({span:.1f} s)")
        if self.shifted:
            lines.append(f"  shifted to now (time_scale {self.time_scale:g}); {self.behind_wall_clock} messages "
                         f"published > 1 s after their event time (max {self.max_behind_ms / 1000:.1f} s)")
        if self.errors:
            lines.append(f"  {self.errors} publishes FAILED; first error: {self.first_error}")
        return "\n".join(lines)


def _fmt_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds")


class _Line(NamedTuple):
    ts: int | None  # own ts, or inferred from the file position; None: nothing in the file parses
    rank: int
    index: int  # line number in its file (0-based)
    stream: str
    data: bytes
    own_ts: bool  # ts is the record's own, valid timestamp (payload rewritten on shift)
    event_id: str | None


def _record_ts(obj: Any) -> int | None:
    if not isinstance(obj, dict) or "ts" not in obj:
        return None
    try:
        ts = parse_ts(obj["ts"])
    except (ValueError, TypeError, OverflowError):
        return None
    return ts if DEFAULT_MIN_TS <= ts <= DEFAULT_MAX_TS else None


def _attr_value(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        return None
    s = str(v)
    return s if len(s.encode("utf-8")) <= _MAX_ATTR_BYTES else None


def _read_stream(path: Path, stream: str) -> tuple[list[_Line], int]:
    """Lines of one stream file with their own or inferred timestamps, and the number of blank lines skipped."""
    rank = STREAM_RANK.get(stream, 9)
    raw: list[tuple[int, bytes, int | None, str | None]] = []
    blank = 0
    with open(path, "rb") as f:
        for index, line in enumerate(f):
            data = line.rstrip(b"\r\n")
            if not data.strip():
                blank += 1
                continue
            try:
                obj = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                obj = None
            event_id = _attr_value(obj.get("event_id")) if isinstance(obj, dict) else None
            raw.append((index, data, _record_ts(obj), event_id))
    # Lines without a valid ts take the previous valid one of the file (leading ones: the next one).
    filled: list[int | None] = [ts for _, _, ts, _ in raw]
    prev: int | None = None
    for i, ts in enumerate(filled):
        if ts is None:
            filled[i] = prev
        else:
            prev = ts
    nxt: int | None = None
    for i in range(len(filled) - 1, -1, -1):
        if raw[i][2] is not None:
            nxt = raw[i][2]
        elif filled[i] is None:
            filled[i] = nxt
    lines = [_Line(filled[i], rank, index, stream, data, ts is not None, event_id)
             for i, (index, data, ts, event_id) in enumerate(raw)]
    return lines, blank


def _shift_payload(data: bytes, new_ts: int) -> bytes:
    obj = json.loads(data)
    obj["ts"] = new_ts
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _batch_settings(rate: float | None):
    """Batching and flow control suited to the rate.

    Paced: at most ~10 ms of batching delay (one message per request below 100 msg/s), so the measured
    event -> decision latency is not dominated by the publisher.  Unpaced: bigger batches (500 messages / 50 ms)
    and blocking flow control so memory stays bounded while the server keeps up."""
    from google.cloud.pubsub_v1 import types

    if rate is None:
        batch = types.BatchSettings(max_bytes=1_000_000, max_latency=0.05, max_messages=500)
        flow = types.PublishFlowControl(message_limit=5_000, byte_limit=64 * 1024 * 1024,
                                        limit_exceeded_behavior=types.LimitExceededBehavior.BLOCK)
    else:
        per_batch = max(1, min(500, math.ceil(rate * 0.01)))
        batch = types.BatchSettings(max_bytes=1_000_000, max_latency=0.01, max_messages=per_batch)
        flow = types.PublishFlowControl(message_limit=max(100, int(rate * 2)), byte_limit=64 * 1024 * 1024,
                                        limit_exceeded_behavior=types.LimitExceededBehavior.BLOCK)
    return batch, types.PublisherOptions(flow_control=flow)


def load_dir(input_dir: str | os.PathLike, limit: int | None = None) -> tuple[list[_Line], dict[str, int]]:
    """All lines of ``<input_dir>/<stream>.jsonl`` merged in event-time order (first ``limit`` of them).

    Returns the lines and the blank lines skipped per stream.  Raises if no stream file exists."""
    root = Path(input_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"input directory {root} does not exist")
    lines: list[_Line] = []
    blank: dict[str, int] = {}
    found = False
    for stream in STREAMS:
        path = root / f"{stream}.jsonl"
        if not path.is_file():
            continue
        found = True
        stream_lines, blank[stream] = _read_stream(path, stream)
        lines += stream_lines
    if not found:
        raise FileNotFoundError(f"no <stream>.jsonl in {root} (streams: {', '.join(STREAMS)})")
    known = [ln.ts for ln in lines if ln.ts is not None]
    if known:  # a file where nothing parses goes first (at the earliest known time), in file order
        floor = min(known)
        lines = [ln if ln.ts is not None else ln._replace(ts=floor) for ln in lines]
    # (if nothing parses anywhere, ts stays None and publish_dir uses the wall clock)
    lines.sort(key=lambda ln: (ln.ts or 0, ln.rank, ln.stream, ln.index))
    if limit is not None:
        lines = lines[: max(0, int(limit))]
    return lines, blank


def publish_dir(project: str, input_dir: str | os.PathLike, rate: float | None, prefix: str = "",
                shift_to_now: bool = False, limit: int | None = None, time_scale: float = 1.0,
                progress: bool = False) -> PublishStats:
    """Publish ``<input_dir>/<stream>.jsonl`` for all streams to ``<prefix>in-<stream>`` in event-time order.

    ``rate``: messages/s through a token bucket; ``None`` publishes as fast as flow control allows.
    ``shift_to_now``/``time_scale``: see the module docstring.  ``limit``: publish only the first ``limit``
    messages (event-time order).  Waits until every message is acknowledged by the server before returning.
    """
    from google.cloud.pubsub_v1.publisher.exceptions import MessageTooLargeError

    if rate is not None and not rate > 0:
        raise PubSubToolError(f"rate must be > 0 messages/s (or None for max), got {rate}")
    if not time_scale > 0:
        raise PubSubToolError(f"time_scale must be > 0, got {time_scale}")
    _check_prefix(prefix)
    check_access()
    lines, blank = load_dir(input_dir, limit)
    stats = PublishStats(project=project, prefix=prefix, target_rate=rate, shifted=shift_to_now,
                         time_scale=time_scale)
    for s, n in blank.items():
        stats.counts[s] = 0
        if n:
            stats.skipped[s] = n
    topics = {s: input_topic(project, s, prefix) for s in {ln.stream for ln in lines}}

    batch, options = _batch_settings(rate)
    publisher = _publisher_client(batch_settings=batch, publisher_options=options)
    _ensure_topics(publisher, topics.values())

    first_ts = next((ln.ts for ln in lines if ln.ts is not None), None)
    stats.original_first_ts = first_ts
    bucket = TokenBucket(rate) if rate is not None else None
    latencies = _Reservoir()
    cond = threading.Condition()
    state = {"pending": 0}
    ok: dict[str, int] = dict.fromkeys(topics, 0)

    def done_callback(stream: str, t0: float):
        def cb(future) -> None:
            dt = (time.perf_counter() - t0) * 1000
            exc = future.exception()
            with cond:
                state["pending"] -= 1
                if exc is None:
                    ok[stream] += 1
                else:
                    stats.errors += 1
                    if stats.first_error is None:
                        stats.first_error = f"{type(exc).__name__}: {exc}"
                cond.notify_all()
            if exc is None:
                latencies.add(dt)
        return cb

    start_wall_ms = int(time.time() * 1000)
    started = time.perf_counter()
    next_report = started + 5.0
    try:
        for seq, ln in enumerate(lines):
            if bucket is not None:
                bucket.acquire()
            now_ms = int(time.time() * 1000)
            ts, data = ln.ts, ln.data
            if ts is None:
                ts = now_ms
            elif shift_to_now:
                assert first_ts is not None
                ts = start_wall_ms + round((ts - first_ts) / time_scale)
                if ln.own_ts:
                    data = _shift_payload(data, ts)
                behind = now_ms - ts
                if behind > 1000:
                    stats.behind_wall_clock += 1
                    stats.max_behind_ms = max(stats.max_behind_ms, behind)
            if stats.first_ts is None:
                stats.first_ts = ts
            stats.last_ts = ts
            attrs = {"stream": ln.stream, "ts": str(ts), "published_at_ms": str(now_ms), "seq": str(seq)}
            if not ln.own_ts:
                attrs["ts_inferred"] = "true"
                stats.inferred_ts[ln.stream] = stats.inferred_ts.get(ln.stream, 0) + 1
            if ln.event_id is not None:
                attrs["event_id"] = ln.event_id
            t0 = time.perf_counter()
            with cond:
                state["pending"] += 1
            try:
                future = publisher.publish(topics[ln.stream], data, **attrs)
            except MessageTooLargeError as e:
                with cond:
                    state["pending"] -= 1
                stats.skipped[ln.stream] = stats.skipped.get(ln.stream, 0) + 1
                logger.warning("skipping %s line %d: %s", ln.stream, ln.index + 1, e)
                continue
            future.add_done_callback(done_callback(ln.stream, t0))
            if progress and time.perf_counter() >= next_report:
                next_report += 5.0
                print(f"  ... {seq + 1}/{len(lines)} published "
                      f"({(seq + 1) / (time.perf_counter() - started):.0f} msg/s)", file=sys.stderr)
    finally:
        publisher.stop()  # flushes outstanding batches; the futures still resolve
        with cond:
            deadline = time.monotonic() + 120.0
            while state["pending"] > 0 and time.monotonic() < deadline:
                cond.wait(0.5)
            pending = state["pending"]
        publisher.transport.close()
    stats.elapsed_s = time.perf_counter() - started
    for s, n in ok.items():
        stats.counts[s] = n
    if pending:
        stats.errors += pending
        stats.first_error = stats.first_error or f"{pending} publishes not acknowledged within 120 s"
    stats.latency_ms = latencies.percentiles((50, 90, 99))
    return stats


def _ensure_topics(publisher, topics: Iterable[str]) -> None:
    from google.api_core.exceptions import NotFound

    missing = []
    for t in sorted(topics):
        try:
            publisher.get_topic(request={"topic": t}, timeout=ADMIN_TIMEOUT)
        except NotFound:
            missing.append(t)
    if missing:
        publisher.transport.close()
        raise PubSubToolError(f"topics do not exist: {', '.join(missing)}. Create them first "
                              "(`journeyflow topics create --project ... --prefix ...`).")


# ========================================================================================= consume
_END = object()
#: Heartbeat interval on the stream (an empty request keeps real Pub/Sub from closing an idle stream).
_HEARTBEAT_S = 30.0


class _StreamingPull:
    """One StreamingPull RPC at a time on a background thread, reopened after retryable errors.

    Responses (or a fatal exception, then ``_END``) arrive on :attr:`responses`.  :meth:`close` ends the stream
    with a *half-close* (end of the request stream) and waits for the server to finish it.  This matters on the
    emulator: it ignores client cancellation (``StreamingPullFuture.cancel()`` cancels the call), keeps the dead
    stream in its round robin and hands it a share of every later message, which then only comes back after the
    ack deadline (60 s).  A half-closed stream is removed at once.
    """

    def __init__(self, client: Any, subscription: str, max_outstanding: int):
        from google.api_core import exceptions as gexc

        self._retryable = (gexc.Aborted, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.ResourceExhausted,
                           gexc.ServiceUnavailable, gexc.Unknown)
        self._client = client
        self._subscription = subscription
        self._max_outstanding = max_outstanding
        self._client_id = f"journeyflow-consume-{os.getpid()}-{random.getrandbits(32):08x}"
        self.responses: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._stopping = False
        self._requests: queue.Queue | None = None
        self._thread = threading.Thread(target=self._run, name="journeyflow-streaming-pull", daemon=True)
        self._thread.start()

    def _request_iter(self, requests: queue.Queue):
        from google.pubsub_v1 import types as gtypes

        yield gtypes.StreamingPullRequest(
            subscription=self._subscription, stream_ack_deadline_seconds=ACK_DEADLINE_SECONDS,
            max_outstanding_messages=self._max_outstanding, client_id=self._client_id)
        while True:
            try:
                item = requests.get(timeout=_HEARTBEAT_S)
            except queue.Empty:
                yield gtypes.StreamingPullRequest()
                continue
            if item is None:
                return
            yield item

    def _run(self) -> None:
        backoff = 0.1
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        return
                    requests: queue.Queue = queue.Queue()
                    self._requests = requests
                try:
                    for response in self._client.streaming_pull(requests=self._request_iter(requests), retry=None):
                        backoff = 0.1
                        if response.received_messages:
                            self.responses.put(response)
                except self._retryable as e:
                    if self._stopping:
                        return
                    logger.info("streaming pull on %s interrupted (%s); reopening in %.1f s",
                                self._subscription, type(e).__name__, backoff)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                except Exception as e:  # NotFound, PermissionDenied ... (Cancelled once the channel is closed)
                    if not self._stopping:
                        self.responses.put(e)
                    return
                # A stream the server ended (e.g. after its maximum duration) is simply reopened.
        finally:
            self.responses.put(_END)

    def close(self, grace: float = 5.0) -> bool:
        """Half-close the stream and wait up to ``grace`` s for the server to end it; True if it did."""
        with self._lock:
            self._stopping = True
            if self._requests is not None:
                self._requests.put(None)
        self._thread.join(grace)
        return not self._thread.is_alive()


def consume(project: str, topic: str, prefix: str = "", max_messages: int | None = None,
            timeout: float | None = None, ack: bool = True,
            callback: Callable[[dict[str, Any]], None] | None = None, collect: bool = True,
            stats: dict[str, Any] | None = None) -> list[dict]:
    """An example downstream consumer: streaming pull on ``<prefix><topic>-sub``.

    Every new message becomes a record ``{"decision_id", "data" (decoded JSON, or the text if it is not JSON),
    "attributes", "message_id", "ordering_key", "publish_time_ms", "received_at_ms", "delivery_attempt"}``,
    handed to ``callback`` (if any) and collected (if ``collect``).  Redeliveries and duplicate publishes are
    dropped by ``decision_id`` (attribute, else the payload's field, else the message id).  Messages are handled
    one at a time in delivery order, so with the ordered subscription a customer's decisions arrive in order.

    Stops after ``max_messages`` new messages (extra messages of the last response are nacked for the next
    consumer), or when no new message arrived for ``timeout`` seconds (idle timeout; ``None``: until Ctrl-C).
    ``ack=False`` peeks: nothing is acknowledged, and at the end the messages seen are released (nacked) so the
    next consumer gets them at once.  If ``callback`` raises, the messages handled before it are acknowledged and
    the exception propagates (the failing message is redelivered).  ``stats``, if given, is filled with
    ``consumed``, ``duplicates``, ``released`` (nacked), ``elapsed_s`` and ``interrupted``.

    The stream is driven directly (GAPIC ``streaming_pull``) rather than with ``SubscriberClient.subscribe()``,
    whose shutdown cancels the call: see :class:`_StreamingPull` for the emulator behaviour this avoids.
    """
    from google.api_core.exceptions import NotFound

    if max_messages is not None and max_messages < 1:
        raise PubSubToolError(f"max_messages must be >= 1, got {max_messages}")
    check_access()
    path = output_subscription(project, topic, prefix)
    subscriber = _subscriber_client()
    try:
        subscriber.get_subscription(request={"subscription": path}, timeout=ADMIN_TIMEOUT)
    except NotFound:
        subscriber.close()
        raise PubSubToolError(f"subscription {path} does not exist; create it with `journeyflow topics create`") \
            from None

    seen: set[str] = set()
    out: list[dict] = []
    new = duplicates = 0
    peeked: list[str] = []  # ack ids held unacknowledged (ack=False), released at the end
    released = 0
    started = last = time.monotonic()
    interrupted = finished = False
    pull = _StreamingPull(subscriber, path, max_outstanding=max(1, min(1000, max_messages or 1000)))
    try:
        while not finished:
            try:
                item = pull.responses.get(timeout=0.05)
            except queue.Empty:
                item = None
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise PubSubToolError(f"streaming pull on {path} failed: {type(item).__name__}: {item}") from item
            if item is not None:
                to_ack: list[str] = []
                to_nack: list[str] = []
                try:
                    for rm in item.received_messages:
                        if finished:
                            to_nack.append(rm.ack_id)
                            continue
                        record = _decode(rm.message, rm.delivery_attempt)
                        settle = to_ack if ack else peeked
                        if record["decision_id"] in seen:
                            duplicates += 1
                            settle.append(rm.ack_id)
                            continue
                        if callback is not None:
                            callback(record)
                        seen.add(record["decision_id"])
                        if collect:
                            out.append(record)
                        new += 1
                        last = time.monotonic()
                        settle.append(rm.ack_id)
                        if max_messages is not None and new >= max_messages:
                            finished = True
                finally:
                    if to_ack:
                        subscriber.acknowledge(request={"subscription": path, "ack_ids": to_ack},
                                               timeout=ADMIN_TIMEOUT)
                    if to_nack:
                        _release(subscriber, path, to_nack)
                        released += len(to_nack)
            if timeout is not None and time.monotonic() - last >= timeout:
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if not pull.close():
            logger.warning("streaming pull on %s did not end after half-close; closing the channel", path)
        # Whatever arrived after the last handled response is handed back at once.
        leftover: list[str] = []
        while True:
            try:
                item = pull.responses.get_nowait()
            except queue.Empty:
                break
            if item is not _END and not isinstance(item, BaseException):
                leftover += [rm.ack_id for rm in item.received_messages]
        for ids in (leftover, peeked):
            if ids:
                try:
                    _release(subscriber, path, ids)
                    released += len(ids)
                except Exception as e:  # best effort: they come back after the ack deadline anyway
                    logger.warning("could not release %d messages on %s: %s", len(ids), path, e)
        subscriber.close()
    if stats is not None:
        stats.update(consumed=new, duplicates=duplicates, released=released,
                     elapsed_s=time.monotonic() - started, interrupted=interrupted)
    logger.info("consumed %d messages from %s (%d duplicates dropped, %d released)%s", new, path, duplicates,
                released, " (interrupted)" if interrupted else "")
    return out


def _release(subscriber: Any, path: str, ack_ids: list[str]) -> None:
    """Nack: ack deadline 0, so the messages are redelivered at once (to another consumer)."""
    for i in range(0, len(ack_ids), 1000):
        subscriber.modify_ack_deadline(
            request={"subscription": path, "ack_ids": ack_ids[i:i + 1000], "ack_deadline_seconds": 0},
            timeout=ADMIN_TIMEOUT)


def _decode(message: Any, delivery_attempt: int = 0) -> dict[str, Any]:
    attributes = dict(message.attributes)
    data_bytes = bytes(message.data)
    try:
        data: Any = json.loads(data_bytes)
    except (ValueError, UnicodeDecodeError):
        data = data_bytes.decode("utf-8", errors="replace")
    key = attributes.get("decision_id")
    if not key and isinstance(data, dict) and isinstance(data.get("decision_id"), str):
        key = data["decision_id"]
    publish_time = getattr(message, "publish_time", None)
    return {
        "decision_id": key or f"message:{message.message_id}",
        "data": data,
        "attributes": attributes,
        "message_id": message.message_id,
        "ordering_key": message.ordering_key or None,
        "publish_time_ms": int(publish_time.timestamp() * 1000) if publish_time else None,
        "received_at_ms": int(time.time() * 1000),
        "delivery_attempt": delivery_attempt or None,
    }


# ============================================================================================== CLI
def _default_project() -> str:
    return os.environ.get("PUBSUB_PROJECT_ID") or DEFAULT_PROJECT


def _common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", default=_default_project(),
                   help="GCP project id (default: $PUBSUB_PROJECT_ID or %(default)s)")
    p.add_argument("--prefix", default="", help="prefix of every topic/subscription id, e.g. dev-")


def add_topics_args(parser: argparse.ArgumentParser) -> None:
    _common_args(parser)


def add_publish_args(parser: argparse.ArgumentParser) -> None:
    _common_args(parser)
    parser.add_argument("--input", required=True, help="directory with <stream>.jsonl files")
    parser.add_argument("--rate", type=float, default=None, help="messages per second (default: as fast as possible)")
    parser.add_argument("--shift-to-now", dest="shift_to_now", action="store_true",
                        help="move event times so the first event is now (needed for the local streaming runner, "
                             "whose watermark follows the wall clock)")
    parser.add_argument("--time-scale", dest="time_scale", type=float, default=1.0,
                        help="with --shift-to-now: divide gaps between events by this factor (default 1)")
    parser.add_argument("--limit", type=int, default=None, help="publish only the first N events (event-time order)")


def add_consume_args(parser: argparse.ArgumentParser) -> None:
    _common_args(parser)
    parser.add_argument("--topic", required=True, choices=ALL_TOPICS, help="output topic to read (its -sub)")
    parser.add_argument("--max-messages", dest="max_messages", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop after this many seconds without a new message (default: run until Ctrl-C)")
    parser.add_argument("--no-ack", dest="no_ack", action="store_true",
                        help="peek: acknowledge nothing; the messages seen are released (nacked) at the end")


def cli_topics_create(ns: argparse.Namespace) -> int:
    target = check_access()
    paths = create_topics(ns.project, getattr(ns, "prefix", "") or "")
    topics = [p for p in paths if "/topics/" in p]
    subs = [p for p in paths if "/subscriptions/" in p]
    print(f"{len(topics)} topics and {len(subs)} subscriptions ready in project {ns.project} ({target}):")
    for p in paths:
        print(f"  {p}")
    return 0


def cli_topics_delete(ns: argparse.Namespace) -> int:
    target = check_access()
    deleted = delete_topics(ns.project, getattr(ns, "prefix", "") or "")
    print(f"deleted {len(deleted)} topics/subscriptions in project {ns.project} ({target})")
    for p in deleted:
        print(f"  {p}")
    return 0


def cli_publish(ns: argparse.Namespace) -> int:
    target = check_access()
    print(f"publishing {ns.input} to {target}, project {ns.project} ...", file=sys.stderr)
    stats = publish_dir(ns.project, ns.input, ns.rate, prefix=getattr(ns, "prefix", "") or "",
                        shift_to_now=bool(getattr(ns, "shift_to_now", False)), limit=getattr(ns, "limit", None),
                        time_scale=float(getattr(ns, "time_scale", 1.0) or 1.0), progress=True)
    print(stats.render())
    return 1 if stats.errors else 0


def cli_consume(ns: argparse.Namespace) -> int:
    target = check_access()
    print(f"consuming {output_subscription(ns.project, ns.topic, ns.prefix or '')} ({target}); "
          f"Ctrl-C to stop", file=sys.stderr)

    def show(record: dict[str, Any]) -> None:
        print(json.dumps({"attributes": record["attributes"], "data": record["data"]}, ensure_ascii=False),
              flush=True)

    stats: dict[str, Any] = {}
    consume(ns.project, ns.topic, prefix=ns.prefix or "", max_messages=ns.max_messages, timeout=ns.timeout,
            ack=not ns.no_ack, callback=show, collect=False, stats=stats)
    print(f"consumed {stats.get('consumed', 0)} decisions in {stats.get('elapsed_s', 0.0):.1f} s, "
          f"{stats.get('duplicates', 0)} duplicates dropped"
          + (" (not acknowledged)" if ns.no_ack else ""), file=sys.stderr)
    return 0
