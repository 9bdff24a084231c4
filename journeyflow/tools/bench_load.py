"""The load of ``make bench`` section 3 (:mod:`journeyflow.tools.bench_stream`): the generated population with
latency markers, published at a fixed rate and dated at publish time, and the consumer of the outputs -- both in a
child process (``python -m journeyflow.tools.bench_load --driver ...``) driven over a local connection, so that the
pipeline and the load generator do not share a GIL."""
from __future__ import annotations

import concurrent.futures
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeyflow.model.reasons import DeadLetterReason

log = logging.getLogger(__name__)

MARKER_EVERY = 5  # every 5th message is a latency marker (see bench_lines)


# ------------------------------------------------------------------------------------------------ load
def marker_payload(k: int, ts: int) -> bytes:
    """A ``ticket_escalated`` of a customer seen nowhere else: journey ``service_escalation`` decides a
    ``create_task`` at once, triggered by this event (checked with a bounded replay)."""
    return json.dumps({"event_id": f"bench-marker-{k:06d}", "ts": ts, "crm_id": f"BM{k:06d}", "email": None,
                       "phone": None, "ticket_id": f"BTK-{k:06d}", "type": "ticket_escalated", "severity": "high",
                       "csat": None}, separators=(",", ":")).encode()


def bench_lines(data_dir: str | os.PathLike, marker_every: int | None = None) -> list[Any]:
    """The generated population in event-time order, with a latency marker as every ``marker_every``-th message.

    In the generated population almost every decision comes from a timer (welcome settle, quiet-hours deferrals,
    cart reminders: ~1150 of ~1160 decisions of the first 3500 events in a bounded replay); the waits behind them
    are not compressed by re-dating the events, so they do not fall due during a run.  Markers give event-triggered
    decisions to time; they are part of the load both pipelines get."""
    from journeyflow.tools.pubsub import load_dir

    every = MARKER_EVERY if marker_every is None else marker_every
    lines, _ = load_dir(data_dir)
    if not every:
        return lines
    out: list[Any] = []
    k = 0
    for ln in lines:
        if len(out) % every == every - 1:
            ts = ln.ts or 0
            out.append(ln._replace(stream="support", data=marker_payload(k, ts), own_ts=True,
                                   event_id=f"bench-marker-{k:06d}", index=-1 - k))
            k += 1
        out.append(ln)
    return out


# ------------------------------------------------------------------------------------------------ publishing
@dataclass
class PhaseStats:
    """One publishing phase: rate asked (events/s), messages published and failed, wall-clock start/end
    (``time.time()``), ``published`` (event uid -> (published_at_ms, ts)) and the original event-time span (ms)."""

    rate: float
    n: int = 0
    errors: int = 0
    t_start: float = 0.0  # time.time()
    t_end: float = 0.0
    published: dict[str, tuple[int, int]] = field(default_factory=dict)  # uid -> (published_at_ms, ts)
    original_span_ms: int = 0

    @property
    def achieved_rate(self) -> float:
        """Messages published per second of the phase (NaN for an empty phase)."""
        return self.n / (self.t_end - self.t_start) if self.t_end > self.t_start else math.nan


def publish_lines(project: str, lines: Sequence[Any], rate: float, topic_for: Callable[[Any], str],
                  seq0: int = 0, ack_timeout: float = 60.0) -> PhaseStats:
    """Publish ``pubsub_tools`` lines at ``rate``/s, each dated at its publish time (``ts`` attribute and payload).

    Same attributes as ``publish_dir`` (``stream``, ``ts``, ``published_at_ms``, ``seq``, ``event_id``); returns the
    publish time and event time of every event id."""
    from journeyflow.tools.pubsub.publisher import (
        TokenBucket,
        _batch_settings,
        _publisher_client,
        _shift_payload,
    )

    batch, options = _batch_settings(rate)
    publisher = _publisher_client(batch_settings=batch, publisher_options=options)
    bucket = TokenBucket(rate)
    st = PhaseStats(rate=rate)
    known = [ln.ts for ln in lines if ln.ts is not None]
    st.original_span_ms = (max(known) - min(known)) if known else 0
    futures = []
    prev_ts = 0
    st.t_start = time.time()
    try:
        for i, ln in enumerate(lines):
            bucket.acquire()
            now_ms = int(time.time() * 1000)
            ts = max(now_ms, prev_ts + 1)  # strictly increasing: keeps the files' event-time order
            prev_ts = ts
            data = _shift_payload(ln.data, ts) if ln.own_ts else ln.data
            attrs = {"stream": ln.stream, "ts": str(ts), "published_at_ms": str(now_ms), "seq": str(seq0 + i)}
            if not ln.own_ts:
                attrs["ts_inferred"] = "true"
            if ln.event_id is not None:
                attrs["event_id"] = ln.event_id
                st.published.setdefault(f"{ln.stream}/{ln.event_id}", (now_ms, ts))
            futures.append(publisher.publish(topic_for(ln), data, **attrs))
    finally:
        st.t_end = time.time()
        publisher.stop()
        done, not_done = concurrent.futures.wait(futures, timeout=ack_timeout)
        st.errors = len(not_done) + sum(1 for f in done if f.exception() is not None)
        st.n = len(futures) - st.errors
        publisher.transport.close()
    return st


