"""The example execution tool of the README: ``google-cloud-pubsub``'s ``SubscriberClient.subscribe()`` with flow
control and an idempotent handler keyed by ``decision_id``.

Pub/Sub delivers at least once, and journeyflow itself re-emits a decision under the same id after a restart
(README "Streaming on Pub/Sub"), so an execution tool must act on each ``decision_id`` once: the handler records
the ids it has acted on and acknowledges a repeat without acting again.  Messages are JSON documented per topic in
``schemas/topics/<topic>.schema.json``; what to act on is in ``address`` (sends) and ``context``.

Run it against the emulator or a project (the subscription is ``<topic>-sub``, created by ``journeyflow topics
create``)::

    python -m journeyflow.tools.consumer_example --project journeyflow-local --subscription decisions-email-sub

A production tool keeps the acted-on ids in its own database (a unique key on ``decision_id``, written in the same
transaction as the action's record) instead of :class:`IdempotentHandler`'s in-memory set.
"""
from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from google.cloud import pubsub_v1

logger = logging.getLogger(__name__)

__all__ = ["IdempotentHandler", "main", "run"]


class IdempotentHandler:
    """The subscriber callback: decode the decision, act on it once per ``decision_id``, then ack.

    ``act(decision)`` does the work (send the email, create the task ...) and raises to have the message
    redelivered (``nack``).  Ids are recorded only after ``act`` returned, under a lock (the client library runs
    callbacks on a thread pool), and a decision being acted on by another thread is not started twice.
    """

    def __init__(self, act: Callable[[dict[str, Any]], None]) -> None:
        self._act = act
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._running: set[str] = set()
        #: how many messages were acted on / acknowledged as repeats / nacked
        self.acted = self.repeats = self.failed = 0

    def __call__(self, message: pubsub_v1.subscriber.message.Message) -> None:
        """Handle one message (``subscribe``'s callback)."""
        decision = json.loads(message.data)
        did = message.attributes.get("decision_id") or decision["decision_id"]
        with self._lock:
            if did in self._done or did in self._running:
                self.repeats += 1
                if did in self._done:
                    message.ack()
                else:
                    message.nack()  # still being acted on elsewhere: let Pub/Sub retry later
                return
            self._running.add(did)
        try:
            self._act(decision)
        except Exception:
            logger.exception("acting on %s failed; nacked for redelivery", did)
            with self._lock:
                self._running.discard(did)
                self.failed += 1
            message.nack()
            return
        with self._lock:
            self._running.discard(did)
            self._done.add(did)
            self.acted += 1
        message.ack()


def run(project: str, subscription: str, act: Callable[[dict[str, Any]], None], timeout: float | None = None,
        max_messages: int = 100) -> IdempotentHandler:
    """Subscribe to ``projects/<project>/subscriptions/<subscription>`` and handle messages until ``timeout``
    seconds have passed (None: forever).  ``max_messages``: flow control, the most messages outstanding (delivered
    but not yet acked) at a time.  Returns the handler (its counters)."""
    handler = IdempotentHandler(act)
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, subscription)
    flow_control = pubsub_v1.types.FlowControl(max_messages=max_messages)
    future = subscriber.subscribe(path, callback=handler, flow_control=flow_control)
    with subscriber:
        try:
            future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()  # stop pulling, then wait for the callbacks in flight
            future.result()
    return handler


def main(argv: list[str] | None = None) -> None:
    """Command line: print each decision's id, action and target once."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", required=True)
    ap.add_argument("--subscription", required=True, help="e.g. decisions-email-sub")
    ap.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--max_messages", type=int, default=100, help="flow control: messages outstanding at most")
    a = ap.parse_args(argv)

    def act(d: dict[str, Any]) -> None:
        """Stand-in for the real work: print the decision."""
        print(d["decision_id"], d["action"], d["channel"], d["content_id"], json.dumps(d.get("context", {})),
              flush=True)

    h = run(a.project, a.subscription, act, a.timeout, a.max_messages)
    print(f"acted on {h.acted}, repeats {h.repeats}, failed {h.failed}")


if __name__ == "__main__":
    main()
