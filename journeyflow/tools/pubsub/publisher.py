"""Publishing a generated directory to the input topics: a token-bucket pace, the merge of the stream files in
event-time order with the ``ts`` attribute (see the package docstring), and publish statistics."""
from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from journeyflow.model.events import SEGMENT_STREAM, STREAM_RANK, STREAMS
from journeyflow.adapters.pubsub_names import (
    PubSubToolError,
    _check_prefix,
    input_topic,
)
from journeyflow.stages.json_text import loads_json
from journeyflow.stages.parse import DEFAULT_MAX_TS, DEFAULT_MIN_TS, parse_ts
from journeyflow.tools.pubsub.topics import ADMIN_TIMEOUT, _publisher_client, check_access

logger = logging.getLogger(__package__)

#: Pub/Sub limit for one attribute value.
_MAX_ATTR_BYTES = 1024

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
        """Take one token, sleeping until one is available."""
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
        """Messages published (acknowledged by the server), all streams."""
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        """Achieved rate in messages/s (published / elapsed)."""
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The statistics as JSON-ready values (times rounded to ms, rates to 0.01/s)."""
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
        """The summary printed by ``journeyflow publish``: totals, per-stream counts, latency, event-time span."""
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


def _record_ts(obj: Any, stream: str = "") -> int | None:
    if stream == SEGMENT_STREAM:  # a Segment message: its event time (stages.segment.times)
        from journeyflow.stages.segment.times import event_time

        if not isinstance(obj, dict):
            return None
        try:  # within the parser's default bounds, as it reads them (a 1970 timestamp beside a good receivedAt:
            ts = event_time(obj, (DEFAULT_MIN_TS, DEFAULT_MAX_TS))[0]  # receivedAt; unbounded, no time at all)
        except ValueError:
            return None
        return ts if DEFAULT_MIN_TS <= ts <= DEFAULT_MAX_TS else None
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
    id_field = "messageId" if stream == SEGMENT_STREAM else "event_id"
    with open(path, "rb") as f:
        for data in _messages(f, stream):
            index = len(raw) + blank
            if not data.strip():
                blank += 1
                continue
            try:  # the pipeline's JSON rule: a too-long integer is out of range, not an unreadable record
                obj = loads_json(data)
            except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested too deeply
                obj = None
            event_id = _attr_value(obj.get(id_field)) if isinstance(obj, dict) else None
            raw.append((index, data, _record_ts(obj, stream), event_id))
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


def _messages(f, stream: str) -> Iterable[bytes]:
    """The lines of a stream file; a Segment batch envelope line gives its messages, one Pub/Sub message each."""
    from journeyflow.stages.json_text import jsonl_lines
    from journeyflow.stages.segment.batch import split_batch

    for _i, data in jsonl_lines(f):  # LF, CRLF or CR-only line ends, as the replay reads them
        batch = split_batch(data) if stream == SEGMENT_STREAM and data.strip() else None
        yield from (data,) if batch is None else batch


def _shift_payload(data: bytes, new_ts: int, stream: str = "") -> bytes:
    """The record ``data`` with its time moved to ``new_ts`` (epoch ms; Segment: every time field by the same
    amount).  Read as the pipeline reads it (:func:`~journeyflow.stages.json_text.loads_json`): an integer of more
    than 4,300 digits is written back as ``Infinity`` (its sign kept), the value the pipeline reads for it anyway."""
    obj = loads_json(data)
    if stream == SEGMENT_STREAM:  # every Segment time field moves by the same amount (stages.segment.times)
        from journeyflow.stages.segment.times import shift_times

        obj = shift_times(obj, new_ts, (DEFAULT_MIN_TS, DEFAULT_MAX_TS))
    else:
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
                    data = _shift_payload(data, ts, ln.stream)
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
                              "(`journeyflow topics create --project ... --topic_prefix ...`).")