def publish_one(topic: str, data: bytes, **attrs: str) -> None:
    """Publish one message with ``attrs`` and wait up to 30 s for the server's ack."""
    from journeyflow.tools.pubsub.topics import _publisher_client

    publisher = _publisher_client()
    try:
        publisher.publish(topic, data, **attrs).result(timeout=30)
    finally:
        publisher.stop()
        publisher.transport.close()


# ------------------------------------------------------------------------------------------------ consuming
class _Stop(Exception):
    pass


class Collector:
    """Streams ``<prefix><topic>-sub`` on a thread (``pubsub_tools.consume``: half-closes, safe on the emulator),
    recording ``(received_at_ms, data, attributes)``.  :meth:`stop` publishes a sentinel that ends the stream."""

    def __init__(self, project: str, topic: str, prefix: str):
        from journeyflow.adapters import pubsub_names as names

        self.project, self.topic, self.prefix = project, topic, prefix
        self.records: list[tuple[int, Any, dict[str, str]]] = []
        self.error: BaseException | None = None
        self._token = f"bench-stop-{uuid.uuid4().hex[:12]}"
        self._path = names.output_topic(project, topic, prefix)
        self._thread = threading.Thread(target=self._run, name=f"bench-consume-{prefix}{topic}", daemon=True)
        self._thread.start()

    def _callback(self, rec: dict[str, Any]) -> None:
        if rec["attributes"].get("bench_stop") == self._token:
            raise _Stop()
        self.records.append((rec["received_at_ms"], rec["data"], rec["attributes"]))

    def _run(self) -> None:
        from journeyflow.tools import pubsub as pt

        try:
            pt.consume(self.project, self.topic, prefix=self.prefix, timeout=600.0, callback=self._callback,
                       collect=False)
        except _Stop:
            pass
        except BaseException as e:  # reported by the caller
            self.error = e

    def stop(self, timeout: float = 15.0) -> bool:
        """End the stream with a sentinel message and wait up to ``timeout`` s; True when the thread ended."""
        if self._thread.is_alive():
            try:
                publish_one(self._path, b"{}", bench_stop=self._token, decision_id=self._token)
            except Exception as e:
                log.warning("could not publish the stop sentinel on %s: %s", self._path, e)
        self._thread.join(timeout)
        return not self._thread.is_alive()


# ------------------------------------------------------------------------------------------------ load driver
def _topic_for(kind: str, project: str, prefix: str) -> Callable[[Any], str]:
    from journeyflow.adapters import pubsub_names as names

    if kind == "journeyflow":
        return lambda ln: names.input_topic(project, ln.stream, prefix)
    web = names.input_topic(project, "web", prefix)  # the trivial pipeline reads one subscription
    return lambda ln: web


