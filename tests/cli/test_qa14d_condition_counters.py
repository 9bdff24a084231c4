"""qa14d: which journey conditions failed at run time is a Beam counter, so a job on Dataflow names them.

Before: the per-customer stage gave Beam only the totals ``condition_errors`` / ``condition_non_bool``; the names
of the failed conditions were tallied in a process-wide Counter (``stages.conditions.FAILED``) that only
``journeyflow replay`` read, in its own process: on Dataflow or a multi-process runner an operator saw "3,000
condition errors" and no way to tell which condition of which journey.  Now each failed condition has its own
counter, ``condition_errors: <name>`` / ``condition_non_bool: <name>`` (``transforms.outputs.condition_counter_name``),
from the per-thread tally the totals come from, in both the per-flush and the per-bundle (streaming) mode."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter

from journeyflow.stages.conditions import compile_condition
from journeyflow.stages.processor import Outputs
from journeyflow.transforms.outputs import NAMESPACE, DecideCounters

ERRS = "journey 'qa14d', step 'check': if (qa14d.yaml:7)"
NON_BOOL = "journey 'qa14d', step 'pick': if (qa14d.yaml:9)"


class EvaluateFn(beam.DoFn):
    """Evaluates two conditions per element (one fails with a CEL error, one gives a string) and counts."""

    def __init__(self, per_bundle: bool):
        self.per_bundle = per_bundle
        self.counters = DecideCounters(per_bundle=per_bundle)

    def setup(self):
        self.missing = compile_condition("event.nope > 1", "check", name=ERRS)
        self.text = compile_condition("event.kind", "pick", name=NON_BOOL)

    def start_bundle(self):
        self.counters.start_bundle()

    def process(self, n):
        for _ in range(n):
            assert not self.missing.evaluate({"event": {}, "customer": {}})
            assert not self.text.evaluate({"event": {"kind": "a"}, "customer": {}})
        yield from self.counters.emit(Outputs())

    def finish_bundle(self):
        self.counters.finish_bundle()


def _counters(per_bundle: bool) -> dict[str, int]:
    p = beam.Pipeline()
    _ = p | beam.Create([2, 3]) | beam.ParDo(EvaluateFn(per_bundle))
    result = p.run()
    result.wait_until_finish()
    got = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    out: dict[str, int] = {}
    for c in got:
        out[c.key.metric.name] = out.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
    return out


@pytest.mark.parametrize("per_bundle", [False, True])
def test_each_failed_condition_has_its_own_counter(per_bundle):
    got = _counters(per_bundle)
    assert got["condition_errors"] == 5 and got["condition_non_bool"] == 5
    assert got.get(f"condition_errors: {ERRS}") == 5
    assert got.get(f"condition_non_bool: {NON_BOOL}") == 5
    assert f"condition_non_bool: {ERRS}" not in got and f"condition_errors: {NON_BOOL}" not in got
