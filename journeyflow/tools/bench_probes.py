"""What ``make bench`` section 3 measures on the pipeline side -- records read from the input subscriptions
(counted where the local runner pulls them), sampled over time -- and the trivial streaming pipeline journeyflow is
compared with."""
from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any


log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------ read counting
class ReadCounter:
    """Counts messages the DirectRunner's Pub/Sub source pulls, per subscription (see the module docstring)."""

    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        self._evaluator: Any = None
        self._original: Any = None

    def install(self) -> bool:
        """Wrap the DirectRunner's Pub/Sub read; False (with a warning) when Beam's internals changed."""
        try:
            from apache_beam.runners.direct import transform_evaluator as te
            evaluator = te._PubSubReadEvaluator
            original = evaluator._read_from_pubsub
        except (ImportError, AttributeError):
            log.warning("cannot count Pub/Sub reads (Beam internals changed)")
            return False
        counter = self

        def _read_from_pubsub(self, timestamp_attribute):
            out = original(self, timestamp_attribute)
            with counter._lock:
                counter.counts[self._sub_name.rsplit("/", 1)[-1]] += len(out)
            return out

        evaluator._read_from_pubsub = _read_from_pubsub
        self._evaluator, self._original = evaluator, original
        return True

    def uninstall(self) -> None:
        """Restore the DirectRunner's own Pub/Sub read."""
        if self._evaluator is not None:
            self._evaluator._read_from_pubsub = self._original
            self._evaluator = None

    def inputs(self, prefix: str) -> int:
        """Messages read from the ``<prefix>in-*`` subscriptions."""
        with self._lock:
            return sum(n for sub, n in self.counts.items() if sub.startswith(f"{prefix}in-"))


class Sampler:
    """Samples ``probe()`` every ``period`` s on a thread into ``samples`` (``(time.time(), value)``)."""

    def __init__(self, probe: Callable[[], float], period: float = 0.25):
        self.probe, self.period = probe, period
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def sample(self) -> float:
        """Take one sample now and return its value."""
        v = self.probe()
        self.samples.append((time.time(), v))
        return v

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def stop(self) -> None:
        """Stop sampling (waits up to 5 s for the thread)."""
        self._stop.set()
        self._thread.join(5)


def wait_until(cond: Callable[[], bool], timeout: float, period: float = 0.2) -> bool:
    """Poll ``cond`` every ``period`` s for up to ``timeout`` s; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(period)
    return cond()


def cancel(result: Any, timeout: float = 30.0) -> bool:
    """``result.cancel()`` on a thread, bounded (the DirectRunner joins its worker, which polls every 5 s)."""
    if result is None:
        return True
    t = threading.Thread(target=result.cancel, name="bench-cancel", daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive()


# ------------------------------------------------------------------------------------------------ trivial pipeline
def _customer_key(data: bytes) -> str:
    try:
        d = json.loads(data)
        k = d.get("crm_id") or d.get("user_id") or d.get("email") or d.get("phone") or d.get("anonymous_id")
        return str(k)
    except (ValueError, AttributeError, UnicodeDecodeError):
        return "bad"


def run_trivial(project: str, prefix: str):
    """ReadFromPubSub (one subscription) → key by customer field → ReadModifyWrite counter → WriteToPubSub."""
    import apache_beam as beam
    from apache_beam.coders import VarIntCoder
    from apache_beam.io.gcp.pubsub import PubsubMessage, ReadFromPubSub, WriteToPubSub
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

    from journeyflow.adapters import pubsub_names as names
    from journeyflow.tools.direct_runner import tune_direct_runner

    class CountFn(beam.DoFn):
        COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())

        def process(self, kv, count=beam.DoFn.StateParam(COUNT)):
            key, (seq, published_at) = kv
            n = (count.read() or 0) + 1
            count.write(n)
            yield PubsubMessage(str(n).encode(), {"decision_id": f"t{seq}", "published_at_ms": published_at,
                                                  "customer_id": key})

    tune_direct_runner()
    opts = PipelineOptions(["--runner=BundleBasedDirectRunner"], streaming=True, save_main_session=False)
    p = beam.Pipeline(options=opts)
    (p
     | "Read" >> ReadFromPubSub(subscription=names.input_subscription(project, "web", prefix), with_attributes=True,
                                timestamp_attribute="ts")
     | "Key" >> beam.Map(lambda m: (_customer_key(m.data), (m.attributes.get("seq", ""),
                                                             m.attributes.get("published_at_ms", ""))))
     | "Count" >> beam.ParDo(CountFn()).with_output_types(PubsubMessage)
     | "Write" >> WriteToPubSub(names.output_topic(project, "decisions-audit", prefix), with_attributes=True))
    return p.run()