def _driver_main(conn: Any, kind: str, project: str, prefix: str, data_dir: str) -> None:
    """Child process: the consumer of ``decisions-audit`` and the publisher, driven over ``conn``.

    Requests: ``("publish", start, end, rate)`` → ``("published", PhaseStats fields)``; ``("count",)`` →
    ``("count", outputs received so far)``; ``("stop",)`` →
    ``("records", [(received_ms, trigger_event_id, decided_at, decision_id, published_at_ms)], stopped, error,
    {"reasons": {dead-letter reason: count}, "late_sources": [event uid]})`` (journeyflow: its ``dead-letter`` topic is consumed too, for late events)."""
    collector = dead = None
    try:
        lines = bench_lines(data_dir)
        topic_for = _topic_for(kind, project, prefix)
        collector = Collector(project, "decisions-audit", prefix)
        if kind == "journeyflow":
            dead = Collector(project, "dead-letter", prefix)
        conn.send(("ready",))
        while conn.poll(900):
            req = conn.recv()
            if req[0] == "publish":
                _, a, b, rate = req
                st = publish_lines(project, lines[a:b], rate, topic_for, seq0=a)
                conn.send(("published", dict(st.__dict__)))
            elif req[0] == "count":
                conn.send(("count", len(collector.records)))
            elif req[0] == "stop":
                stopped = collector.stop()
                reasons: dict[str, int] = {}
                late: list[str] = []  # sources (event uids) of late_event dead letters
                if dead is not None:
                    stopped = dead.stop() and stopped
                    for _r, data, attrs in dead.records:
                        reason = attrs.get("reason", "?")
                        reasons[reason] = reasons.get(reason, 0) + 1
                        if reason == DeadLetterReason.LATE_EVENT and isinstance(data, dict):
                            late.append(str(data.get("source")))
                recs = []
                for received, data, attrs in collector.records:
                    d = data if isinstance(data, dict) else {}
                    recs.append((received, d.get("trigger_event_id"), d.get("decided_at"),
                                 attrs.get("decision_id", ""), attrs.get("published_at_ms", "")))
                err = None if collector.error is None else f"{type(collector.error).__name__}: {collector.error}"
                conn.send(("records", recs, stopped, err, {"reasons": reasons, "late_sources": late}))
                return
    except BaseException as e:
        try:
            conn.send(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
        except Exception as send_error:
            log.warning("load driver could not report %r: %s", e, send_error)
        for c in (collector, dead):
            if c is not None:
                c.stop(timeout=5)


class Driver:
    """Parent side of :func:`_driver_main`: a ``python -m journeyflow.tools.bench_load --driver`` child process (not
    ``multiprocessing``: its ``spawn`` re-imports the caller's ``__main__``), connected over a local authenticated
    ``multiprocessing.connection``.  Every wait is bounded."""

    def __init__(self, kind: str, project: str, prefix: str, data_dir: Path, start_timeout: float = 60.0):
        from multiprocessing.connection import Listener

        key = os.urandom(16)
        self.listener = Listener(("127.0.0.1", 0), authkey=key)
        host, port = self.listener.address
        env = dict(os.environ, JOURNEYFLOW_BENCH_DRIVER_KEY=key.hex())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "journeyflow.tools.bench_load", "--driver", host, str(port), kind, project, prefix,
             str(data_dir)], env=env, stdin=subprocess.DEVNULL)
        box: dict[str, Any] = {}

        def accept() -> None:
            try:
                box["conn"] = self.listener.accept()
            except Exception as e:
                box["error"] = e

        t = threading.Thread(target=accept, name="bench-driver-accept", daemon=True)
        t.start()
        t.join(start_timeout)
        if "conn" not in box:
            self._kill()
            self.listener.close()
            raise RuntimeError(f"load driver did not connect within {start_timeout:.0f} s ({box.get('error')})")
        self.conn = box["conn"]
        self._expect("ready", start_timeout)

    def _expect(self, what: str, timeout: float) -> tuple:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"load driver: no {what!r} within {timeout:.0f} s")
        msg = self.conn.recv()
        if msg[0] == "error":
            raise RuntimeError(f"load driver failed: {msg[1]}\n{msg[2]}")
        if msg[0] != what:
            raise RuntimeError(f"load driver: expected {what!r}, got {msg[0]!r}")
        return msg

    def publish(self, a: int, b: int, rate: float) -> PhaseStats:
        """Publish lines ``[a, b)`` at ``rate`` events/s in the child; its :class:`PhaseStats`."""
        self.conn.send(("publish", a, b, rate))
        fields = self._expect("published", (b - a) / rate * 2 + 90)[1]
        st = PhaseStats(rate=rate)
        st.__dict__.update(fields)
        return st

    def outputs(self) -> int:
        """Outputs received so far."""
        self.conn.send(("count",))
        return self._expect("count", 30.0)[1]

    def wait_quiet(self, quiet_s: float, timeout: float) -> bool:
        """Wait until no output arrived for ``quiet_s`` s (at most ``timeout`` s); True if it got quiet."""
        deadline = time.monotonic() + timeout
        last, since = self.outputs(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            n = self.outputs()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
        return False

    def stop(self, timeout: float = 30.0) -> tuple[list[tuple], bool, str | None, dict[str, Any]]:
        """Stop the child's consumers and end it: (records, stopped cleanly, consumer error, dead-letter summary);
        see :func:`_driver_main` for the shapes."""
        try:
            self.conn.send(("stop",))
            _, recs, stopped, err, dead = self._expect("records", timeout)
            return recs, stopped, err, dead
        finally:
            self._kill(grace=10.0)
            self.conn.close()
            self.listener.close()

    def _kill(self, grace: float = 0.0) -> None:
        """Wait up to ``grace`` s for the child to exit, then terminate / kill it (our own child, by handle)."""
        try:
            self.proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _driver_cli(argv: list[str]) -> int:
    from multiprocessing.connection import Client

    host, port, kind, project, prefix, data_dir = argv
    conn = Client((host, int(port)), authkey=bytes.fromhex(os.environ["JOURNEYFLOW_BENCH_DRIVER_KEY"]))
    try:
        _driver_main(conn, kind, project, prefix, data_dir)
    finally:
        conn.close()
    return 0




if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "--driver":
        sys.exit(_driver_cli(sys.argv[2:]))
    sys.exit("usage: python -m journeyflow.tools.bench_load --driver HOST PORT KIND PROJECT PREFIX DATA_DIR "
             "(internal: the load driver of `make bench`)")
