"""Fix 14 of the local streaming runner (``journeyflow.tools.direct_runner_metrics``): a user counter of a streaming
run on the BundleBasedDirectRunner counts every bundle, not only each step's first bundle per worker thread."""
import apache_beam as beam
import pytest
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream as Stream

from journeyflow.tools.direct_runner_metrics import count_metrics_per_bundle


class _Count(beam.DoFn):
    def __init__(self):
        self.seen = Metrics.counter("fix14", "seen")
        self.sizes = Metrics.distribution("fix14", "sizes")

    def process(self, x):
        self.seen.inc()
        self.sizes.update(x)
        yield x


class _KeyedCount(beam.DoFn):
    """A stateful step (journeyflow's per-customer stage is one)."""
    SEEN = beam.transforms.userstate.ReadModifyWriteStateSpec("n", beam.coders.VarIntCoder())

    def __init__(self):
        self.seen = Metrics.counter("fix14", "keyed")

    def process(self, kv, n=beam.DoFn.StateParam(SEEN)):
        n.write((n.read() or 0) + 1)
        self.seen.inc()
        yield kv


def _run(streaming: bool, values: list[int]):
    opts = PipelineOptions(["--runner", "BundleBasedDirectRunner"])
    opts.view_as(StandardOptions).streaming = streaming
    p = beam.Pipeline(options=opts)
    if streaming:
        src = Stream()
        for v in values:  # one bundle per element on this runner
            src = src.add_elements([v])
        src = p | "Source" >> src.advance_watermark_to_infinity()
    else:
        src = p | "Source" >> beam.Create(values)
    counted = src | "Count" >> beam.ParDo(_Count())
    _ = (counted | "Key" >> beam.Map(lambda v: (v % 3, v)) | "KeyedCount" >> beam.ParDo(_KeyedCount()))
    result = p.run()
    result.wait_until_finish()
    return result.metrics().query(MetricsFilter().with_namespace("fix14"))


@pytest.mark.parametrize("streaming", [True, False])
def test_every_bundle_counts(streaming):
    assert count_metrics_per_bundle()
    values = list(range(1, 41))
    q = _run(streaming, values)
    counters = {r.key.metric.name: (r.committed, r.attempted) for r in q["counters"]}
    assert counters["seen"] == (40, 40)
    assert counters["keyed"] == (40, 40)
    (dist,) = q["distributions"]
    assert (dist.committed.count, dist.committed.sum, dist.committed.min, dist.committed.max) == (40, 820, 1, 40)


def test_idempotent():
    assert count_metrics_per_bundle() and count_metrics_per_bundle()
