"""An example downstream consumer of a decision topic: StreamingPull with a half-close (the emulator quirk in the
package docstring), redeliveries dropped by ``decision_id``."""
from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from typing import Any, Callable

from journeyflow.adapters.pubsub_names import (
    PubSubToolError,
    output_subscription,
)
from journeyflow.stages.json_text import loads_json
from journeyflow.tools.pubsub.topics import ACK_DEADLINE_SECONDS, ADMIN_TIMEOUT, _subscriber_client, check_access

logger = logging.getLogger(__package__)

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
        data: Any = loads_json(data_bytes)  # the project's JSON rule (stages.json_text)
    except (ValueError, UnicodeDecodeError, RecursionError):
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


